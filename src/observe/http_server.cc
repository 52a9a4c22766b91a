#include "observe/http_server.h"

#include <httplib.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <string_view>
#include <system_error>
#include <utility>

namespace pgoutbox::observe {

namespace {

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextContentType[] = "text/plain; charset=utf-8";

struct HostPort {
  std::string host;
  int port = 0;
};

Status BadAddress(const std::string& address, const std::string& why) {
  return Status::InvalidArgument("--http-addr " + address + ": " + why +
                                 " (expected host:port, e.g. 127.0.0.1:9187)");
}

// "host:port", "[v6]:port" or ":port" (every IPv4 interface).
Result<HostPort> ParseAddress(const std::string& address) {
  std::string_view rest(address);
  HostPort hp;
  if (rest.starts_with('[')) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return BadAddress(address, "missing ']'");
    hp.host = std::string(rest.substr(1, close - 1));
    if (hp.host.empty()) return BadAddress(address, "empty IPv6 address");
    rest.remove_prefix(close + 1);
    if (!rest.starts_with(':')) return BadAddress(address, "missing port");
    rest.remove_prefix(1);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return BadAddress(address, "missing port");
    hp.host = std::string(rest.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) {
      return BadAddress(address, "an IPv6 address needs brackets, as in [::1]:9187");
    }
    if (hp.host.empty()) hp.host = "0.0.0.0";
    rest.remove_prefix(colon + 1);
  }
  if (rest.empty()) return BadAddress(address, "missing port");
  const char* end = rest.data() + rest.size();
  auto [ptr, ec] = std::from_chars(rest.data(), end, hp.port);
  if (ec != std::errc() || ptr != end || hp.port < 0 || hp.port > 65535) {
    return BadAddress(address, "port " + std::string(rest) + " is not a number from 0 to 65535");
  }
  return hp;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

// httplib resolves the host itself but cannot tell why it failed; resolving
// first turns a typo into a clear message instead of a bind error.
Status CheckResolves(const std::string& address, const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, AddrInfoDeleter> result(raw);
  if (rc != 0) {
    return Status::InvalidArgument("--http-addr " + address + ": cannot resolve host " + host +
                                   ": " + gai_strerror(rc));
  }
  return Status::Ok();
}

// `err` is the errno httplib's failed bind() or listen() left behind.
Status BindError(const std::string& address, int err) {
  std::string what = "--http-addr " + address + ": cannot listen: " +
                     (err != 0 ? std::generic_category().message(err) : "bind failed");
  switch (err) {
    case EADDRINUSE:
      return Status::Unavailable(what + " (another process is serving on this port)");
    case EADDRNOTAVAIL:  // not an address of this machine
    case EACCES:         // a privileged port
    case EAFNOSUPPORT:
      return Status::InvalidArgument(what);
    default:
      return Status::Unavailable(what);
  }
}

// httplib's default sets SO_REUSEPORT, which lets a second process bind the
// same port and silently share the scrapes. SO_REUSEADDR alone still allows a
// quick restart while old connections sit in TIME_WAIT.
void SetSocketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

void Route(httplib::Server* server, const Metrics* metrics, const Health* health) {
  server->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->Render(), kMetricsContentType);
  });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", kTextContentType);
  });
  server->Get("/readyz", [health](const httplib::Request&, httplib::Response& res) {
    std::string reason = health->NotReadyReason();
    if (reason.empty()) {
      res.set_content("ready", kTextContentType);
    } else {
      res.status = 503;
      res.set_content(reason, kTextContentType);
    }
  });
  server->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {} failed: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content("internal error", kTextContentType);
      });
  server->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("http: {} {} from {} -> {}", req.method, req.path, req.remote_addr, res.status);
  });
}

}  // namespace

HttpServer::HttpServer(std::string address, std::unique_ptr<httplib::Server> server)
    : address_(std::move(address)), server_(std::move(server)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                      const Metrics* metrics,
                                                      const Health* health) {
  ASSIGN_OR_RETURN(HostPort hp, ParseAddress(address));
  RETURN_IF_ERROR(CheckResolves(address, hp.host));
  // httplib reports failures by return value but may throw (allocation,
  // thread creation, regex); nothing of that leaves this function.
  try {
    auto server = std::make_unique<httplib::Server>();
    // Scrapes and probes are rare and quick: two workers are plenty.
    server->new_task_queue = [] { return new httplib::ThreadPool(2); };
    server->set_socket_options(SetSocketOptions);
    // An idle keep-alive connection occupies a worker; let it go soon so a
    // scraper cannot starve the probes, and Stop() does not wait long.
    server->set_keep_alive_timeout(1);
    server->set_read_timeout(5, 0);
    server->set_write_timeout(5, 0);
    Route(server.get(), metrics, health);

    errno = 0;
    int port = hp.port;
    if (port == 0) {
      port = server->bind_to_any_port(hp.host);
    } else if (!server->bind_to_port(hp.host, port)) {
      port = -1;
    }
    if (port < 0) return BindError(address, errno);

    std::unique_ptr<HttpServer> s(new HttpServer(address, std::move(server)));
    s->port_ = port;
    s->thread_ = std::thread(&HttpServer::Serve, s.get());
    // httplib's stop() does nothing until the accept loop has begun, so a
    // Stop() right after Start() must find it running.
    while (!s->server_->is_running() && !s->serve_returned_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const bool v6 = hp.host.find(':') != std::string::npos;
    spdlog::info("serving /metrics, /healthz and /readyz on http://{}{}{}:{}", v6 ? "[" : "",
                 hp.host, v6 ? "]" : "", port);
    return s;
  } catch (const std::exception& e) {
    return Status::Unavailable("--http-addr " + address +
                               ": cannot start the HTTP server: " + e.what());
  }
}

void HttpServer::Serve() {
  try {
    if (!server_->listen_after_bind()) {
      spdlog::error("--http-addr {}: the HTTP server stopped accepting connections", address_);
    }
  } catch (const std::exception& e) {
    spdlog::error("--http-addr {}: the HTTP server failed: {}", address_, e.what());
  } catch (...) {
    spdlog::error("--http-addr {}: the HTTP server failed", address_);
  }
  serve_returned_.store(true);
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  if (server_->is_running()) server_->stop();
  thread_.join();
  spdlog::debug("stopped serving on {}", address_);
}

}  // namespace pgoutbox::observe
