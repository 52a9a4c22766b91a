#include "support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace pgoutbox::testing {
namespace {

// The default server: Debian's PostgreSQL 15 (package postgresql-15).
constexpr char kDebianBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr int kDebianVersion = 15;
// Names the major version of the default server for a whole-suite run.
constexpr char kVersionVariable[] = "PGOUTBOX_TEST_PG_VERSION";
constexpr char kServerUser[] = "postgres";
constexpr int kLogTailLines = 200;

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// The outcome of one SQL call: rows on success, else the server's message
// and SQLSTATE (empty when the failure was connecting).
struct SqlOutcome {
  bool ok = false;
  std::string error;
  std::string sqlstate;
  std::vector<std::vector<std::string>> rows;
};

SqlOutcome RunSql(const std::string& conninfo, const std::string& sql) {
  SqlOutcome out;
  PgConnPtr conn(PQconnectdb(conninfo.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    out.error = "connect (" + conninfo + "): " + PQerrorMessage(conn.get());
    return out;
  }
  PgResultPtr res(PQexec(conn.get(), sql.c_str()));
  ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    out.error = PQresultErrorMessage(res.get());
    if (out.error.empty()) out.error = PQerrorMessage(conn.get());
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    if (state != nullptr) out.sqlstate = state;
    return out;
  }
  out.ok = true;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < PQnfields(res.get()); ++c) {
      row.emplace_back(PQgetisnull(res.get(), r, c) ? "" : PQgetvalue(res.get(), r, c));
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

std::string QuoteLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LastLines(const std::string& text, int lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos > 0; ++i) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    pos = nl;
  }
  return pos == 0 ? text : text.substr(pos + 1);
}

