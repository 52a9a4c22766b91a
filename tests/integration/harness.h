// Harness: what every end-to-end test needs: a real PostgreSQL server (15
// unless PgServerOptions::version or PGOUTBOX_TEST_PG_VERSION say otherwise),
// the mock Kafka cluster, the outbox table, and pgoutbox run as a child process
// with the test's database and brokers; and the helpers the tests share to
// build a command line, run it to its exit and watch a child's output.
//
// Thread safety: one test thread; PgServer's query helpers may be used from
// other threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {

class Harness {
 public:
  // Starts a server (wal_level logical unless options say otherwise), a mock
  // cluster of `brokers` brokers, and creates database `db`. On failure the
  // test has failed and ok() is false.
  explicit Harness(int brokers = 3, const PgServerOptions& options = {});

  bool ok() const { return pg != nullptr && kafka != nullptr; }

  // Creates the canonical outbox table (sql/outbox.sql) as schema.table.
  void CreateOutboxTable(const std::string& table = "public.outbox");

  // argv for `pgoutbox run` against this harness: --db, --brokers, --slot,
  // --publication, a short --feedback-interval (200ms) and --http-addr on a
  // free port (127.0.0.1:0), then `extra`.
  std::vector<std::string> Args(const std::vector<std::string>& extra = {}) const;
  // Args(extra) with the value after `flag` replaced by `value`, or `flag
  // value` appended when Args has no such flag (CLI11 refuses a flag given
  // twice, so a test cannot simply add it to `extra`).
  std::vector<std::string> ArgsWith(const std::string& flag, const std::string& value,
                                    const std::vector<std::string>& extra = {}) const;

  // Starts pgoutbox in the background.
  std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& extra = {});
  // Runs pgoutbox with Args(extra) to completion (use --end-lsn or
  // --exit-when-caught-up), as RunToExit does.
  int RunToEnd(const std::vector<std::string>& extra,
               std::chrono::milliseconds timeout = std::chrono::seconds(60),
               std::string* output = nullptr);

  // SELECT pg_current_wal_lsn() in the test database.
  std::string CurrentWalLsn() const;
  // Waits until the slot's confirmed_flush_lsn >= lsn; false on timeout.
  bool WaitForConfirmed(const std::string& lsn, std::chrono::milliseconds timeout) const;
  std::string ConfirmedLsn() const { return pg->ConfirmedFlushLsn(slot); }

  bool Exec(const std::string& sql) const { return pg->Exec(db, sql); }
  std::string QueryValue(const std::string& sql) const { return pg->QueryValue(db, sql); }
  std::vector<std::vector<std::string>> Query(const std::string& sql) const {
    return pg->Query(db, sql);
  }

  std::unique_ptr<PgServer> pg;
  std::unique_ptr<MockKafka> kafka;
  std::string db = "app";
  std::string slot = "pgoutbox_test";
  std::string publication = "pgoutbox_test";
};

// In `argv`, replaces the value after the first `flag` by `value`, or
// appends `flag value` when argv has no such flag.
void SetFlag(std::vector<std::string>* argv, const std::string& flag, const std::string& value);

// Runs `argv` (program first) with `env` entries ("K=V") added to the
// environment, waits for it to exit and returns its exit code (128+signal if
// a signal ended it). Stores everything it wrote to stdout and stderr in
// `output` unless that is null. On timeout the child is killed, the test gets
// a gtest failure with the output, and the result is -1; -1 too when the
// child cannot be started (ChildProcess::Start has failed the test).
int RunToExit(const std::vector<std::string>& argv, std::string* output,
              std::chrono::milliseconds timeout = std::chrono::seconds(60),
              const std::vector<std::string>& env = {});

// Waits until `child`'s output contains `text`; false on timeout. The child
// may have exited: its output stays readable.
bool WaitForOutput(ChildProcess& child, const std::string& text, std::chrono::milliseconds timeout);

}  // namespace pgoutbox::testing
