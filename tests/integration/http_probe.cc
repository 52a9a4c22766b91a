#include "integration/http_probe.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <sstream>
#include <thread>

namespace pgoutbox::testing {

int HttpPort(ChildProcess& child, std::chrono::milliseconds timeout) {
  const std::string marker = "serving /metrics, /healthz and /readyz on http://127.0.0.1:";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string out = child.Output();
    size_t pos = out.find(marker);
    if (pos != std::string::npos) {
      pos += marker.size();
      size_t end = pos;
      while (end < out.size() && out[end] >= '0' && out[end] <= '9') ++end;
      if (end > pos && end < out.size()) return std::stoi(out.substr(pos, end - pos));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "no \"" << marker << "<port>\" line within " << timeout.count() << " ms:\n"
                    << out;
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

HttpReply HttpGet(int port, const std::string& path) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(5);
  auto res = cli.Get(path);
  if (!res) return {};
  return {res->status, res->body};
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

std::string Metrics(int port) {
  HttpReply reply = HttpGet(port, "/metrics");
  EXPECT_EQ(reply.status, 200) << "GET /metrics: " << reply.body;
  return reply.body;
}

}  // namespace pgoutbox::testing
