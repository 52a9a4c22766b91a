#include "pgoutput/decoder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgoutput/captured_messages.h"

namespace pgoutbox {
// Readable gtest failure output; static so each test file may have its own.
[[maybe_unused]] static void PrintTo(const Lsn& lsn, std::ostream* os) { *os << lsn.ToString(); }
}  // namespace pgoutbox

namespace pgoutbox::pgoutput {
namespace {

using Kind = ColumnValue::Kind;

template <size_t N>
std::span<const uint8_t> Bytes(const uint8_t (&array)[N]) {
  return std::span<const uint8_t>(array, N);
}

// Decodes `bytes`, expecting success and a message of type T.
template <typename T>
T DecodeAs(std::span<const uint8_t> bytes) {
  Message m;
  Status s = Decode(bytes, &m);
  EXPECT_TRUE(s.ok()) << s.ToString();
  const T* t = std::get_if<T>(&m);
  EXPECT_NE(t, nullptr) << "decoded to variant index " << m.index();
  return t != nullptr ? *t : T{};
}

std::string Hex(std::string_view data) {
  std::string out;
  char buf[4];
  for (unsigned char c : data) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

// One string per column: "NULL", "TOAST", the text, or "b:<hex>".
std::vector<std::string> Render(const TupleData& tuple) {
  std::vector<std::string> out;
  for (const ColumnValue& c : tuple.columns) {
    switch (c.kind) {
      case Kind::kNull:
        out.push_back("NULL");
        break;
      case Kind::kUnchangedToast:
        out.push_back("TOAST");
        break;
      case Kind::kText:
        out.push_back(std::string(c.data));
        break;
      case Kind::kBinary:
        out.push_back("b:" + Hex(c.data));
        break;
    }
  }
  return out;
}

bool PointsInto(std::string_view view, std::span<const uint8_t> bytes) {
  auto* begin = reinterpret_cast<const char*>(bytes.data());
  return view.data() >= begin && view.data() + view.size() <= begin + bytes.size();
}

// Builds messages by hand, big-endian like the server.
class Builder {
 public:
  Builder& U8(uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  Builder& U16(uint16_t v) { return BigEndian(v, 2); }
  Builder& U32(uint32_t v) { return BigEndian(v, 4); }
  Builder& U64(uint64_t v) { return BigEndian(v, 8); }
  Builder& Raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  Builder& Str(std::string_view s) { return Raw(s).U8(0); }
  Builder& Text(std::string_view s) { return U8('t').U32(static_cast<uint32_t>(s.size())).Raw(s); }
  Builder& Binary(std::string_view s) {
    return U8('b').U32(static_cast<uint32_t>(s.size())).Raw(s);
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  Builder& BigEndian(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Status DecodeStatus(std::span<const uint8_t> bytes) {
  Message m;
  return Decode(bytes, &m);
}

void ExpectCorruption(std::span<const uint8_t> bytes, const std::string& expected_message) {
  Status s = DecodeStatus(bytes);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_EQ(s.message(), expected_message);
}

struct Captured {
  const char* name;
  std::span<const uint8_t> bytes;
  const char* type_name;
};

const std::vector<Captured>& AllCaptured() {
  using namespace captured;  // NOLINT(build/namespaces): test data only
  static const std::vector<Captured> all = {
      {"kBeginTxn1", Bytes(kBeginTxn1), "Begin"},
      {"kRelationOutbox", Bytes(kRelationOutbox), "Relation"},
      {"kInsertOutboxRow1", Bytes(kInsertOutboxRow1), "Insert"},
      {"kInsertOutboxRow2", Bytes(kInsertOutboxRow2), "Insert"},
      {"kMessageTransactional", Bytes(kMessageTransactional), "LogicalMessage"},
      {"kCommitTxn1", Bytes(kCommitTxn1), "Commit"},
      {"kMessageNonTransactional", Bytes(kMessageNonTransactional), "LogicalMessage"},
      {"kTypeItemState", Bytes(kTypeItemState), "Type"},
      {"kRelationItems", Bytes(kRelationItems), "Relation"},
      {"kInsertItems", Bytes(kInsertItems), "Insert"},
      {"kUpdateNoOldTuple", Bytes(kUpdateNoOldTuple), "Update"},
      {"kUpdateKeyOldTuple", Bytes(kUpdateKeyOldTuple), "Update"},
      {"kRelationItemsFull", Bytes(kRelationItemsFull), "Relation"},
      {"kUpdateFullOldTuple", Bytes(kUpdateFullOldTuple), "Update"},
      {"kDeleteFullOldTuple", Bytes(kDeleteFullOldTuple), "Delete"},
      {"kDeleteKeyOldTuple", Bytes(kDeleteKeyOldTuple), "Delete"},
      {"kUpdateUnchangedToast", Bytes(kUpdateUnchangedToast), "Update"},
      {"kTruncate", Bytes(kTruncate), "Truncate"},
      {"kBeginTxnWithOrigin", Bytes(kBeginTxnWithOrigin), "Begin"},
      {"kOrigin", Bytes(kOrigin), "Origin"},
      {"kInsertOutboxWithOrigin", Bytes(kInsertOutboxWithOrigin), "Insert"},
      {"kCommitTxnWithOrigin", Bytes(kCommitTxnWithOrigin), "Commit"},
      {"kInsertOutboxRow1Binary", Bytes(kInsertOutboxRow1Binary), "Insert"},
      {"kUpdateUnchangedToastBinary", Bytes(kUpdateUnchangedToastBinary), "Update"},
  };
  return all;
}

constexpr uint32_t kOutboxOid = 16389;
constexpr uint32_t kItemsOid = 16397;
constexpr uint32_t kItemsFullOid = 16404;
constexpr uint32_t kItemStateOid = 16385;
constexpr uint32_t kTextOid = 25;
constexpr uint32_t kInt4Oid = 23;
constexpr uint32_t kUuidOid = 2950;
constexpr uint32_t kJsonbOid = 3802;
constexpr uint32_t kTimestamptzOid = 1184;

// 2020-01-01 00:00:00 UTC: any capture is later than this.
constexpr PgTimestamp kYear2020 = PgTimestamp::FromUnixMicros(1577836800LL * 1000000);

// ---------------------------------------------------------------------------
// Captured messages decode to the values that were written.

TEST(DecoderCapturedTest, BeginAndCommit) {
  Begin begin = DecodeAs<Begin>(Bytes(captured::kBeginTxn1));
  Commit commit = DecodeAs<Commit>(Bytes(captured::kCommitTxn1));
  EXPECT_EQ(begin.final_lsn.ToString(), "0/153AC48");
  EXPECT_EQ(begin.xid, TransactionId(731));
  EXPECT_GT(begin.commit_time, kYear2020);

  EXPECT_EQ(commit.flags, 0);
  EXPECT_EQ(commit.commit_lsn.ToString(), "0/153AC48");
  EXPECT_EQ(commit.end_lsn.ToString(), "0/153AC78");
  // The Begin announces the commit record; the position to confirm lies after it.
  EXPECT_EQ(begin.final_lsn, commit.commit_lsn);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_EQ(begin.commit_time, commit.commit_time);
}

TEST(DecoderCapturedTest, RelationOfOutbox) {
  Relation rel = DecodeAs<Relation>(Bytes(captured::kRelationOutbox));
  EXPECT_EQ(rel.id, RelationId(kOutboxOid));
  EXPECT_EQ(rel.namespace_name, "public");
  EXPECT_EQ(rel.relation_name, "outbox");
  EXPECT_EQ(rel.replica_identity, 'd');
  struct Expected {
    const char* name;
    uint8_t flags;
    uint32_t type_oid;
  };
  const Expected expected[] = {
      {"id", 1, kUuidOid},           {"aggregate_type", 0, kTextOid},
      {"aggregate_id", 0, kTextOid}, {"event_type", 0, kTextOid},
      {"topic", 0, kTextOid},        {"payload", 0, kJsonbOid},
      {"headers", 0, kJsonbOid},     {"created_at", 0, kTimestamptzOid},
  };
  ASSERT_EQ(rel.columns.size(), std::size(expected));
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rel.columns[i].name, expected[i].name);
    EXPECT_EQ(rel.columns[i].flags, expected[i].flags);
    EXPECT_EQ(rel.columns[i].type_oid, expected[i].type_oid);
    EXPECT_EQ(rel.columns[i].type_modifier, -1);
  }
}

TEST(DecoderCapturedTest, InsertsIntoOutbox) {
  Insert row1 = DecodeAs<Insert>(Bytes(captured::kInsertOutboxRow1));
  EXPECT_EQ(row1.relation, RelationId(kOutboxOid));
  EXPECT_EQ(
      Render(row1.new_tuple),
      (std::vector<std::string>{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "order", "42",
                                "OrderCreated", "orders", R"({"total": 9.5, "currency": "EUR"})",
                                R"({"trace": "t-1"})", "2024-05-06 07:08:09.123456+00"}));
  for (const ColumnValue& c : row1.new_tuple.columns) {
    EXPECT_TRUE(PointsInto(c.data, Bytes(captured::kInsertOutboxRow1)));
  }

  Insert row2 = DecodeAs<Insert>(Bytes(captured::kInsertOutboxRow2));
  EXPECT_EQ(row2.relation, RelationId(kOutboxOid));
  EXPECT_EQ(
      Render(row2.new_tuple),
      (std::vector<std::string>{"b1ffcd00-ad1c-4ff9-8c7e-7cca0e491b22", "order", "43", "OrderPaid",
                                "NULL", R"({"paid": true})", "NULL", "2024-05-06 07:08:10+00"}));
  EXPECT_TRUE(row2.new_tuple.columns[4].data.empty());
}

TEST(DecoderCapturedTest, IsInsertTellsInsertsByTheirTag) {
  for (const Captured& c : AllCaptured()) {
    EXPECT_EQ(IsInsert(c.bytes), std::string_view(c.type_name) == "Insert") << c.name;
  }
  EXPECT_FALSE(IsInsert({}));
}

TEST(DecoderCapturedTest, LogicalMessages) {
  LogicalMessage tx = DecodeAs<LogicalMessage>(Bytes(captured::kMessageTransactional));
  EXPECT_TRUE(tx.transactional());
  EXPECT_EQ(tx.flags, 1);
  // The LSN pg_logical_emit_message returned.
  EXPECT_EQ(tx.lsn.ToString(), "0/153AC48");
  EXPECT_EQ(tx.prefix, "prefix");
  EXPECT_EQ(tx.content, "content");

  LogicalMessage non_tx = DecodeAs<LogicalMessage>(Bytes(captured::kMessageNonTransactional));
  EXPECT_FALSE(non_tx.transactional());
  EXPECT_EQ(non_tx.lsn.ToString(), "0/153ACC8");
  EXPECT_EQ(non_tx.prefix, "prefix");
  EXPECT_EQ(non_tx.content, "non-transactional");
  EXPECT_GT(non_tx.lsn, tx.lsn);
}

TEST(DecoderCapturedTest, TypeRelationAndInsertOfItems) {
  Type type = DecodeAs<Type>(Bytes(captured::kTypeItemState));
  EXPECT_EQ(type.type_oid, kItemStateOid);
  EXPECT_EQ(type.namespace_name, "public");
  EXPECT_EQ(type.type_name, "item_state");

  Relation rel = DecodeAs<Relation>(Bytes(captured::kRelationItems));
  EXPECT_EQ(rel.id, RelationId(kItemsOid));
  EXPECT_EQ(rel.relation_name, "items");
  EXPECT_EQ(rel.replica_identity, 'd');
  ASSERT_EQ(rel.columns.size(), 3u);
  EXPECT_EQ(rel.columns[0].name, "id");
  EXPECT_EQ(rel.columns[0].flags, 1);
  EXPECT_EQ(rel.columns[0].type_oid, kInt4Oid);
  EXPECT_EQ(rel.columns[1].name, "name");
  EXPECT_EQ(rel.columns[1].flags, 0);
  EXPECT_EQ(rel.columns[2].name, "state");
  EXPECT_EQ(rel.columns[2].type_oid, type.type_oid);

  Insert ins = DecodeAs<Insert>(Bytes(captured::kInsertItems));
  EXPECT_EQ(ins.relation, rel.id);
  EXPECT_EQ(Render(ins.new_tuple), (std::vector<std::string>{"1", "a", "new"}));
}

TEST(DecoderCapturedTest, UpdateWithoutOldTuple) {
  Update u = DecodeAs<Update>(Bytes(captured::kUpdateNoOldTuple));
  EXPECT_EQ(u.relation, RelationId(kItemsOid));
  EXPECT_EQ(u.old_kind, 0);
  EXPECT_TRUE(u.old_tuple.columns.empty());
  EXPECT_EQ(Render(u.new_tuple), (std::vector<std::string>{"1", "b", "new"}));
}

TEST(DecoderCapturedTest, UpdateWithOldKey) {
  Update u = DecodeAs<Update>(Bytes(captured::kUpdateKeyOldTuple));
  EXPECT_EQ(u.relation, RelationId(kItemsOid));
  EXPECT_EQ(u.old_kind, 'K');
  EXPECT_EQ(Render(u.old_tuple), (std::vector<std::string>{"1", "NULL", "NULL"}));
  EXPECT_EQ(Render(u.new_tuple), (std::vector<std::string>{"2", "b", "new"}));
}

TEST(DecoderCapturedTest, ReplicaIdentityFullRelationUpdateAndDelete) {
  Relation rel = DecodeAs<Relation>(Bytes(captured::kRelationItemsFull));
  EXPECT_EQ(rel.id, RelationId(kItemsFullOid));
  EXPECT_EQ(rel.relation_name, "items_full");
  EXPECT_EQ(rel.replica_identity, 'f');
  ASSERT_EQ(rel.columns.size(), 2u);
  EXPECT_EQ(rel.columns[0].flags, 1);
  EXPECT_EQ(rel.columns[1].flags, 1);  // with FULL every column is part of the identity

  Update u = DecodeAs<Update>(Bytes(captured::kUpdateFullOldTuple));
  EXPECT_EQ(u.relation, rel.id);
  EXPECT_EQ(u.old_kind, 'O');
  EXPECT_EQ(Render(u.old_tuple), (std::vector<std::string>{"10", "x"}));
  EXPECT_EQ(Render(u.new_tuple), (std::vector<std::string>{"10", "y"}));

  Delete d = DecodeAs<Delete>(Bytes(captured::kDeleteFullOldTuple));
  EXPECT_EQ(d.relation, rel.id);
  EXPECT_EQ(d.old_kind, 'O');
  EXPECT_EQ(Render(d.old_tuple), (std::vector<std::string>{"10", "y"}));
}

TEST(DecoderCapturedTest, DeleteWithOldKey) {
  Delete d = DecodeAs<Delete>(Bytes(captured::kDeleteKeyOldTuple));
  EXPECT_EQ(d.relation, RelationId(kItemsOid));
  EXPECT_EQ(d.old_kind, 'K');
  EXPECT_EQ(Render(d.old_tuple), (std::vector<std::string>{"2", "NULL", "NULL"}));
}

TEST(DecoderCapturedTest, UpdateWithUnchangedToast) {
  Update u = DecodeAs<Update>(Bytes(captured::kUpdateUnchangedToast));
  EXPECT_EQ(u.old_kind, 0);
  EXPECT_EQ(Render(u.new_tuple), (std::vector<std::string>{"3", "TOAST", "sent"}));
  EXPECT_TRUE(u.new_tuple.columns[1].data.empty());

  Update b = DecodeAs<Update>(Bytes(captured::kUpdateUnchangedToastBinary));
  EXPECT_EQ(Render(b.new_tuple), (std::vector<std::string>{"b:00000003", "TOAST", "b:73656e74"}));
}

TEST(DecoderCapturedTest, Truncate) {
  Truncate t = DecodeAs<Truncate>(Bytes(captured::kTruncate));
  EXPECT_EQ(t.options, 3);  // CASCADE | RESTART IDENTITY
  EXPECT_EQ(t.relations,
            (std::vector<RelationId>{RelationId(kItemsOid), RelationId(kItemsFullOid)}));
}

TEST(DecoderCapturedTest, TransactionWithOrigin) {
  Begin begin = DecodeAs<Begin>(Bytes(captured::kBeginTxnWithOrigin));
  Origin origin = DecodeAs<Origin>(Bytes(captured::kOrigin));
  Insert ins = DecodeAs<Insert>(Bytes(captured::kInsertOutboxWithOrigin));
  Commit commit = DecodeAs<Commit>(Bytes(captured::kCommitTxnWithOrigin));

  EXPECT_EQ(origin.name, "o1");
  EXPECT_EQ(origin.commit_lsn.ToString(), "0/12345678");
  // pg_replication_origin_xact_setup also set the commit time.
  EXPECT_EQ(begin.commit_time.UnixMicros(), 1704164645LL * 1000000);  // 2024-01-02 03:04:05Z
  EXPECT_EQ(commit.commit_time, begin.commit_time);
  EXPECT_EQ(begin.final_lsn, commit.commit_lsn);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_EQ(begin.xid, TransactionId(743));

  EXPECT_EQ(ins.relation, RelationId(kOutboxOid));
  EXPECT_EQ(
      Render(ins.new_tuple),
      (std::vector<std::string>{"c2000000-0000-4000-8000-000000000003", "user", "u7", "UserRenamed",
                                "NULL", R"({"name": "Ann"})", "NULL", "2024-01-02 03:04:05+00"}));

  // Transactions arrive in commit order.
  Commit first = DecodeAs<Commit>(Bytes(captured::kCommitTxn1));
  EXPECT_GT(commit.commit_lsn, first.end_lsn);
}

TEST(DecoderCapturedTest, BinaryInsert) {
  Insert ins = DecodeAs<Insert>(Bytes(captured::kInsertOutboxRow1Binary));
  EXPECT_EQ(ins.relation, RelationId(kOutboxOid));
  ASSERT_EQ(ins.new_tuple.columns.size(), 8u);
  for (const ColumnValue& c : ins.new_tuple.columns) EXPECT_EQ(c.kind, Kind::kBinary);
  const auto& cols = ins.new_tuple.columns;
  EXPECT_EQ(Hex(cols[0].data), "a0eebc999c0b4ef8bb6d6bb9bd380a11");  // uuid: 16 raw bytes
  EXPECT_EQ(cols[1].data, "order");                                  // text: as is
  // jsonb: a version byte (1), then the text.
  EXPECT_EQ(cols[5].data, std::string("\x01") + R"({"total": 9.5, "currency": "EUR"})");
  // timestamptz: Int64 microseconds since 2000-01-01.
  ASSERT_EQ(cols[7].data.size(), 8u);
  int64_t micros = 0;
  for (unsigned char c : cols[7].data) micros = (micros << 8) | c;
  EXPECT_EQ(PgTimestamp(micros).UnixMicros(), 1714979289123456LL);  // 2024-05-06 07:08:09.123456Z
}

TEST(DecoderCapturedTest, DecodingIntoAReusedMessage) {
  Message m;
  ASSERT_TRUE(Decode(Bytes(captured::kUpdateKeyOldTuple), &m).ok());
  ASSERT_TRUE(Decode(Bytes(captured::kUpdateNoOldTuple), &m).ok());
  const Update& u = std::get<Update>(m);
  EXPECT_EQ(u.old_kind, 0);
  EXPECT_TRUE(u.old_tuple.columns.empty());
  EXPECT_EQ(Render(u.new_tuple), (std::vector<std::string>{"1", "b", "new"}));

  ASSERT_TRUE(Decode(Bytes(captured::kInsertOutboxRow1), &m).ok());
  ASSERT_TRUE(Decode(Bytes(captured::kInsertItems), &m).ok());
  EXPECT_EQ(Render(std::get<Insert>(m).new_tuple), (std::vector<std::string>{"1", "a", "new"}));

  ASSERT_TRUE(Decode(Bytes(captured::kRelationOutbox), &m).ok());
  ASSERT_TRUE(Decode(Bytes(captured::kRelationItemsFull), &m).ok());
  EXPECT_EQ(std::get<Relation>(m).columns.size(), 2u);

  ASSERT_TRUE(Decode(Bytes(captured::kBeginTxn1), &m).ok());
  EXPECT_TRUE(std::holds_alternative<Begin>(m));
}

// ---------------------------------------------------------------------------
// Damaged captured messages.

TEST(DecoderCorruptionTest, EveryTruncationPointOfEveryCapturedMessage) {
  for (const Captured& c : AllCaptured()) {
    SCOPED_TRACE(c.name);
    for (size_t len = 0; len < c.bytes.size(); ++len) {
      // A heap copy of exactly `len` bytes, so an overread is a real one.
      std::vector<uint8_t> prefix(c.bytes.begin(), c.bytes.begin() + len);
      Status s = DecodeStatus(prefix);
      ASSERT_EQ(s.code(), Status::Code::kCorruption) << "prefix of " << len << " bytes";
      if (len == 0) {
        EXPECT_EQ(s.message(), "pgoutput: empty message at offset 0");
      } else {
        EXPECT_EQ(s.message().rfind(
                      std::string("pgoutput: truncated ") + c.type_name + " message at offset ", 0),
                  0u)
            << "prefix of " << len << " bytes: " << s.message();
      }
    }
  }
}

TEST(DecoderCorruptionTest, TrailingBytesAfterEveryCapturedMessage) {
  for (const Captured& c : AllCaptured()) {
    SCOPED_TRACE(c.name);
    std::vector<uint8_t> bytes = Copy(c.bytes);
    bytes.push_back(0);
    ExpectCorruption(bytes, std::string("pgoutput: malformed ") + c.type_name +
                                " message at offset " + std::to_string(c.bytes.size()) +
                                ": 1 byte left over after a complete message");
    bytes.push_back('x');
    bytes.push_back('y');
    ExpectCorruption(bytes, std::string("pgoutput: malformed ") + c.type_name +
                                " message at offset " + std::to_string(c.bytes.size()) +
                                ": 3 bytes left over after a complete message");
  }
}

TEST(DecoderCorruptionTest, EveryByteOfEveryCapturedMessageFlipped) {
  // Any value at any position either decodes or is Corruption; nothing else.
  for (const Captured& c : AllCaptured()) {
    SCOPED_TRACE(c.name);
    std::vector<uint8_t> bytes = Copy(c.bytes);
    Message m;
    for (size_t i = 0; i < bytes.size(); ++i) {
      const uint8_t original = bytes[i];
      for (int v = 0; v < 256; ++v) {
        bytes[i] = static_cast<uint8_t>(v);
        Status s = Decode(bytes, &m);
        if (!s.ok()) {
          ASSERT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
          ASSERT_EQ(s.message().rfind("pgoutput: ", 0), 0u) << s.message();
        }
      }
      bytes[i] = original;
    }
  }
}

TEST(DecoderCorruptionTest, EmptyInput) {
  Message m;
  Status s = Decode(std::span<const uint8_t>(), &m);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message(), "pgoutput: empty message at offset 0");
}

TEST(DecoderCorruptionTest, UnknownTag) {
  std::vector<uint8_t> bytes = Copy(Bytes(captured::kInsertItems));
  bytes[0] = 'X';
  ExpectCorruption(bytes, "pgoutput: unknown message type 'X' (0x58) at offset 0");
  bytes[0] = 0x01;
  ExpectCorruption(bytes, "pgoutput: unknown message type 0x01 at offset 0");
  // Protocol version 2 messages (here Stream Start) are not accepted either.
  bytes[0] = 'S';
  ExpectCorruption(bytes, "pgoutput: unknown message type 'S' (0x53) at offset 0");
  // Every tag byte but the ten of version 1.
  const std::string_view known = "BCORYIUDTM";
  for (int tag = 0; tag < 256; ++tag) {
    if (known.find(static_cast<char>(tag)) != std::string_view::npos) continue;
    std::vector<uint8_t> one = {static_cast<uint8_t>(tag)};
    Status s = DecodeStatus(one);
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
    EXPECT_EQ(s.message().rfind("pgoutput: unknown message type ", 0), 0u) << s.message();
  }
}

TEST(DecoderCorruptionTest, BadTupleKindByte) {
  // kInsertItems: 'I', oid (1..4), 'N' (5), ncols (6..7), first column kind (8).
  std::vector<uint8_t> bytes = Copy(Bytes(captured::kInsertItems));
  ASSERT_EQ(bytes[8], 't');
  bytes[8] = 'x';
  ExpectCorruption(bytes,
                   "pgoutput: malformed Insert message at offset 8: unknown kind 'x' (0x78) of "
                   "tuple column 0");
  // The third column's kind, in the new tuple of an update with an old key.
  // kUpdateKeyOldTuple: 'U', oid, 'K' (5), ncols, 't' (8), len (9..12), '1' (13),
  // 'n' (14), 'n' (15), 'N' (16), ...
  bytes = Copy(Bytes(captured::kUpdateKeyOldTuple));
  ASSERT_EQ(bytes[15], 'n');
  bytes[15] = 0;
  ExpectCorruption(bytes,
                   "pgoutput: malformed Update message at offset 15: unknown kind 0x00 of "
                   "tuple column 2");
}

TEST(DecoderCorruptionTest, BadTupleMarkers) {
  std::vector<uint8_t> bytes = Copy(Bytes(captured::kInsertItems));
  bytes[5] = 'K';
  ExpectCorruption(bytes,
                   "pgoutput: malformed Insert message at offset 5: expected 'N' (new tuple), "
                   "got 'K' (0x4B)");

  bytes = Copy(Bytes(captured::kUpdateNoOldTuple));
  bytes[5] = 'X';
  ExpectCorruption(bytes,
                   "pgoutput: malformed Update message at offset 5: expected 'K', 'O' or 'N', "
                   "got 'X' (0x58)");

  bytes = Copy(Bytes(captured::kUpdateKeyOldTuple));
  ASSERT_EQ(bytes[16], 'N');
  bytes[16] = 'O';
  ExpectCorruption(bytes,
                   "pgoutput: malformed Update message at offset 16: expected 'N' (new tuple), "
                   "got 'O' (0x4F)");

  bytes = Copy(Bytes(captured::kDeleteKeyOldTuple));
  bytes[5] = 'N';
  ExpectCorruption(bytes,
                   "pgoutput: malformed Delete message at offset 5: expected 'K' or 'O' (old "
                   "tuple), got 'N' (0x4E)");
}

TEST(DecoderCorruptionTest, TruncationMessagesNameOffsetAndSizes) {
  // kInsertItems cut inside the first column's length (offsets 9..12).
  std::vector<uint8_t> bytes(captured::kInsertItems, captured::kInsertItems + 11);
  ExpectCorruption(bytes, "pgoutput: truncated Insert message at offset 9: need 4 bytes, have 2");
  // Cut inside the value "1" (offset 13, length 1).
  bytes.assign(captured::kInsertItems, captured::kInsertItems + 13);
  ExpectCorruption(bytes, "pgoutput: truncated Insert message at offset 13: need 1 byte, have 0");
  // kRelationItems cut inside the namespace string "public" (offset 5).
  bytes.assign(captured::kRelationItems, captured::kRelationItems + 8);
  ExpectCorruption(bytes,
                   "pgoutput: truncated Relation message at offset 5: string not NUL-terminated "
                   "within the remaining 3 bytes");
}

// ---------------------------------------------------------------------------
// Hand-built messages: what a server can send but the capture does not show,
// and what it should never send.

TEST(DecoderHandBuiltTest, BinaryColumnsKeepEveryByte) {
  Builder b;
  b.U8('I').U32(7).U8('N').U16(4);
  b.Binary(std::string_view("\0\x01\xff\0", 4)).Binary("").Text("").U8('n');
  Insert ins = DecodeAs<Insert>(b.bytes());
  EXPECT_EQ(ins.relation, RelationId(7));
  EXPECT_EQ(Render(ins.new_tuple), (std::vector<std::string>{"b:0001ff00", "b:", "", "NULL"}));
  EXPECT_EQ(ins.new_tuple.columns[1].kind, Kind::kBinary);
  EXPECT_EQ(ins.new_tuple.columns[2].kind, Kind::kText);
  for (const ColumnValue& c : ins.new_tuple.columns) {
    if (!c.data.empty()) {
      EXPECT_TRUE(PointsInto(c.data, b.bytes()));
    }
  }
}

TEST(DecoderHandBuiltTest, UpdateWithOldKeyAndUnchangedToast) {
  Builder b;
  b.U8('U').U32(0xfffffffe).U8('K').U16(2).Text("k").U8('n');
  b.U8('N').U16(3).Text("k").U8('u').Binary("\x02");
  Update u = DecodeAs<Update>(b.bytes());
  EXPECT_EQ(u.relation, RelationId(0xfffffffe));  // OIDs are unsigned
  EXPECT_EQ(u.old_kind, 'K');
  EXPECT_EQ(Render(u.old_tuple), (std::vector<std::string>{"k", "NULL"}));
  EXPECT_EQ(Render(u.new_tuple), (std::vector<std::string>{"k", "TOAST", "b:02"}));
}

TEST(DecoderHandBuiltTest, EmptyTuplesAndEmptyStrings) {
  Builder ins;
  ins.U8('I').U32(1).U8('N').U16(0);
  EXPECT_TRUE(DecodeAs<Insert>(ins.bytes()).new_tuple.columns.empty());

  // A relation in pg_catalog has an empty namespace; zero columns is legal.
  Builder rel;
  rel.U8('R').U32(1259).Str("").Str("pg_class").U8('n').U16(0);
  Relation r = DecodeAs<Relation>(rel.bytes());
  EXPECT_EQ(r.namespace_name, "");
  EXPECT_EQ(r.relation_name, "pg_class");
  EXPECT_EQ(r.replica_identity, 'n');
  EXPECT_TRUE(r.columns.empty());

  Builder msg;
  msg.U8('M').U8(0).U64(0x100000000ull).Str("").U32(0);
  LogicalMessage m = DecodeAs<LogicalMessage>(msg.bytes());
  EXPECT_EQ(m.lsn.ToString(), "1/0");
  EXPECT_EQ(m.prefix, "");
  EXPECT_EQ(m.content, "");

  Builder trunc;
  trunc.U8('T').U32(0).U8(0);
  EXPECT_TRUE(DecodeAs<Truncate>(trunc.bytes()).relations.empty());
}

TEST(DecoderHandBuiltTest, LogicalMessageContentMayHoldAnyByte) {
  Builder b;
  b.U8('M').U8(1).U64(42).Str("outbox").U32(5).Raw(std::string_view("a\0b\xff\n", 5));
  LogicalMessage m = DecodeAs<LogicalMessage>(b.bytes());
  EXPECT_EQ(m.content, std::string_view("a\0b\xff\n", 5));
  EXPECT_EQ(m.lsn, Lsn(42));
}

TEST(DecoderHandBuiltTest, HighBitsOfIntegers) {
  Builder b;
  b.U8('B').U64(0xfedcba9876543210ull).U64(0xffffffffffffffffull).U32(0xffffffffu);
  Begin begin = DecodeAs<Begin>(b.bytes());
  EXPECT_EQ(begin.final_lsn.ToString(), "FEDCBA98/76543210");
  EXPECT_EQ(begin.commit_time.micros(), -1);  // timestamps are signed
  EXPECT_EQ(begin.xid, TransactionId(0xffffffffu));

  Builder rel;
  rel.U8('R').U32(1).Str("s").Str("t").U8('d').U16(1).U8(0).Str("c").U32(1043).U32(0xffffffffu - 3);
  EXPECT_EQ(DecodeAs<Relation>(rel.bytes()).columns.at(0).type_modifier, -4);
}

TEST(DecoderHandBuiltTest, NegativeLengths) {
  Builder col;
  col.U8('I').U32(1).U8('N').U16(1).U8('t').U32(0xffffffffu).Raw("abc");
  ExpectCorruption(col.bytes(),
                   "pgoutput: malformed Insert message at offset 9: negative column value length "
                   "-1");
  Builder bin;
  bin.U8('I').U32(1).U8('N').U16(1).U8('b').U32(0x80000000u);
  ExpectCorruption(bin.bytes(),
                   "pgoutput: malformed Insert message at offset 9: negative column value length "
                   "-2147483648");
  Builder msg;
  msg.U8('M').U8(1).U64(1).Str("p").U32(0xfffffff0u).Raw("x");
  ExpectCorruption(
      msg.bytes(),
      "pgoutput: malformed LogicalMessage message at offset 12: negative content length "
      "-16");
}

TEST(DecoderHandBuiltTest, LengthsLongerThanTheMessage) {
  Builder col;
  col.U8('I').U32(1).U8('N').U16(1).U8('t').U32(0x7fffffff).Raw("abc");
  ExpectCorruption(col.bytes(),
                   "pgoutput: truncated Insert message at offset 13: need 2147483647 bytes, have "
                   "3");
}

TEST(DecoderHandBuiltTest, HugeCountsFailWithoutHugeAllocations) {
  Message m;
  Builder ins;
  ins.U8('I').U32(1).U8('N').U16(65535).U8('n').U8('n');
  Status s = Decode(ins.bytes(), &m);
  EXPECT_EQ(s.message(), "pgoutput: truncated Insert message at offset 10: need 1 byte, have 0");
  if (const Insert* i = std::get_if<Insert>(&m)) {
    EXPECT_LE(i->new_tuple.columns.capacity(), 16u);
  }

  Builder rel;
  rel.U8('R').U32(1).Str("s").Str("t").U8('d').U16(65535).U8(0);
  s = Decode(rel.bytes(), &m);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("truncated Relation message"), std::string::npos) << s.message();
  if (const Relation* r = std::get_if<Relation>(&m)) {
    EXPECT_LE(r->columns.capacity(), 16u);
  }

  Builder trunc;
  trunc.U8('T').U32(0xffffffffu).U8(0).U32(1).U32(2);
  s = Decode(trunc.bytes(), &m);
  EXPECT_EQ(s.message(),
            "pgoutput: truncated Truncate message at offset 6: need 17179869180 bytes, have 8");
  if (const Truncate* t = std::get_if<Truncate>(&m)) {
    EXPECT_LE(t->relations.capacity(), 16u);
  }
}

TEST(DecoderHandBuiltTest, StringWithoutTerminator) {
  Builder origin;
  origin.U8('O').U64(1).Raw("o1");
  ExpectCorruption(origin.bytes(),
                   "pgoutput: truncated Origin message at offset 9: string not NUL-terminated "
                   "within the remaining 2 bytes");
}

TEST(DecoderTest, MessageTypeNames) {
  EXPECT_STREQ(MessageTypeName('B'), "Begin");
  EXPECT_STREQ(MessageTypeName('C'), "Commit");
  EXPECT_STREQ(MessageTypeName('O'), "Origin");
  EXPECT_STREQ(MessageTypeName('R'), "Relation");
  EXPECT_STREQ(MessageTypeName('Y'), "Type");
  EXPECT_STREQ(MessageTypeName('I'), "Insert");
  EXPECT_STREQ(MessageTypeName('U'), "Update");
  EXPECT_STREQ(MessageTypeName('D'), "Delete");
  EXPECT_STREQ(MessageTypeName('T'), "Truncate");
  EXPECT_STREQ(MessageTypeName('M'), "LogicalMessage");
  EXPECT_STREQ(MessageTypeName('X'), "unknown");
  EXPECT_STREQ(MessageTypeName(0), "unknown");
}

}  // namespace
}  // namespace pgoutbox::pgoutput
