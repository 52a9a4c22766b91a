#include "pg/connection.h"

#include <cctype>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

namespace pgoutbox::pg {

std::string TrimMessage(const char* message) {
  // Keep multi-line libpq messages on one line for logs: runs of white space
  // become one space, and a line break also a "; " where the line did not end
  // in punctuation (libpq's "root certificate file ... does not exist\nEither
  // provide the file or ...").
  std::string out;
  bool space = false, line_break = false;
  for (const char* p = message ? message : ""; *p != '\0'; ++p) {
    const char c = *p;
    if (c == '\n') {
      line_break = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      space = true;
    } else {
      if (!out.empty() && (space || line_break)) {
        if (line_break && std::string_view(".:;,!?").find(out.back()) == std::string_view::npos) {
          out.push_back(';');
        }
        out.push_back(' ');
      }
      space = line_break = false;
      out.push_back(c);
    }
  }
  return out;
}

namespace {

bool IsUri(const std::string& conninfo) {
  return conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Keywords whose value is a secret. libpq's keywords are lower case; any case
// is redacted, so that a mistyped keyword does not print its value either.
bool IsPasswordKeyword(std::string keyword) {
  for (char& c : keyword) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return keyword == "password" || keyword == "sslpassword";
}

// A value for a key/value conninfo, inside single quotes.
std::string EscapeConninfoValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A password in a conninfo: where it is written, and the value libpq reads.
struct PasswordSpan {
  size_t begin = 0, end = 0;  // the text as written, [begin, end)
  std::string value;          // unquoted, unescaped or %-decoded
};

struct FoundPasswords {
  std::vector<PasswordSpan> spans;
  // Where libpq would stop reading a key/value string with a syntax error
  // (npos if it reads it all): what follows may be part of a password, such
  // as the second word of an unquoted "password=two words".
  size_t unreadable_from = std::string::npos;
};

// password= and sslpassword= of a key/value string, read the way libpq's
// conninfo_parse reads it: blanks, keyword, blanks, '=', blanks, then a
// single-quoted value or one up to the next blank, '\' escaping a character
// in both.
FoundPasswords KeyValuePasswords(const std::string& s) {
  FoundPasswords found;
  const size_t n = s.size();
  size_t i = 0;
  for (;;) {
    while (i < n && IsSpace(s[i])) ++i;
    if (i >= n) return found;
    const size_t keyword_begin = i;
    while (i < n && s[i] != '=' && !IsSpace(s[i])) ++i;
    const std::string keyword = s.substr(keyword_begin, i - keyword_begin);
    while (i < n && IsSpace(s[i])) ++i;
    if (i >= n || s[i] != '=') {
      found.unreadable_from = keyword_begin;  // missing "=" after the keyword
      return found;
    }
    ++i;
    while (i < n && IsSpace(s[i])) ++i;
    PasswordSpan span;
    span.begin = i;
    if (i < n && s[i] == '\'') {
      ++i;
      for (;;) {
        if (i >= n) {
          found.unreadable_from = span.begin;  // unterminated quoted string
          return found;
        }
        if (s[i] == '\\') {
          if (++i < n) span.value.push_back(s[i++]);
        } else if (s[i] == '\'') {
          ++i;
          break;
        } else {
          span.value.push_back(s[i++]);
        }
      }
    } else {
      while (i < n && !IsSpace(s[i])) {
        if (s[i] == '\\') ++i;
        if (i < n) span.value.push_back(s[i++]);
      }
    }
    span.end = i;
    if (IsPasswordKeyword(keyword)) found.spans.push_back(std::move(span));
  }
}

// The password of a URI's user info and of its password= and sslpassword=
// query parameters, the way libpq's conninfo_uri_parse_options reads them:
// the user info runs to the first '@' before any '/', the password from its
// first ':'; the query starts at the first '?' after it (outside an IPv6
// "[...]"), parameters end at '&', keywords and values are %-decoded.
FoundPasswords UriPasswords(const std::string& s) {
  FoundPasswords found;
  size_t p = s.find("://") + 3;
  const size_t userinfo_end = s.find_first_of("@/", p);
  if (userinfo_end != std::string::npos && s[userinfo_end] == '@') {
    const size_t colon = s.find(':', p);
    if (colon < userinfo_end) {
      PasswordSpan span;
      span.begin = colon + 1;
      span.end = userinfo_end;
      span.value = PercentDecode(s.substr(span.begin, span.end - span.begin));
      found.spans.push_back(std::move(span));
    }
    p = userinfo_end + 1;
  }
  bool in_brackets = false;
  for (; p < s.size(); ++p) {
    if (s[p] == '[') in_brackets = true;
    if (s[p] == ']') in_brackets = false;
    if (s[p] == '?' && !in_brackets) break;
  }
  while (p < s.size()) {
    const size_t param = p + 1;  // past '?' or '&'
    size_t next = s.find('&', param);
    if (next == std::string::npos) next = s.size();
    const size_t eq = s.find('=', param);
    if (eq < next && IsPasswordKeyword(PercentDecode(s.substr(param, eq - param)))) {
      PasswordSpan span;
      span.begin = eq + 1;
      span.end = next;
      span.value = PercentDecode(s.substr(span.begin, span.end - span.begin));
      found.spans.push_back(std::move(span));
    }
    p = next;
  }
  return found;
}

FoundPasswords FindPasswords(const std::string& conninfo) {
  if (IsUri(conninfo)) return UriPasswords(conninfo);
  // Without '=' it is a database name (libpq's rule), not a conninfo.
  if (conninfo.find('=') == std::string::npos) return {};
  return KeyValuePasswords(conninfo);
}

// Every password `conninfo` carries (as written and as libpq reads it), the
// words of what libpq could not read, and PGPASSWORD.
std::vector<std::string> Secrets(const std::string& conninfo) {
  std::vector<std::string> secrets;
  auto add_words = [&](const std::string& text) {
    std::istringstream words(text);
    for (std::string word; words >> word;) secrets.push_back(word);
  };
  FoundPasswords found = FindPasswords(conninfo);
  for (const PasswordSpan& span : found.spans) {
    const std::string raw = conninfo.substr(span.begin, span.end - span.begin);
    secrets.push_back(raw);
    secrets.push_back(span.value);
  }
  if (found.unreadable_from != std::string::npos) {
    const std::string rest = conninfo.substr(found.unreadable_from);
    secrets.push_back(rest);
    add_words(rest);
  }
  if (const char* env = std::getenv("PGPASSWORD"); env != nullptr) secrets.emplace_back(env);
  return secrets;
}

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text->find(from, pos)) != std::string::npos; pos += to.size()) {
    text->replace(pos, from.size(), to);
  }
}

