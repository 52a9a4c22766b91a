#include "pg/connection.h"

#include <cctype>
#include <regex>

namespace pgoutbox::pg {

std::string TrimMessage(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  // Keep multi-line libpq messages on one line for logs.
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RedactConninfo(const std::string& conninfo) {
  static const std::regex kv(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  static const std::regex uri(R"((://[^:/@]*:)[^@]*@)");
  std::string out = std::regex_replace(conninfo, kv, "$1***");
  return std::regex_replace(out, uri, "$1***@");
}

std::string Rows::Get(size_t row, size_t col) const {
  const auto& v = rows.at(row).at(col);
  return v ? *v : std::string();
}

bool Rows::IsNull(size_t row, size_t col) const { return !rows.at(row).at(col).has_value(); }

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo, Kind kind,
                                                            const std::string& application_name) {
  // "dbname" with expand_dbname=1 takes a whole conninfo string or URI; the
  // later keywords override what it says.
  std::vector<const char*> keys = {"dbname", "fallback_application_name"};
  std::vector<const char*> values = {conninfo.c_str(), application_name.c_str()};
  if (kind == Kind::kReplication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn) return Status::Unavailable("out of memory creating a libpq connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string msg = TrimMessage(PQerrorMessage(conn.get()));
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("no password supplied") != std::string::npos ||
        msg.find("no pg_hba.conf entry") != std::string::npos ||
        msg.find("permission denied") != std::string::npos ||
        msg.find("must be superuser or replication role") != std::string::npos) {
      return Status::FailedPrecondition("cannot connect to the database: " + msg);
    }
    if (msg.find("invalid connection option") != std::string::npos ||
        msg.find("missing \"=\"") != std::string::npos ||
        msg.find("invalid URI") != std::string::npos ||
        msg.find("unterminated quoted string") != std::string::npos) {
      return Status::InvalidArgument("bad --db connection string: " + msg);
    }
    return Status::Unavailable("cannot connect to the database: " + msg);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(std::move(conn)));
}

std::string PgConnection::LastError() const { return TrimMessage(PQerrorMessage(conn_.get())); }

Result<Rows> PgConnection::CollectResult(ResultPtr res, const std::string& what, SqlError* error) {
  if (!res) return Status::Unavailable("query failed: " + LastError());
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    std::string msg = TrimMessage(PQresultErrorMessage(res.get()));
    if (error != nullptr) {
      error->sqlstate = state ? state : "";
      error->message = msg;
    }
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      return Status::Unavailable(what + " failed, connection lost: " + msg);
    }
    return Status::FailedPrecondition(what + " failed: " + msg);
  }
  Rows out;
  int n = PQntuples(res.get());
  int m = PQnfields(res.get());
  out.rows.reserve(n);
  for (int i = 0; i < n; ++i) {
    std::vector<std::optional<std::string>> row;
    row.reserve(m);
    for (int j = 0; j < m; ++j) {
      if (PQgetisnull(res.get(), i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res.get(), i, j), PQgetlength(res.get(), i, j)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

Result<Rows> PgConnection::Query(const std::string& sql, SqlError* error) {
  return CollectResult(ResultPtr(PQexec(conn_.get(), sql.c_str())), "query \"" + sql + "\"", error);
}

Result<Rows> PgConnection::QueryParams(const std::string& sql,
                                       const std::vector<std::string>& params, SqlError* error) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  ResultPtr res(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
  return CollectResult(std::move(res), "query \"" + sql + "\"", error);
}

std::string PgConnection::QuoteIdentifier(const std::string& name) {
  char* q = PQescapeIdentifier(conn_.get(), name.c_str(), name.size());
  if (q == nullptr) return "\"" + name + "\"";
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string PgConnection::QuoteLiteral(const std::string& value) {
  char* q = PQescapeLiteral(conn_.get(), value.c_str(), value.size());
  if (q == nullptr) return "'" + value + "'";
  std::string out(q);
  PQfreemem(q);
  return out;
}

}  // namespace pgoutbox::pg