// A port that was free a moment ago (the kernel's choice for 127.0.0.1:0).
// Another process may take it before the server binds it; Start() retries.
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Runs a PostgreSQL program to completion, as the `postgres` user when we are
// root, with `workdir` as the working directory (so the server user can always
// resolve it) and stdout+stderr collected into `*output`. Returns the exit
// status (128+signal if killed), or -1 if it could not be started.
int RunPgProgram(const std::vector<std::string>& args, const std::string& workdir,
                 std::string* output) {
  std::vector<std::string> argv;
  if (geteuid() == 0) argv = {"runuser", "-u", kServerUser, "--"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  // Output goes to an unlinked temp file rather than a pipe: pg_ctl leaves a
  // daemon behind, and nothing it inherits may keep us waiting.
  char out_path[] = "/tmp/pgoutbox-pgcmd-XXXXXX";
  int out_fd = mkostemp(out_path, O_CLOEXEC);
  if (out_fd < 0) {
    *output = std::string("mkostemp: ") + strerror(errno);
    return -1;
  }
  unlink(out_path);

  pid_t pid = fork();
  if (pid < 0) {
    *output = std::string("fork: ") + strerror(errno);
    close(out_fd);
    return -1;
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    if (chdir(workdir.c_str()) != 0) _exit(126);
    if (close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(cargv[0], cargv.data());
    const char msg[] = "exec failed\n";
    ssize_t ignored = write(2, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string text;
  char buf[4096];
  lseek(out_fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = read(out_fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(out_fd);
  *output = std::move(text);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Finds the server binaries of `version` (PgServerOptions::version): stores
// their directory in *bin_dir and the major version in *major. A version that
// is not installed is an error naming the script that installs it.
bool FindServer(int version, std::string* bin_dir, int* major, std::string* error) {
  if (version == 0) {
    const char* named = std::getenv(kVersionVariable);
    if (named == nullptr || *named == '\0') {
      *bin_dir = kDebianBinDir;
      *major = kDebianVersion;
      return true;
    }
    char* end = nullptr;
    const long parsed = std::strtol(named, &end, 10);
    if (*end != '\0' || parsed <= 0 || parsed > 1000) {
      *error = std::string(kVersionVariable) + "=" + named +
               " is not a PostgreSQL major version (such as 17)";
      return false;
    }
    version = static_cast<int>(parsed);
  }
  const std::string dir = std::string(PGOUTBOX_PG_VERSIONS_DIR) + "/" + std::to_string(version);
  for (const char* program : {"initdb", "pg_ctl", "postgres"}) {
    if (access((dir + "/bin/" + program).c_str(), X_OK) != 0) {
      *error = "PostgreSQL " + std::to_string(version) + " is not installed: no " + dir + "/bin/" +
               program + "; scripts/install-pg-versions.sh installs 14 to 18 there " +
               "(scripts/test.sh runs it)";
      return false;
    }
  }
  *bin_dir = dir + "/bin";
  *major = version;
  return true;
}

std::string JoinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::vector<std::string> InitdbArgs(const std::string& bin_dir, const std::string& data_dir) {
  return {bin_dir + "/initdb", "-D", data_dir, "--no-sync", "-A", "trust", "-U",
          "postgres",          "-E", "UTF8",   "--locale=C"};
}

// initdb takes most of a server's start-up time, so its output is made once
// per machine and server binary, and copied for every server. The template's
// name carries the major version and a hash of the initdb arguments, which
// name the binary: another server, or a fixture that initdb's differently,
// gets its own.
// Parallel test processes serialise on a lock file; the template appears
// under its final name only once complete (rename), so a crash mid-initdb
// leaves nothing half-made behind. On success stores its path in *path.
bool EnsureTemplate(const std::string& bin_dir, int major, uid_t uid, gid_t gid, std::string* path,
                    std::string* error) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (char c : JoinArgs(InitdbArgs(bin_dir, "data"))) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  char name[96];
  std::snprintf(name, sizeof(name), "/tmp/pgoutbox-pg%d-template-%u-%016" PRIx64, major,
                static_cast<unsigned>(uid), hash);
  *path = name;
  if (std::filesystem::exists(*path + "/PG_VERSION")) return true;

  const std::string lock_path = *path + ".lock";
  int lock_fd = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
    *error = "lock " + lock_path + ": " + strerror(errno);
    if (lock_fd >= 0) close(lock_fd);
    return false;
  }
  bool ok = true;
  if (!std::filesystem::exists(*path + "/PG_VERSION")) {
    char dir_template[] = "/tmp/pgoutbox-pg-initdb-XXXXXX";
    const bool made_dir = mkdtemp(dir_template) != nullptr;
    if (!made_dir) {
      *error = std::string("mkdtemp: ") + strerror(errno);
      ok = false;
    } else if (geteuid() == 0 && chown(dir_template, uid, gid) != 0) {
      *error = std::string("chown ") + dir_template + ": " + strerror(errno);
      ok = false;
    } else {
      const std::string made = std::string(dir_template) + "/data";
      std::string output;
      auto args = InitdbArgs(bin_dir, made);
      int rc = RunPgProgram(args, dir_template, &output);
      if (rc != 0) {
        *error = JoinArgs(args) + " exited with " + std::to_string(rc) + ":\n" + output;
        ok = false;
      } else if (rename(made.c_str(), path->c_str()) != 0) {
        *error = "rename " + made + " to " + *path + ": " + strerror(errno);
        ok = false;
      }
    }
    std::error_code ec;
    if (made_dir) std::filesystem::remove_all(dir_template, ec);
  }
  flock(lock_fd, LOCK_UN);
  close(lock_fd);
  return ok;
}

}  // namespace

struct PgServer::State {
  std::string temp_dir;  // owned by the server user; removed at the end
  std::string data_dir;
  std::string log_path;
  std::string conf_path;  // our settings, included from postgresql.conf
  std::string ca_file, other_ca_file, cert_file, key_file;  // with options.tls
  PgServerOptions options;
  std::string bin_dir;  // initdb, pg_ctl, postgres of options.version
  int major = 0;
  // A standby's primary_conninfo and primary_slot_name; "" on a primary.
  std::string primary_conninfo, primary_slot;
  int port = -1;
  bool running = false;
  uid_t server_uid = 0;
  gid_t server_gid = 0;

  // Finds the binaries (unless bin_dir is set already) and the server user,
  // and makes the temp dir owned by that user; the data directory in it is
  // for the caller to make.
  bool Prepare(std::string* error) {
    if (bin_dir.empty() && !FindServer(options.version, &bin_dir, &major, error)) return false;
    if (geteuid() == 0) {
      passwd* pw = getpwnam(kServerUser);
      if (pw == nullptr) {
        *error = std::string("running as root but there is no '") + kServerUser +
                 "' user to run PostgreSQL as (is postgresql-15 installed?)";
        return false;
      }
      server_uid = pw->pw_uid;
      server_gid = pw->pw_gid;
    } else {
      server_uid = geteuid();
      server_gid = getegid();
    }
    char dir_template[] = "/tmp/pgoutbox-pg-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) {
      *error = std::string("mkdtemp: ") + strerror(errno);
      return false;
    }
    temp_dir = dir_template;
    if (geteuid() == 0 && chown(temp_dir.c_str(), server_uid, server_gid) != 0) {
      *error = "chown " + temp_dir + ": " + strerror(errno);
      return false;
    }
    data_dir = temp_dir + "/data";
    log_path = temp_dir + "/server.log";
    conf_path = data_dir + "/pgoutbox_test.conf";
    return true;
  }

  // Copies the data directory `from` (a template or a stopped server's) to
  // data_dir, as the server user.
  bool CopyDataDir(const std::string& from, std::string* error) const {
    std::vector<std::string> copy = {"cp", "-a", from, data_dir};
    std::string output;
    int rc = RunPgProgram(copy, temp_dir, &output);
    if (rc != 0) {
      *error = JoinArgs(copy) + " exited with " + std::to_string(rc) + ":\n" + output;
      return false;
    }
    return true;
  }

  // Picks a free port, writes the config and starts the server; the port is
  // free when picked but may be taken before the server binds it (tests run
  // in parallel): tries a few ports.
  bool StartOnFreePort(std::string* error) {
    constexpr int kAttempts = 5;
    std::string failures, output;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      port = PickFreePort();
      if (port < 0) {
        *error = std::string("cannot pick a free port: ") + strerror(errno);
        return false;
      }
      if (!WriteConf(error)) return false;
      if (PgCtl({"-w", "-t", "60", "start"}, &output)) {
        running = true;
        return true;
      }
      failures += output + "\n--- server log ---\n" + LastLines(ReadFile(log_path), 30) + "\n";
      StopIfRunning();  // a start that timed out may have left a server
    }
    *error = "PostgreSQL " + std::to_string(major) + " (" + bin_dir + ") did not start after " +
             std::to_string(kAttempts) + " attempts:\n" + failures;
    return false;
  }

  // Runs pg_ctl with the given action arguments; failure text in *output.
  bool PgCtl(const std::vector<std::string>& action, std::string* output) const {
    std::vector<std::string> args = {bin_dir + "/pg_ctl", "-D", data_dir, "-l", log_path};
    args.insert(args.end(), action.begin(), action.end());
    int rc = RunPgProgram(args, temp_dir, output);
    if (rc != 0) {
      *output = JoinArgs(args) + " exited with " + std::to_string(rc) + ":\n" + *output;
      return false;
    }
    return true;
  }

  // Stops the server (immediate mode) if a postmaster may be running: also
  // after a failed start or restart, which can leave one behind.
  void StopIfRunning() {
    if (!running && !std::filesystem::exists(data_dir + "/postmaster.pid")) return;
    std::string output;
    if (!PgCtl({"-w", "-m", "immediate", "stop"}, &output) && running) {
      std::cerr << "PgServer: stopping the server failed: " << output << "\n";
    }
    running = false;
  }

  // Writes a file the server user can read (and owns, when we are root).
  bool WriteServerFile(const std::string& path, const std::string& text, std::string* error) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      *error = "cannot write " + path;
      return false;
    }
    if (geteuid() == 0 && chown(path.c_str(), server_uid, server_gid) != 0) {
      *error = "chown " + path + ": " + strerror(errno);
      return false;
    }
    return true;
  }

  // Runs `openssl` (as the server user, in the temp dir) with `args`.
  bool Openssl(const std::vector<std::string>& args, std::string* error) const {
    std::vector<std::string> argv = {"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string output;
    int rc = RunPgProgram(argv, temp_dir, &output);
    if (rc != 0) {
      *error = JoinArgs(argv) + " exited with " + std::to_string(rc) + ":\n" + output;
      return false;
    }
    return true;
  }

  // `openssl req` arguments for a new unencrypted EC P-256 key in `file`:
  // made in milliseconds, unlike an RSA key.
  static std::vector<std::string> NewKeyArgs(const std::string& file) {
    return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", file};
  }

  // A key and a certificate signing request for the server.
  static std::vector<std::string> ServerCsrArgs() {
    std::vector<std::string> args = {"req", "-new", "-out", "server.csr", "-subj", "/CN=localhost"};
    for (auto& arg : NewKeyArgs("server.key")) args.push_back(std::move(arg));
    return args;
  }

  // A self-signed CA certificate `name`.crt with its key `name`.key.
  bool MakeCa(const std::string& name, const std::string& subject, std::string* error) const {
    const std::string cert = name + ".crt";
    std::vector<std::string> args = {"req",   "-x509", "-new", "-days", "2",
                                     "-subj", subject, "-out", cert};
    args.insert(args.end(), {"-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                             "keyUsage=critical,keyCertSign,cRLSign"});
    for (auto& arg : NewKeyArgs(name + ".key")) args.push_back(std::move(arg));
    return Openssl(args, error);
  }

  // The CA, the server's key and certificate signed by it, and an unrelated
  // second CA. The key must be 0600 and owned by the server user, or the
  // server refuses to start.
  bool MakeCertificates(std::string* error) {
    ca_file = temp_dir + "/ca.crt";
    other_ca_file = temp_dir + "/other-ca.crt";
    cert_file = temp_dir + "/server.crt";
    key_file = temp_dir + "/server.key";
    if (!MakeCa("ca", "/CN=pgoutbox test CA", error) ||
        !MakeCa("other-ca", "/CN=pgoutbox unrelated test CA", error)) {
      return false;
    }
    if (!WriteServerFile(temp_dir + "/server.ext",
                         "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                         "basicConstraints = critical, CA:FALSE\n"
                         "keyUsage = critical, digitalSignature, keyEncipherment\n"
                         "extendedKeyUsage = serverAuth\n",
                         error) ||
        !Openssl(ServerCsrArgs(), error) ||
        !Openssl({"x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext"},
                 error)) {
      return false;
    }
    if (chmod(key_file.c_str(), 0600) != 0) {
      *error = "chmod " + key_file + ": " + strerror(errno);
      return false;
    }
    return true;
  }

  bool WriteConf(std::string* error) {
    std::ostringstream conf;
    conf << "# Written by the pgoutbox test fixture.\n"
         << "wal_level = " << options.wal_level << "\n"
         << "max_wal_senders = 20\n"
         << "max_replication_slots = 20\n"
         << "fsync = off\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "port = " << port << "\n"
         << "unix_socket_directories = " << QuoteLiteral(temp_dir) << "\n"
         << "logging_collector = off\n"
         << "log_line_prefix = '%m [%p] '\n";
    if (options.tls) {
      conf << "ssl = on\n"
           << "ssl_cert_file = " << QuoteLiteral(cert_file) << "\n"
           << "ssl_key_file = " << QuoteLiteral(key_file) << "\n";
    }
    if (!primary_conninfo.empty()) {
      // A standby: retry a lost primary connection quickly (default 5 s).
      conf << "primary_conninfo = " << QuoteLiteral(primary_conninfo) << "\n"
           << "wal_retrieve_retry_interval = '200ms'\n"
           << "hot_standby = on\n";
      if (!primary_slot.empty()) {
        conf << "primary_slot_name = " << QuoteLiteral(primary_slot) << "\n";
      }
    }
    for (const auto& line : options.extra_settings) conf << line << "\n";
    return WriteServerFile(conf_path, conf.str(), error);
  }

  bool WriteHba(std::string* error) {
    // "host" matches TCP connections with or without TLS, "hostssl" only
    // those with.
    const std::string host = options.tls ? "hostssl" : "host";
    return WriteServerFile(data_dir + "/pg_hba.conf",
                           "# Written by the pgoutbox test fixture.\n"
                           "local all all trust\n" +
                               host + " all pwuser 127.0.0.1/32 scram-sha-256\n" + host +
                               " replication pwuser 127.0.0.1/32 scram-sha-256\n" + host +
                               " all all 127.0.0.1/32 trust\n" + host +
                               " replication all 127.0.0.1/32 trust\n",
                           error);
  }
};

std::unique_ptr<PgServer> PgServer::Start(const PgServerOptions& options) {
  std::unique_ptr<PgServer> server(new PgServer());
  server->state_ = std::make_unique<State>();
  State& st = *server->state_;
  st.options = options;

  std::string error, template_dir;
  if (!st.Prepare(&error)) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  if (options.own_initdb) {
    std::string output;
    const auto args = InitdbArgs(st.bin_dir, st.data_dir);
    if (int rc = RunPgProgram(args, st.temp_dir, &output); rc != 0) {
      ADD_FAILURE() << JoinArgs(args) << " exited with " << rc << ":\n" << output;
      return nullptr;
    }
  } else {
    if (!EnsureTemplate(st.bin_dir, st.major, st.server_uid, st.server_gid, &template_dir,
                        &error)) {
      ADD_FAILURE() << "cannot make the initdb template: " << error;
      return nullptr;
    }
    if (!st.CopyDataDir(template_dir, &error)) {
      ADD_FAILURE() << error;
      return nullptr;
    }
  }
  if (options.tls && !st.MakeCertificates(&error)) {
    ADD_FAILURE() << "cannot make the TLS certificates: " << error;
    return nullptr;
  }
  if (!st.WriteHba(&error)) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  {
    std::ofstream main_conf(st.data_dir + "/postgresql.conf", std::ios::app);
    main_conf << "\ninclude 'pgoutbox_test.conf'\n";
    if (!main_conf) {
      ADD_FAILURE() << "cannot append to postgresql.conf";
      return nullptr;
    }
  }
  if (!st.StartOnFreePort(&error)) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  return server;
}

PgServer::~PgServer() {
  if (!state_) return;
  if (::testing::Test::HasFailure() && !state_->log_path.empty()) {
    std::string log = ServerLog();
    if (!log.empty()) {
      std::cerr << "---- PostgreSQL server log (port " << state_->port << ", last " << kLogTailLines
                << " lines) ----\n"
                << LastLines(log, kLogTailLines) << "\n---- end of server log ----\n";
    }
  }
  state_->StopIfRunning();
  if (!state_->temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(state_->temp_dir, ec);
  }
}

int PgServer::port() const { return state_->port; }

const std::string& PgServer::data_dir() const { return state_->data_dir; }

int PgServer::version() const { return state_->major; }

const std::string& PgServer::bin_dir() const { return state_->bin_dir; }

bool PgServer::running() const { return state_->running; }

const std::string& PgServer::tls_ca_file() const { return state_->ca_file; }

const std::string& PgServer::tls_other_ca_file() const { return state_->other_ca_file; }

std::string PgServer::ConnInfo(const std::string& dbname, const std::string& user) const {
  return "host=127.0.0.1 port=" + std::to_string(state_->port) + " dbname=" + dbname +
         " user=" + user;
}

std::string PgServer::CreateDatabase(const std::string& name) {
  Exec("postgres", "CREATE DATABASE \"" + name + "\"");
  return name;
}

void PgServer::CreatePasswordUser(const std::string& password) {
  Exec("postgres",
       "CREATE ROLE pwuser LOGIN REPLICATION SUPERUSER PASSWORD " + QuoteLiteral(password));
}

bool PgServer::Exec(const std::string& dbname, const std::string& sql) const {
  SqlOutcome out = RunSql(ConnInfo(dbname) + " connect_timeout=10", sql);
  if (!out.ok) {
    ADD_FAILURE() << "SQL failed in database " << dbname << ": " << out.error << "SQL: " << sql;
  }
  return out.ok;
}

std::vector<std::vector<std::string>> PgServer::Query(const std::string& dbname,
                                                      const std::string& sql) const {
  SqlOutcome out = RunSql(ConnInfo(dbname) + " connect_timeout=10", sql);
  if (!out.ok) {
    ADD_FAILURE() << "query failed in database " << dbname << ": " << out.error << "SQL: " << sql;
  }
  return out.rows;
}

std::string PgServer::QueryValue(const std::string& dbname, const std::string& sql) const {
  auto rows = Query(dbname, sql);
  if (rows.empty() || rows[0].empty()) return "";
  return rows[0][0];
}

std::string PgServer::ConfirmedFlushLsn(const std::string& slot) const {
  return QueryValue("postgres",
                    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = " +
                        QuoteLiteral(slot));
}

void PgServer::DropSlot(const std::string& slot) const {
  const std::string conninfo = ConnInfo("postgres") + " connect_timeout=10";
  const std::string sql =
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
      "WHERE slot_name = " +
      QuoteLiteral(slot);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    SqlOutcome out = RunSql(conninfo, sql);
    if (out.ok) return;
    // 55006 object_in_use: a walsender still holds the slot; it goes away
    // shortly after its client disconnects.
    if (out.sqlstate != "55006" || std::chrono::steady_clock::now() >= deadline) {
      auto holder =
          RunSql(conninfo, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = " +
                               QuoteLiteral(slot));
      ADD_FAILURE() << "cannot drop replication slot " << slot << " (active_pid "
                    << (holder.rows.empty() ? std::string("?") : holder.rows[0][0])
                    << "): " << out.error;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool PgServer::Restart() {
  std::string output;
  if (!state_->PgCtl({"-w", "-t", "60", "-m", "fast", "restart"}, &output)) {
    state_->running = false;
    ADD_FAILURE() << "PostgreSQL restart failed: " << output;
    return false;
  }
  state_->running = true;
  return true;
}

bool PgServer::Stop(StopMode mode) {
  if (!state_->running) return true;
  std::string output;
  const char* how = mode == StopMode::kFast ? "fast" : "immediate";
  if (!state_->PgCtl({"-w", "-t", "60", "-m", how, "stop"}, &output)) {
    ADD_FAILURE() << "PostgreSQL stop (" << how << ") failed: " << output;
    return false;
  }
  state_->running = false;
  return true;
}

bool PgServer::StartAgain() {
  if (state_->running) return true;
  std::string output;
  if (!state_->PgCtl({"-w", "-t", "60", "start"}, &output)) {
    ADD_FAILURE() << "PostgreSQL did not start again on port " << state_->port << ": " << output
                  << "\n--- server log ---\n"
                  << LastLines(ServerLog(), 30);
    state_->StopIfRunning();
    return false;
  }
  state_->running = true;
  return true;
}

std::unique_ptr<PgServer> PgServer::StartStandby(const StandbyOptions& options) {
  if (!state_->running) {
    ADD_FAILURE() << "StartStandby: the primary (port " << state_->port << ") is not running";
    return nullptr;
  }
  if (!options.slot.empty() && !Exec("postgres", "SELECT pg_create_physical_replication_slot(" +
                                                     QuoteLiteral(options.slot) + ", true)")) {
    return nullptr;
  }
  std::unique_ptr<PgServer> standby(new PgServer());
  standby->state_ = std::make_unique<State>();
  State& st = *standby->state_;
  st.options = state_->options;
  st.options.tls = false;
  st.options.extra_settings.insert(st.options.extra_settings.end(), options.extra_settings.begin(),
                                   options.extra_settings.end());
  st.bin_dir = state_->bin_dir;
  st.major = state_->major;
  st.primary_conninfo = ConnInfo("postgres") + " application_name=standby";
  st.primary_slot = options.slot;

  std::string error;
  if (!st.Prepare(&error)) {
    ADD_FAILURE() << "StartStandby: " << error;
    return nullptr;
  }
  // A cold copy: the data directory of a cleanly stopped server is
  // consistent as it lies, with no backup label or WAL archive needed.
  if (!Stop(StopMode::kFast)) return nullptr;
  const bool copied = st.CopyDataDir(state_->data_dir, &error);
  if (!StartAgain()) return nullptr;
  if (!copied) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  if (!options.slot.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(st.data_dir + "/pg_replslot/" + options.slot, ec);
  }
  if (!st.WriteHba(&error) || !st.WriteServerFile(st.data_dir + "/standby.signal", "", &error) ||
      !st.StartOnFreePort(&error)) {
    ADD_FAILURE() << "StartStandby: " << error;
    return nullptr;
  }
  return standby;
}

bool PgServer::Promote() {
  std::string output;
  if (!state_->PgCtl({"-w", "-t", "60", "promote"}, &output)) {
    ADD_FAILURE() << "PostgreSQL promote failed: " << output;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string conninfo = ConnInfo("postgres") + " connect_timeout=10";
  while (true) {
    SqlOutcome out = RunSql(conninfo, "SELECT pg_is_in_recovery()");
    if (out.ok && !out.rows.empty() && out.rows[0][0] == "f") return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "the standby on port " << state_->port
                    << " is still in recovery 60 s after pg_ctl promote"
                    << (out.ok ? "" : ": " + out.error);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool PgServer::InRecovery() const {
  return QueryValue("postgres", "SELECT pg_is_in_recovery()") == "t";
}

bool PgServer::WaitForReplay(const std::string& lsn, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string conninfo = ConnInfo("postgres") + " connect_timeout=10";
  while (true) {
    SqlOutcome out = RunSql(conninfo, "SELECT pg_last_wal_replay_lsn()");
    if (out.ok && !out.rows.empty() && CompareLsn(out.rows[0][0], lsn) >= 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string PgServer::SystemIdentifier() const {
  return QueryValue("postgres", "SELECT system_identifier FROM pg_control_system()");
}

std::string PgServer::ServerLog() const { return ReadFile(state_->log_path); }

int CompareLsn(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& text) -> uint64_t {
    unsigned int hi = 0, lo = 0;
    if (std::sscanf(text.c_str(), "%X/%X", &hi, &lo) != 2) return 0;
    return (static_cast<uint64_t>(hi) << 32) | lo;
  };
  uint64_t x = parse(a), y = parse(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace pgoutbox::testing
