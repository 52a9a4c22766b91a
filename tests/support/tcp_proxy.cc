#include "support/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgoutbox::testing {

namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Writes all of `data` to blocking `fd`; false if the peer is gone.
bool WriteAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= n;
  }
  return true;
}

}  // namespace

std::unique_ptr<TcpProxy> TcpProxy::Start(int target_port) {
  std::unique_ptr<TcpProxy> proxy(new TcpProxy());
  proxy->target_port_ = target_port;
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (proxy->listen_fd_ < 0 ||
      bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(proxy->listen_fd_, 16) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe(proxy->wake_) != 0) {
    ADD_FAILURE() << "tcp proxy: cannot listen: " << std::strerror(errno);
    return nullptr;
  }
  proxy->port_ = ntohs(addr.sin_port);
  proxy->thread_ = std::thread([p = proxy.get()] { p->Run(); });
  return proxy;
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  if (wake_[1] >= 0) (void)!write(wake_[1], "s", 1);
  if (thread_.joinable()) thread_.join();
  for (const Pair& pair : pairs_) {
    close(pair.client);
    close(pair.server);
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

void TcpProxy::Freeze(const std::string& marker) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    freeze_ = marker;
  }
  (void)!write(wake_[1], "f", 1);
}

void TcpProxy::Run() {
  char buf[64 * 1024];
  while (!stop_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (freeze_) {
        for (Pair& pair : pairs_) {
          if (pair.hello.find(*freeze_) != std::string::npos) pair.frozen = true;
        }
        freeze_.reset();
      }
    }
    // The listener, the wake-up pipe, then both ends of each live pair.
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    std::vector<size_t> owner;  // fds[i + 2] belongs to pairs_[owner[i]]
    for (size_t i = 0; i < pairs_.size(); ++i) {
      if (pairs_[i].frozen || pairs_[i].client < 0) continue;
      fds.push_back({pairs_[i].client, POLLIN, 0});
      fds.push_back({pairs_[i].server, POLLIN, 0});
      owner.push_back(i);
      owner.push_back(i);
    }
    if (poll(fds.data(), fds.size(), 1000) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      char drain[16];
      (void)!read(wake_[0], drain, sizeof(drain));
      continue;  // freeze (or stop) before forwarding anything more
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Pair& pair = pairs_[owner[i - 2]];
      if (pair.client < 0) continue;  // closed earlier in this round
      const int from = fds[i].fd;
      const int to = from == pair.client ? pair.server : pair.client;
      const ssize_t n = recv(from, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && from == pair.client && pair.hello.size() < kHelloBytes) {
        pair.hello.append(buf, std::min<size_t>(n, kHelloBytes - pair.hello.size()));
      }
      if (n <= 0 || !WriteAll(to, buf, n)) {
        // One side closed: close both, as the peer would see it.
        close(pair.client);
        close(pair.server);
        pair.client = pair.server = -1;
      }
    }
    if ((fds[0].revents & POLLIN) != 0) {
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in target = Loopback(target_port_);
      if (server < 0 ||
          connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
        close(client);
        if (server >= 0) close(server);
        continue;
      }
      ++accepted_;
      pairs_.push_back({client, server, false});
    }
  }
}

}  // namespace pgoutbox::testing
