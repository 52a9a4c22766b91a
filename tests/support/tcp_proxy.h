// TcpProxy: a loopback TCP proxy for tests that need a connection to die
// without a word. It listens on 127.0.0.1 on a free port and forwards every
// connection it accepts to 127.0.0.1:<target port>, byte for byte, both ways.
//
// Freeze() stops forwarding on the connections open at that moment (those
// whose first bytes from the client hold a marker, such as the
// "replication\0database\0" of a libpq replication connection's startup
// packet) without closing either side: both peers keep an open, silent connection (what a
// peer or a middlebox that vanished looks like), and whatever either sends
// stays in the proxy's socket buffers. Connections accepted after Freeze()
// are forwarded as usual, so a client that reconnects gets through.
//
// Thread safety: the proxy runs on a thread of its own; its methods may be
// called from any thread. The destructor stops it and closes everything.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pgoutbox::testing {

class TcpProxy {
 public:
  // Starts forwarding to 127.0.0.1:`target_port`. On failure adds a gtest
  // failure and returns nullptr.
  static std::unique_ptr<TcpProxy> Start(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // The port it listens on.
  int port() const { return port_; }
  // Stops forwarding on the connections open now whose first kHelloBytes
  // bytes from the client contain `marker` (every one if it is empty).
  void Freeze(const std::string& marker = "");
  static constexpr size_t kHelloBytes = 1024;
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  TcpProxy() = default;
  void Run();

  struct Pair {
    int client = -1, server = -1;
    bool frozen = false;
    std::string hello;  // the first bytes from the client
  };
  int target_port_ = 0;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: Freeze() and the destructor wake Run()
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::optional<std::string> freeze_;  // guarded by mu_: a Freeze() to do
  std::atomic<int> accepted_{0};
  std::vector<Pair> pairs_;  // Run()'s thread only
  std::thread thread_;
};

}  // namespace pgoutbox::testing
