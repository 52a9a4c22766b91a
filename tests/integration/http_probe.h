// HTTP probes of a running pgoutbox: find the port it serves /metrics on,
// GET a path, read one sample out of the Prometheus exposition.
//
// Failures are gtest failures (ADD_FAILURE / EXPECT), never exceptions.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "support/child_process.h"

namespace pgoutbox::testing {

// The port from the start-up line "serving /metrics, /healthz and /readyz on
// http://127.0.0.1:<port>"; 0 (and a gtest failure) if it is not logged in
// time.
int HttpPort(ChildProcess& child,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

struct HttpReply {
  int status = -1;  // -1: no answer
  std::string body;
};

// GET http://127.0.0.1:<port><path> (2 s to connect, 5 s to read).
HttpReply HttpGet(int port, const std::string& path);

// The value of the sample named exactly `series` (with its labels, as
// rendered: `pgoutbox_reconnects_total{target="postgres"}`), nullopt if the
// exposition has no such line.
std::optional<double> MetricValue(const std::string& exposition, const std::string& series);

// GET /metrics; a gtest failure unless it answers 200.
std::string Metrics(int port);

}  // namespace pgoutbox::testing
