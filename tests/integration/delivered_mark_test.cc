// pg/delivered_mark against a real server: the identity IDENTIFY_SYSTEM
// reports, and the delivered mark's promise that every transaction still
// running when it was taken, or started later, has an id at or above its
// xmin, while one that finished before committed below its insert position.
#include "pg/delivered_mark.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "pg/connection.h"
#include "replication/stream.h"
#include "support/pg_server.h"

namespace pgoutbox::pg {
namespace {

using testing::PgServer;
using testing::StopMode;

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

std::unique_ptr<PgConnection> Connect(const PgServer& server, PgConnection::Kind kind) {
  auto conn = PgConnection::Connect(server.ConnInfo(), kind, "delivered mark test");
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(*conn) : nullptr;
}

TEST(DeliveredMarkTest, IdentifySystemNamesTheClusterAndItsTimeline) {
  auto server = PgServer::Start();
  ASSERT_NE(server, nullptr);
  auto conn = Connect(*server, PgConnection::Kind::kReplication);
  ASSERT_NE(conn, nullptr);
  auto identity = IdentifySystem(*conn);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->system_identifier, server->SystemIdentifier());
  EXPECT_EQ(identity->timeline, 1u);
  EXPECT_TRUE(identity->wal_end.valid());
}

TEST(DeliveredMarkTest, AReplicationStreamKnowsItsServerAndAPromotionShows) {
  auto primary = PgServer::Start();
  ASSERT_NE(primary, nullptr);
  ASSERT_TRUE(
      primary->Exec("postgres", "CREATE TABLE t (id int); CREATE PUBLICATION pub FOR TABLE t"));
  ASSERT_TRUE(
      primary->Exec("postgres", "SELECT pg_create_logical_replication_slot('s', 'pgoutput')"));
  auto stream = replication::ReplicationStream::Start(primary->ConnInfo(), {"s", "pub", Lsn()});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->identity().system_identifier, primary->SystemIdentifier());
  EXPECT_EQ((*stream)->identity().timeline, 1u);
  stream->reset();

  // A promoted standby is the same cluster on the next timeline.
  auto standby = primary->StartStandby();
  ASSERT_NE(standby, nullptr);
  ASSERT_TRUE(standby->Promote());
  auto conn = Connect(*standby, PgConnection::Kind::kReplication);
  ASSERT_NE(conn, nullptr);
  auto identity = IdentifySystem(*conn);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->system_identifier, primary->SystemIdentifier());
  EXPECT_EQ(identity->timeline, 2u);
}

TEST(DeliveredMarkTest, RunningTransactionsAreAtOrAboveTheMarkFinishedOnesBelowIt) {
  auto server = PgServer::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->Exec("postgres", "CREATE TABLE t (note text)"));
  // A transaction that finished before the mark, one still running when it
  // is taken (it has written, so it has an id), one started after it.
  ASSERT_TRUE(server->Exec("postgres", "INSERT INTO t VALUES ('before')"));
  std::unique_ptr<PGconn, PgConnDeleter> running(PQconnectdb(server->ConnInfo().c_str()));
  ASSERT_EQ(PQstatus(running.get()), CONNECTION_OK);
  PQclear(PQexec(running.get(), "BEGIN"));
  PQclear(PQexec(running.get(), "INSERT INTO t VALUES ('running')"));

  auto conn = Connect(*server, PgConnection::Kind::kOrdinary);
  ASSERT_NE(conn, nullptr);
  auto mark = TakeDeliveredMark(*conn);
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_FALSE(mark->taken_at.empty());

  PQclear(PQexec(running.get(), "COMMIT"));
  ASSERT_TRUE(server->Exec("postgres", "INSERT INTO t VALUES ('after')"));
  auto rows = server->Query("postgres", "SELECT note, (xmin::text::bigint >= " +
                                            std::to_string(mark->xmin % (1ull << 32)) +
                                            ")::text FROM t ORDER BY note");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"after", "true"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"before", "false"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"running", "true"}));
  // The finished transaction's commit is below the insert position; the
  // mark's position is not past the server's.
  const std::string current = server->QueryValue("postgres", "SELECT pg_current_wal_insert_lsn()");
  EXPECT_LE(mark->insert_lsn, *Lsn::Parse(current));
}

// The mark says which cluster and timeline it was taken on, as
// IDENTIFY_SYSTEM names the server the stream comes from; after a promotion,
// the new timeline.
TEST(DeliveredMarkTest, SaysWhichServerAndTimelineItWasTakenOn) {
  auto primary = PgServer::Start();
  ASSERT_NE(primary, nullptr);
  auto standby = primary->StartStandby();
  ASSERT_NE(standby, nullptr);
  auto replication = Connect(*primary, PgConnection::Kind::kReplication);
  ASSERT_NE(replication, nullptr);
  auto identity = IdentifySystem(*replication);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  auto conn = Connect(*primary, PgConnection::Kind::kOrdinary);
  ASSERT_NE(conn, nullptr);
  ServerIdentity taken_on;
  auto mark = TakeDeliveredMark(*conn, &taken_on);
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_EQ(taken_on.system_identifier, identity->system_identifier);
  EXPECT_EQ(taken_on.timeline, identity->timeline);
  EXPECT_EQ(taken_on.timeline, 1u);
  EXPECT_EQ(taken_on.wal_end, mark->insert_lsn);

  ASSERT_TRUE(primary->Stop(StopMode::kImmediate));
  ASSERT_TRUE(standby->Promote());
  auto promoted = Connect(*standby, PgConnection::Kind::kOrdinary);
  ASSERT_NE(promoted, nullptr);
  ServerIdentity after;
  ASSERT_TRUE(TakeDeliveredMark(*promoted, &after).ok());
  EXPECT_EQ(after.system_identifier, identity->system_identifier);
  EXPECT_EQ(after.timeline, 2u);
}

TEST(DeliveredMarkTest, AStandbyCannotTakeAMark) {
  auto primary = PgServer::Start();
  ASSERT_NE(primary, nullptr);
  auto standby = primary->StartStandby();
  ASSERT_NE(standby, nullptr);
  auto conn = Connect(*standby, PgConnection::Kind::kOrdinary);
  ASSERT_NE(conn, nullptr);
  auto mark = TakeDeliveredMark(*conn);
  ASSERT_FALSE(mark.ok());
  EXPECT_EQ(mark.status().code(), Status::Code::kFailedPrecondition) << mark.status().ToString();
  EXPECT_NE(mark.status().message().find("standby"), std::string::npos);
}

TEST(DeliveredMarkTest, RowsCoverAMarkYoungerThanTheRetention) {
  auto server = PgServer::Start();
  ASSERT_NE(server, nullptr);
  auto conn = Connect(*server, PgConnection::Kind::kOrdinary);
  ASSERT_NE(conn, nullptr);
  const std::string an_hour_ago =
      server->QueryValue("postgres", "SELECT (now() - interval '1 hour')::text");
  EXPECT_TRUE(*RowsCoverMark(*conn, an_hour_ago, std::chrono::hours(2)));
  EXPECT_FALSE(*RowsCoverMark(*conn, an_hour_ago, std::chrono::minutes(30)));
  EXPECT_TRUE(*RowsCoverMark(*conn, an_hour_ago, std::chrono::milliseconds(0)));
  auto bad = RowsCoverMark(*conn, "not a time", std::chrono::hours(1));
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace pgoutbox::pg
