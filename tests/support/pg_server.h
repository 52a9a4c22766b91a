// PgServer: a real, throwaway PostgreSQL 15 server for tests.
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
// once per machine under /tmp/pgoutbox-pg15-template-*: the first start takes
// about 2.5 s, later ones about 1 s. Servers are independent, so tests may
// run in parallel.
//
// With PgServerOptions::tls the server also speaks TLS: Start() makes a
// throwaway CA and a server certificate with the `openssl` command in the temp
// dir (subjectAltName IP:127.0.0.1 and DNS:localhost, key mode 0600 owned by
// the server user), sets ssl = on, and the pg_hba.conf TCP lines become
// `hostssl`, so every TCP connection must use TLS. The fixture's own helper
// connections use libpq's default sslmode (prefer) and keep working.
//
// Thread safety: the query helpers open their own connection per call and may
// be used from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace pgoutbox::testing {

struct PgServerOptions {
  std::string wal_level = "logical";
  std::vector<std::string> extra_settings;  // extra postgresql.conf lines
  bool tls = false;  // ssl = on with a certificate of a throwaway CA; TCP needs TLS
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
