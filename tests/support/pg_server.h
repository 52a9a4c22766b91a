// PgServer: a real, throwaway PostgreSQL server for tests: Debian's
// PostgreSQL 15 by default, or another major version (14 to 18) installed by
// scripts/install-pg-versions.sh (PgServerOptions::version, or
// PGOUTBOX_TEST_PG_VERSION for a whole-suite run).
//
// Start() makes a data directory in a fresh temp directory owned by the
// unprivileged `postgres` user (initdb and postgres refuse to run as root),
// writes a config with wal_level (logical by default), max_wal_senders and
// max_replication_slots of 20, fsync=off, listen_addresses=127.0.0.1 on a free
// loopback port and unix_socket_directories in the temp dir, a pg_hba.conf
// that trusts loopback for normal and replication connections except for the
// role `pwuser`, which must authenticate with a password (scram-sha-256; see
// CreatePasswordUser), and starts it with pg_ctl -w. The destructor stops it
// (immediate mode) and removes the directory; if the current gtest test has
// failed, it first prints the tail of the server log to stderr.
//
// The data directory is a copy of an initdb template (UTF8, locale C) made
// once per machine and server binary under
// /tmp/pgoutbox-pg<major>-template-*: the first start takes about 2.5 s, later
// ones about 1 s. Servers are independent, so tests may run in parallel. The
// copies share the template's system identifier: a test that needs another
// cluster (pgoutbox tells clusters apart by it) sets
// PgServerOptions::own_initdb.
//
// With PgServerOptions::tls the server also speaks TLS: Start() makes a
// throwaway CA and a server certificate with the `openssl` command in the temp
// dir (subjectAltName IP:127.0.0.1 and DNS:localhost, key mode 0600 owned by
// the server user), sets ssl = on, and the pg_hba.conf TCP lines become
// `hostssl`, so every TCP connection must use TLS. The fixture's own helper
// connections use libpq's default sslmode (prefer) and keep working.
//
// For failover: Stop() (fast or immediate) and StartAgain(), StartStandby()
// (a streaming physical standby made as a cold copy of this server's data
// directory), Promote(), and SystemIdentifier(). Everything is driven with
// pg_ctl and libpq: the packaged versions have no psql or pg_basebackup.
//
// Thread safety: the query helpers open their own connection per call and may
// be used from any thread; Stop, StartAgain, Restart, StartStandby and Promote
// from the test thread only.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace pgoutbox::testing {

// The major versions scripts/install-pg-versions.sh installs, which the
// tests that run on every version iterate over.
inline constexpr std::array<int, 5> kPgVersions = {14, 15, 16, 17, 18};

struct PgServerOptions {
  // The server's major version. 0 is the default: the major named by the
  // environment variable PGOUTBOX_TEST_PG_VERSION when it is set and not
  // empty, else Debian's PostgreSQL 15 (/usr/lib/postgresql/15/bin). 14 to 18
  // is the server of that major that scripts/install-pg-versions.sh put under
  // PGOUTBOX_PG_VERSIONS_DIR (15 included: the packaged 15, not Debian's).
  // A version that is not installed fails Start(), naming the script.
  int version = 0;
  std::string wal_level = "logical";
  std::vector<std::string> extra_settings;  // extra postgresql.conf lines
  bool tls = false;  // ssl = on with a certificate of a throwaway CA; TCP needs TLS
  // initdb of its own instead of a copy of the shared template: a cluster
  // with a system identifier of its own (every copy of the template has the
  // template's). Costs the initdb (about 2 s).
  bool own_initdb = false;
};

// How Stop() shuts the server down (pg_ctl -m): kFast ends the sessions and
// writes a shutdown checkpoint (a clean stop); kImmediate kills the
// processes as a crash would, and the next start runs crash recovery.
enum class StopMode { kFast, kImmediate };

struct StandbyOptions {
  // The physical replication slot on the primary that the standby streams
  // from (primary_slot_name); "" streams without one.
  std::string slot;
  // postgresql.conf lines of the standby's own, written after the primary's
  // extra_settings (so a line here overrides one there): for failover slots,
  // sync_replication_slots = on and hot_standby_feedback = on.
  // primary_conninfo names a dbname (postgres), as slot synchronization needs.
  std::vector<std::string> extra_settings = {};
};

