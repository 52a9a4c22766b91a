// DeliveryState: what pgoutbox remembers about one deployment (a database
// and a slot) outside that database, in its state topic
// (kafka/state_topic.h): which server it streamed from, how far the slot was
// confirmed, and a delivered mark that tells which outbox rows may not have
// been delivered yet. It is what lets pgoutbox notice that the slot it
// streamed from is gone, or that the server under its conninfo is another
// one, and recover from the retained rows instead of skipping them.
//
// Why in Kafka and not in a table: the record is written only after the
// events it vouches for are acknowledged, to the cluster that holds them; it
// survives the loss of the database's slot (a failover to a standby on
// PostgreSQL 14-16, a slot dropped by hand) and even of the whole server,
// needs no write privilege on the database, and a server that is not the
// one pgoutbox streamed from cannot hold it.
//
// The delivered mark (pg/delivered_mark.h): when it is taken (on the primary, as one statement),
// `insert_lsn` is the WAL insert position, `xmin` the oldest transaction
// still running (pg_snapshot_xmin of the current snapshot) and `taken_at`
// the server's clock. Every transaction that finished before then committed
// below insert_lsn; every other one, running then or started later, has a
// transaction id of at least xmin. So once the slot is confirmed up to
// insert_lsn, every row whose inserting transaction id is below xmin was
// delivered, and recovery publishes the retained rows from xmin on (and
// those created since taken_at: after a promotion, the new primary gives out
// again the ids the old one gave out past the standby's last replayed one).
//
// Values only; thread safety: none needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/types.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::core {

enum class DeliveryPhase {
  kStreaming,   // streaming from the slot
  kRecovering,  // publishing retained rows into a slot created again
};
const char* DeliveryPhaseName(DeliveryPhase phase);  // "streaming", "recovering"

struct DeliveryState {
  // The cluster and timeline streamed from (IDENTIFY_SYSTEM).
  std::string system_identifier;
  uint32_t timeline = 0;
  std::string database;
  std::string slot;
  Lsn confirmed;  // the slot's confirmed position when written
  // Absent until the first mark is known delivered: then every retained row
  // may be undelivered.
  std::optional<pg::DeliveredMark> mark;
  DeliveryPhase phase = DeliveryPhase::kStreaming;

  // One JSON object, the state topic's record value.
  std::string ToJson() const;
  // Corruption naming what is missing or malformed.
  static Result<DeliveryState> Parse(std::string_view json);

  friend bool operator==(const DeliveryState&, const DeliveryState&) = default;
};

// The state topic's key of a deployment: "<database>/<slot>".
std::string DeliveryStateKey(std::string_view database, std::string_view slot);

}  // namespace pgoutbox::core
