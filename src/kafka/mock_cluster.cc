#include "kafka/mock_cluster.h"

#include <algorithm>
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
  m->brokers_ = brokers;
  return m;
}

Status MockCluster::CreateTopic(const std::string& name, int partitions) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, std::min(3, brokers_));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("topic " + name + ": " + rd_kafka_err2str(err));
  }
  for (int p = 0; p < partitions; ++p) {
    err = rd_kafka_mock_partition_set_leader(cluster_, name.c_str(), p, p % brokers_ + 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Internal("topic " + name + " partition " + std::to_string(p) +
                              ": cannot set its leader: " + rd_kafka_err2str(err));
    }
  }
  return Status::Ok();
}

MockCluster::~MockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

}  // namespace pgoutbox::kafka