// libpq's complaints about the conninfo itself, before any connection
// attempt: a usage error.
bool IsBadConninfo(const std::string& msg) {
  static const std::regex kInvalidValue(R"(invalid \S+ value: )");
  for (const char* what :
       {"invalid connection option", "missing \"=\"", "invalid URI", "unterminated quoted string",
        "invalid percent-encoded token", "forbidden value %00", "invalid port number",
        "for connection option", "could not match", "end of string reached when looking for"}) {
    if (msg.find(what) != std::string::npos) return true;
  }
  return std::regex_search(msg, kInvalidValue);
}

// A TLS set-up the client refuses (sslmode verify-ca/verify-full/require):
// these do not heal by themselves, unlike a server that is restarting.
bool IsTlsVerificationFailure(const std::string& msg) {
  for (const char* what : {"certificate verify failed", "does not match host name",
                           "root certificate file", "server does not support SSL",
                           "could not get server's host name from server certificate"}) {
    if (msg.find(what) != std::string::npos) return true;
  }
  return false;
}

// The value libpq used for connection option `keyword`, "" if none.
std::string ConnOption(PGconn* conn, const char* keyword) {
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(PQconninfo(conn),
                                                                         PQconninfoFree);
  if (!options) return "";
  for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == keyword) return o->val != nullptr ? o->val : "";
  }
  return "";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ReplicationKeepalives(
    const std::string& conninfo) {
  static const std::pair<const char*, const char*> kDefaults[] = {
      {"keepalives", "1"},       {"keepalives_idle", "10"},     {"keepalives_interval", "5"},
      {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
  };
  // What the conninfo sets, read by libpq itself. A string without "=" that
  // is no URI is a database name (libpq's rule) and sets none of them; one
  // libpq cannot read fails the connection anyway.
  std::set<std::string> set;
  if (IsUri(conninfo) || conninfo.find('=') != std::string::npos) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (error != nullptr) PQfreemem(error);
    if (options != nullptr) {
      for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) set.insert(o->keyword);
      }
      PQconninfoFree(options);
    }
  }
  // An option this libpq does not know (tcp_user_timeout before 12) would
  // fail the connection: only the known ones are added.
  static const std::set<std::string> known = [] {
    std::set<std::string> names;
    if (PQconninfoOption* defaults = PQconndefaults(); defaults != nullptr) {
      for (PQconninfoOption* o = defaults; o->keyword != nullptr; ++o) names.insert(o->keyword);
      PQconninfoFree(defaults);
    }
    return names;
  }();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [keyword, value] : kDefaults) {
    if (set.count(keyword) == 0 && known.count(keyword) != 0) out.emplace_back(keyword, value);
  }
  return out;
}

