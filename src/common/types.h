// Strong types for the numbers of the replication protocol: WAL positions
// (Lsn), relation OIDs and transaction ids, so they cannot be mixed with each
// other or with counts.
//
// Thread safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pgoutbox {

// A position in PostgreSQL's write-ahead log, printed as "16/B374D848".
class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Parses "X/Y" (hexadecimal halves, as PostgreSQL prints pg_lsn).
  // Returns nullopt for anything else.
  static std::optional<Lsn> Parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;

  friend constexpr auto operator<=>(Lsn, Lsn) = default;

 private:
  uint64_t value_ = 0;
};

// A relation's OID, as carried by pgoutput Relation/Insert/... messages.
class RelationId {
 public:
  constexpr RelationId() = default;
  constexpr explicit RelationId(uint32_t value) : value_(value) {}
  constexpr uint32_t value() const { return value_; }
  friend constexpr auto operator<=>(RelationId, RelationId) = default;

 private:
  uint32_t value_ = 0;
};

// A top-level transaction id.
class TransactionId {
 public:
  constexpr TransactionId() = default;
  constexpr explicit TransactionId(uint32_t value) : value_(value) {}
  constexpr uint32_t value() const { return value_; }
  friend constexpr auto operator<=>(TransactionId, TransactionId) = default;

 private:
  uint32_t value_ = 0;
};

// Microseconds since 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch.
class PgTimestamp {
 public:
  static constexpr int64_t kUnixEpochOffsetMicros = 946684800LL * 1000000LL;
  constexpr PgTimestamp() = default;
  constexpr explicit PgTimestamp(int64_t micros) : micros_(micros) {}
  static constexpr PgTimestamp FromUnixMicros(int64_t unix_micros) {
    return PgTimestamp(unix_micros - kUnixEpochOffsetMicros);
  }
  constexpr int64_t micros() const { return micros_; }
  constexpr int64_t UnixMicros() const { return micros_ + kUnixEpochOffsetMicros; }
  constexpr int64_t UnixMillis() const { return UnixMicros() / 1000; }
  friend constexpr auto operator<=>(PgTimestamp, PgTimestamp) = default;

 private:
  int64_t micros_ = 0;
};

}  // namespace pgoutbox

template <>
struct std::hash<pgoutbox::RelationId> {
  size_t operator()(pgoutbox::RelationId id) const noexcept { return id.value(); }
};
