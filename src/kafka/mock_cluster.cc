#include "kafka/mock_cluster.h"

#include <charconv>

namespace pgoutbox::kafka {

Result<std::optional<int>> ParseMockSpec(const std::string& brokers) {
  constexpr std::string_view kPrefix = "mock:";
  if (brokers.rfind(kPrefix, 0) != 0) return std::optional<int>();
  std::string_view n(brokers);
  n.remove_prefix(kPrefix.size());
  int count = 0;
  auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
  if (ec != std::errc() || ptr != n.data() + n.size() || count < 1 || count > 16) {
    return Status::InvalidArgument("--brokers " + brokers +
                                   ": expected mock:N with N between 1 and 16");
  }
  return std::optional<int>(count);
}

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  std::unique_ptr<MockCluster> m(new MockCluster());
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "client.id", "pgoutbox-mock-cluster", errstr, sizeof errstr);
  // The hosting handle never talks to a broker; keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  m->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (m->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(std::string("cannot create the mock cluster's handle: ") + errstr);
  }
  m->cluster_ = rd_kafka_mock_cluster_new(m->rk_, brokers);
  if (m->cluster_ == nullptr) return Status::Internal("cannot start the mock Kafka cluster");
  m->bootstraps_ = rd_kafka_mock_cluster_bootstraps(m->cluster_);
  return m;
}

MockCluster::~MockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

}  // namespace pgoutbox::kafka
