#include "observe/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <string>

#include "observe/metrics.h"

namespace pgoutbox::observe {
namespace {

using std::chrono::seconds;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = HttpServer::Start("127.0.0.1:0", &metrics_, &health_);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
    ASSERT_GT(server_->port(), 0);
  }

  httplib::Result Get(const std::string& path) {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    return client.Get(path.c_str());
  }

  Metrics metrics_;
  Health health_{seconds(60)};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesMetrics) {
  metrics_.EventsPublished("orders", 3);
  metrics_.SetUp(true);
  auto res = Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u)
      << res->get_header_value("Content-Type");
  EXPECT_EQ(res->body, metrics_.Render());
  EXPECT_NE(res->body.find("pgoutbox_events_published_total{topic=\"orders\"} 3\n"),
            std::string::npos);
  EXPECT_NE(res->body.find("pgoutbox_up 1\n"), std::string::npos);
}

TEST_F(HttpServerTest, HealthzIsOkWhileAlive) {
  auto res = Get("/healthz");  // even though the stream is not connected
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST_F(HttpServerTest, ReadyzFollowsHealth) {
  auto res = Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "replication stream not connected: starting");

  health_.SetStreaming(true);
  res = Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ready");

  // Events in flight since two minutes ago, position never moved.
  health_.NoteProgress(1234, false, Health::Clock::now() - seconds(120));
  res = Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body.rfind("stalled: 1234 events in flight", 0), 0u) << res->body;
  EXPECT_NE(res->body.find("(--stall-timeout 1m)"), std::string::npos) << res->body;

  health_.NoteProgress(0, false);
  res = Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  auto res = Get("/nope");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 404);
}

TEST_F(HttpServerTest, PortInUseFails) {
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  auto second = HttpServer::Start(address, &metrics_, &health_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(second.status().message().find("--http-addr " + address), std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status().message();
  // The first server is unaffected.
  auto res = Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, StopReleasesThePort) {
  const int port = server_->port();
  server_->Stop();
  server_->Stop();  // idempotent
  EXPECT_FALSE(Get("/healthz"));

  auto again = HttpServer::Start("127.0.0.1:" + std::to_string(port), &metrics_, &health_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->port(), port);
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->body, "ok");
}

TEST(HttpServerStartTest, StopRightAfterStartDoesNotHang) {
  Metrics metrics;
  Health health(seconds(60));
  for (int i = 0; i < 20; ++i) {
    auto s = HttpServer::Start("127.0.0.1:0", &metrics, &health);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
}

TEST(HttpServerStartTest, BadAddressesAreInvalidArguments) {
  Metrics metrics;
  Health health(seconds(60));
  for (const char* address : {"foo", "127.0.0.1", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:70000",
                              "127.0.0.1:-1", "::1:9187", "[::1", "[]:9187", "[::1]9187", ""}) {
    auto s = HttpServer::Start(address, &metrics, &health);
    ASSERT_FALSE(s.ok()) << address;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << address;
    EXPECT_EQ(s.status().message().rfind(std::string("--http-addr ") + address + ":", 0), 0u)
        << s.status().message();
  }
}

TEST(HttpServerStartTest, MissingPortIsNamed) {
  Metrics metrics;
  Health health(seconds(60));
  auto s = HttpServer::Start("foo", &metrics, &health);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "--http-addr foo: missing port (expected host:port, e.g. 127.0.0.1:9187)");
}

TEST(HttpServerStartTest, AddressNotOnThisMachine) {
  Metrics metrics;
  Health health(seconds(60));
  // TEST-NET-1 (RFC 5737): never assigned to a local interface.
  auto s = HttpServer::Start("192.0.2.1:0", &metrics, &health);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << s.status().ToString();
  EXPECT_NE(s.status().message().find("--http-addr 192.0.2.1:0: cannot listen"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace pgoutbox::observe
