// Workload: the outbox traffic and delivery checks shared by the end-to-end
// tests that stream while something goes wrong (faults_test.cc,
// operations_test.cc). A test commits numbered transactions of outbox rows on
// a connection of its own, runs pgoutbox, and compares what the consumer
// received with the outbox table: every row arrives (at least or exactly
// once), with the right key, and per aggregate in commit order.
//
// Thread safety: as Harness; Connect and the insert functions may be used
// from an inserter thread on that thread's own connection.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace pgoutbox::testing {

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
// A libpq connection closed with PQfinish.
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

// Milliseconds from `start` to now on the steady clock.
long long MillisSince(std::chrono::steady_clock::time_point start);

// A connection of the test's own to the harness database, so that a
// transaction's commit and the WAL position read right after it come from the
// same session; nullptr (and, if `report`, a gtest failure) when the server
// does not accept it.
PgConnPtr Connect(const Harness& h, bool report = true);

// The SQL of InsertTransaction: BEGIN, `rows` outbox rows for transaction
// index `tx` spread over `aggregates` aggregate ids, COMMIT, then
// SELECT pg_current_wal_lsn().
std::string InsertTransactionSql(int tx, int rows, int aggregates);

// Commits one transaction of `rows` outbox rows for transaction index `tx`
// and returns pg_current_wal_lsn() read right after the COMMIT on the same
// connection. Payload carries tx and row; the aggregate id spreads the rows
// over `aggregates` keys. On error returns "" and stores the server's message
// in `error` (no gtest failure: callers decide whether an error is expected).
std::string TryInsertTransaction(PGconn* conn, int tx, int rows, std::string* error,
                                 int aggregates = 37);

// TryInsertTransaction with a gtest failure on error ("" returned).
std::string InsertTransaction(PGconn* conn, int tx, int rows, int aggregates = 37);

// Waits until the slot exists and pg_replication_slots.active is `active`;
// false on timeout.
bool WaitForSlotActive(const Harness& h, bool active, std::chrono::milliseconds timeout);

// Waits until at least `count` records arrived (false on timeout), then until
// no new record arrived for `quiet` (so late duplicates are counted too).
bool WaitForQuiet(TopicConsumer& consumer, size_t count, std::chrono::milliseconds timeout,
                  std::chrono::milliseconds quiet = std::chrono::milliseconds(1000));

// One outbox row as InsertTransaction wrote it.
struct Row {
  int tx = -1;
  int row = -1;
  std::string aggregate_id;
};

// The rows of the outbox by id, the ground truth of what must arrive.
std::map<std::string, Row> OutboxRows(const Harness& h);

// How many times each id arrived; a gtest failure for each record without an
// id header, with an unknown id, or whose key is not the row's aggregate id.
std::map<std::string, int> CountIds(const std::vector<ConsumedRecord>& records,
                                    const std::map<std::string, Row>& rows);

// Expects every row to have arrived at least once; returns how many ids
// arrived more than once (gtest failures name the first lost ones).
int ExpectAllArrivedAtLeastOnce(const std::map<std::string, Row>& rows,
                                const std::map<std::string, int>& seen);

// Every row arrived exactly once (a gtest failure names each that did not);
// also checks each record's key, like CountIds.
void ExpectAllArrivedExactlyOnce(const std::vector<ConsumedRecord>& records,
                                 const std::map<std::string, Row>& rows);

// Expects, per aggregate, first arrivals to follow insert order (a key lives
// in one partition, and Records() keeps each partition's order). Records with
// an unknown id are skipped: CountIds reports them.
void ExpectFirstArrivalsInOrder(const std::vector<ConsumedRecord>& records,
                                const std::map<std::string, Row>& rows);

// Starts pgoutbox with `argv` in the background and waits up to 20 s until it
// streams (the slot is active); nullptr and a gtest failure otherwise.
std::unique_ptr<ChildProcess> StartStreaming(Harness& h, const std::vector<std::string>& argv);

// The end of a streaming test: the child still runs, and SIGTERM makes it
// finish its in-flight events and exit 0 within 20 s.
void StopCleanly(ChildProcess& child);

}  // namespace pgoutbox::testing