Result<std::string> AddPassword(const std::string& conninfo, const std::string& password) {
  const bool uri = IsUri(conninfo);
  if (!uri && conninfo.find('=') == std::string::npos) {
    // A bare database name (libpq's rule for a string without "=").
    return AddPassword("dbname='" + EscapeConninfoValue(conninfo) + "'", password);
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? TrimMessage(error) : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return Status::InvalidArgument("--db cannot be read: " + RedactSecrets(message, conninfo));
  }
  bool has_password = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) has_password = true;
  }
  PQconninfoFree(options);
  if (has_password) {
    return Status::InvalidArgument(
        "--db already holds a password: give it there or in the password file, not both");
  }
  if (!uri) return conninfo + " password='" + EscapeConninfoValue(password) + "'";
  std::string encoded;
  for (unsigned char c : password) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 0xF];
    }
  }
  return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + "password=" + encoded;
}

std::string RedactConninfo(const std::string& conninfo) {
  FoundPasswords found = FindPasswords(conninfo);
  std::string out;
  size_t copied = 0;
  for (const PasswordSpan& span : found.spans) {
    out.append(conninfo, copied, span.begin - copied).append("***");
    copied = span.end;
  }
  if (found.unreadable_from != std::string::npos) {
    // libpq would refuse the rest: it may hold the rest of a password.
    return out.append(conninfo, copied, found.unreadable_from - copied).append("***");
  }
  return out.append(conninfo, copied, std::string::npos);
}

std::string RedactSecrets(std::string message, const std::string& conninfo) {
  for (const std::string& secret : Secrets(conninfo)) {
    if (secret.empty()) continue;
    // libpq quotes what it complains about ("invalid percent-encoded token:
    // \"...\""); a secret too short to replace everywhere without garbling
    // the message is still replaced there.
    if (secret.size() >= 4) {
      ReplaceAll(&message, secret, "***");
    } else {
      ReplaceAll(&message, "\"" + secret + "\"", "\"***\"");
    }
  }
  return message;
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
  // Keywords after "dbname" override what it says: only the ones the
  // conninfo leaves unset are added.
  const std::vector<std::pair<std::string, std::string>> keepalives =
      kind == Kind::kReplication ? ReplicationKeepalives(conninfo)
                                 : std::vector<std::pair<std::string, std::string>>{};
  for (const auto& [keyword, value] : keepalives) {
    keys.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  if (kind == Kind::kReplication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn) return Status::Unavailable("out of memory creating a libpq connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    // libpq may echo part of a malformed conninfo (a URI's password with a
    // bad %-escape); no secret leaves this function.
    std::string msg = RedactSecrets(TrimMessage(PQerrorMessage(conn.get())), conninfo);
    if (IsTlsVerificationFailure(msg)) {
      if (msg.find("certificate verify failed") != std::string::npos) {
        std::string root = ConnOption(conn.get(), "sslrootcert");
        msg += " (the server's certificate is not issued by a CA in sslrootcert" +
               (root.empty() ? std::string() : " " + root) + ", or is not valid now)";
      }
      // Retrying cannot help: like a wrong password, it needs a fix.
      return Status::FailedPrecondition("cannot connect to the database: " + msg);
    }
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("no password supplied") != std::string::npos ||
        msg.find("no pg_hba.conf entry") != std::string::npos ||
        msg.find("permission denied") != std::string::npos ||
        msg.find("must be superuser or replication role") != std::string::npos) {
      return Status::FailedPrecondition("cannot connect to the database: " + msg);
    }
    if (IsBadConninfo(msg)) {
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
