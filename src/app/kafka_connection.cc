#include "app/kafka_connection.h"

#include <spdlog/spdlog.h>

#include "common/duration.h"
#include "common/text.h"

namespace pgoutbox::app {

Result<KafkaConnection> KafkaConnection::Connect(
    const std::string& brokers, const std::vector<std::pair<std::string, std::string>>& config,
    std::chrono::milliseconds timeout, const std::atomic<int>* stop_requests,
    kafka::DeliveryHandler* handler) {
  KafkaConnection kafka;
  ASSIGN_OR_RETURN(auto mock_brokers, kafka::ParseMockSpec(brokers));
  std::string bootstraps = brokers;
  if (mock_brokers) {
    ASSIGN_OR_RETURN(kafka.mock, kafka::MockCluster::Start(*mock_brokers));
    bootstraps = kafka.mock->bootstraps();
    spdlog::info("started the mock Kafka cluster with {} at {}", Counted(*mock_brokers, "broker"),
                 bootstraps);
  }
  ASSIGN_OR_RETURN(kafka.publisher, kafka::Publisher::Create({bootstraps, config}, handler));
  spdlog::info("connecting to the Kafka brokers {} (waiting up to {})", bootstraps,
               FormatDuration(timeout));
  RETURN_IF_ERROR(kafka.publisher->CheckReachable(timeout, stop_requests));
  return kafka;
}

}  // namespace pgoutbox::app