class PgServer {
 public:
  // Starts a server. On failure adds a gtest failure (with initdb/pg_ctl
  // output) and returns nullptr.
  static std::unique_ptr<PgServer> Start(const PgServerOptions& options = {});
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const;
  const std::string& data_dir() const;
  // The major version the server runs (15 for Debian's default).
  int version() const;
  // The directory of its initdb, pg_ctl and postgres.
  const std::string& bin_dir() const;

  // With options.tls: the CA that signed the server's certificate (PEM), for
  // sslrootcert; and a second CA, made the same way, that signed nothing this
  // server presents (a wrong sslrootcert). Both "" without tls.
  const std::string& tls_ca_file() const;
  const std::string& tls_other_ca_file() const;

  // "host=127.0.0.1 port=N dbname=<db> user=<user>" (no replication=).
  std::string ConnInfo(const std::string& dbname = "postgres",
                       const std::string& user = "postgres") const;

  // Creates a database (and returns its name); every test uses its own.
  std::string CreateDatabase(const std::string& name);

  // Creates the role `pwuser` (LOGIN REPLICATION SUPERUSER) with `password`.
  void CreatePasswordUser(const std::string& password);

  // Runs SQL (may hold several statements) in `dbname`; a gtest failure
  // (ADD_FAILURE with the server's message) on error, returns false.
  bool Exec(const std::string& dbname, const std::string& sql) const;
  // Runs one query and returns all rows, NULL as "" (gtest failure on error).
  std::vector<std::vector<std::string>> Query(const std::string& dbname,
                                              const std::string& sql) const;
  // First column of the first row, or "" if no rows (gtest failure on error).
  std::string QueryValue(const std::string& dbname, const std::string& sql) const;

  // The slot's confirmed_flush_lsn as text, "" if the slot does not exist.
  std::string ConfirmedFlushLsn(const std::string& slot) const;
  // Drops the slot if it exists, retrying for a few seconds while it is
  // still active (a walsender that has not exited yet).
  void DropSlot(const std::string& slot) const;

  // Restarts the server (pg_ctl restart -m fast), same port and data.
  bool Restart();

  // Stops the server (pg_ctl stop -m fast or immediate); on failure adds a
  // gtest failure and returns false. Stopping a stopped server does nothing.
  bool Stop(StopMode mode = StopMode::kFast);
  // Starts a stopped server again, on the same port with the same data
  // (after an immediate stop, through crash recovery). False with a gtest
  // failure if it does not start (say, another process took the port).
  bool StartAgain();
  bool running() const;

  // A physical standby of this server, which must be running: creates
  // options.slot here (pg_create_physical_replication_slot, reserving WAL at
  // once) if given, stops this server cleanly (fast), copies its data
  // directory into the standby's own temp dir, starts this server again and
  // starts the standby on its own port with standby.signal, primary_conninfo
  // pointing here (application_name "standby") and primary_slot_name. The
  // standby streams WAL from here as it is written; WaitForReplay() tells
  // when it has a given position. The copy carries everything in the data
  // directory, this server's logical slots included (they stay inactive while
  // it is a standby), but not the physical slot it streams from. The standby
  // has this server's options except tls (its TCP lines are plain `host`);
  // it is owned by the caller and independent of this object's lifetime.
  // On failure adds a gtest failure and returns nullptr.
  std::unique_ptr<PgServer> StartStandby(const StandbyOptions& options = {});
  // Promotes a standby (pg_ctl promote) and waits until pg_is_in_recovery()
  // is false; false with a gtest failure if that does not happen in 60 s.
  bool Promote();
  // SELECT pg_is_in_recovery(): true on a standby that is not promoted.
  bool InRecovery() const;
  // On a standby: waits until pg_last_wal_replay_lsn() >= lsn; false on
  // timeout (no gtest failure; the caller says what it waited for).
  bool WaitForReplay(const std::string& lsn, std::chrono::milliseconds timeout) const;
  // The cluster's system identifier (pg_control_system()), as text; a
  // standby made by StartStandby has its primary's.
  std::string SystemIdentifier() const;
  // The whole server log.
  std::string ServerLog() const;

 private:
  PgServer() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// Compares two LSN texts ("16/B374D848"); returns <0, 0, >0. Text that is
// not an LSN (such as "" for a missing slot) counts as 0/0.
int CompareLsn(const std::string& a, const std::string& b);

}  // namespace pgoutbox::testing
