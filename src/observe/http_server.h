// HttpServer: the operations endpoint on --http-addr.
//
//   GET /metrics  200, Metrics::Render() as text/plain; version=0.0.4
//   GET /healthz  200 "ok" while the process is alive (liveness)
//   GET /readyz   200 "ready", or 503 with Health::NotReadyReason() (readiness)
//   anything else 404
//
// Lifecycle: Start() binds the address and serves on a thread of its own with
// a pool of two request workers; it returns once the socket is listening.
// Stop(), or the destructor, stops accepting, lets the requests being served
// finish and joins the threads.
//
// Ownership: metrics and health are borrowed and must outlive the server.
// Thread safety: call Start, Stop and the destructor from one thread; the
// handlers run on the workers and only read Metrics and Health, which are
// thread-safe. No exception leaves this class.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "observe/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace pgoutbox::observe {

class HttpServer {
 public:
  // Serves on `address`, "host:port" ("127.0.0.1:9187", "[::1]:9187",
  // ":9187" for every interface); port 0 picks a free port (see port()).
  // On failure returns, naming --http-addr: InvalidArgument for an address
  // that does not parse, does not resolve or is not local, Unavailable when
  // the port is in use or the socket cannot be created.
  // REQUIRES: metrics and health are not null.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                   const Metrics* metrics, const Health* health);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when started with port 0).
  int port() const { return port_; }

  // Stops serving and joins the threads. Idempotent.
  void Stop();

 private:
  HttpServer(std::string address, std::unique_ptr<httplib::Server> server);
  void Serve();

  const std::string address_;  // as given, for log lines
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> serve_returned_{false};
};

}  // namespace pgoutbox::observe
