// PgConnection: an owned libpq connection (ordinary or replication) with the
// few query helpers pgoutbox needs, converting libpq errors into Status with
// the SQLSTATE and the server's message.
//
// Ownership: owns the PGconn (closed by the destructor) and every PGresult it
// creates. Thread safety: one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace pgoutbox::pg {

struct PGconnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PGresultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, PGconnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, PGresultDeleter>;

// The rows of a query, NULL as nullopt.
struct Rows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  size_t size() const { return rows.size(); }
  bool empty() const { return rows.empty(); }
  // REQUIRES: row < size(). Empty string for NULL.
  std::string Get(size_t row, size_t col) const;
  bool IsNull(size_t row, size_t col) const;
};

// A query error keeps the server's SQLSTATE so callers can tell cases apart.
struct SqlError {
  std::string sqlstate;  // e.g. "55006"; empty if not from the server
  std::string message;
};

class PgConnection {
 public:
  enum class Kind { kOrdinary, kReplication };

  // Connects with `conninfo` (key=value string or URI). For kReplication,
  // `replication=database` is added, and TCP keepalives and a TCP user
  // timeout (ReplicationKeepalives) where the conninfo does not set them. Fails with Unavailable
  // for unreachable servers, InvalidArgument for bad conninfo, FailedPrecondition for
  // authentication and permission errors and for a server certificate the
  // client refuses (sslmode verify-ca/verify-full: wrong CA, host name not in
  // the certificate; or require against a server without TLS). The message
  // is libpq's on one line, without any password (RedactSecrets).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo, Kind kind,
                                                       const std::string& application_name);

  // Runs a statement (text protocol, no parameters) or a parameterised query.
  // On a server error returns a Status with the server's message and, if
  // `error` is not null, stores the SQLSTATE there.
  Result<Rows> Query(const std::string& sql, SqlError* error = nullptr);
  Result<Rows> QueryParams(const std::string& sql, const std::vector<std::string>& params,
                           SqlError* error = nullptr);

  // Quoting through libpq (needs the connection for the encoding).
  std::string QuoteIdentifier(const std::string& name);
  std::string QuoteLiteral(const std::string& value);

  PGconn* get() const { return conn_.get(); }
  // libpq's last error message, trimmed.
  std::string LastError() const;

 private:
  explicit PgConnection(ConnPtr conn) : conn_(std::move(conn)) {}
  Result<Rows> CollectResult(ResultPtr res, const std::string& what, SqlError* error);
  ConnPtr conn_;
};

// The libpq options that make a dead replication connection show within
// seconds rather than after the kernel's retransmission timeout (about 15
// minutes): keepalives=1, keepalives_idle=10, keepalives_interval=5,
// keepalives_count=3 (an idle connection whose peer is gone fails after
// 10 + 3 * 5 = 25 s) and tcp_user_timeout=30000 (data sent but not
// acknowledged, a status update to a peer that is gone, fails it after
// 30 s). Each option `conninfo` (key/value or URI, one host or several) sets
// itself is left out: the user's value wins. Pure.
std::vector<std::pair<std::string, std::string>> ReplicationKeepalives(const std::string& conninfo);

// `conninfo` (key/value string, URI or a bare database name, libpq's three
// forms) with `password` added: ` password='...'` quoted for a key/value
// string, `password=` %-encoded as a URI parameter. InvalidArgument when the
// conninfo already holds a password (two would be ambiguous) or libpq cannot
// read it (the message without secrets). Pure.
Result<std::string> AddPassword(const std::string& conninfo, const std::string& password);

// Removes trailing whitespace/newlines from a libpq message.
std::string TrimMessage(const char* message);

// Replaces the password (and sslpassword) of a conninfo string or URI with
// "***" for logging, found the way libpq reads them: key/value `password=...`
// (quoted or not), a URI's `user:password@` and its `?password=` parameter.
// Where libpq would stop at a syntax error in a key/value string, the rest is
// replaced too (it may be the rest of an unquoted password with a space).
std::string RedactConninfo(const std::string& conninfo);

// Replaces in `message` every password that `conninfo` carries (as written,
// and unquoted or %-decoded), the words of what libpq cannot read, and the
// value of PGPASSWORD with "***". Secrets shorter than 4 characters are
// replaced only where quoted ("..."), so that they do not garble the rest.
std::string RedactSecrets(std::string message, const std::string& conninfo);

}  // namespace pgoutbox::pg
