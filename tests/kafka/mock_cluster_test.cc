// MockCluster::CreateTopic: the leaders a client sees in the metadata are
// spread evenly over the brokers, every time.

#include "kafka/mock_cluster.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

namespace pgoutbox::kafka {
namespace {

// Partition -> leader broker id, as a client reads it from the metadata.
std::map<int, int> LeadersSeenByAClient(const std::string& bootstraps, const std::string& topic) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), errstr, sizeof errstr),
            RD_KAFKA_CONF_OK);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr), &rd_kafka_destroy);
  EXPECT_NE(rk, nullptr) << errstr;
  std::map<int, int> leaders;
  if (rk == nullptr) return leaders;
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt.get(), &md, 10000);
  EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return leaders;
  for (int t = 0; t < md->topic_cnt; ++t) {
    if (topic != md->topics[t].topic) continue;
    for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
      leaders[md->topics[t].partitions[p].id] = md->topics[t].partitions[p].leader;
    }
  }
  rd_kafka_metadata_destroy(md);
  return leaders;
}

TEST(MockClusterTest, TopicLeadersAreSpreadEvenlyOverTheBrokers) {
  auto cluster = MockCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  // Several topics: the mock's own choice is random, so one topic could be
  // even by chance.
  for (const std::string topic : {"spread.a", "spread.b", "spread.c", "spread.d"}) {
    ASSERT_TRUE((*cluster)->CreateTopic(topic, 6).ok());
    std::map<int, int> leaders = LeadersSeenByAClient((*cluster)->bootstraps(), topic);
    ASSERT_EQ(leaders.size(), 6u) << topic;
    std::map<int, int> led_by;
    for (const auto& [partition, leader] : leaders) {
      EXPECT_EQ(leader, partition % 3 + 1) << topic << " partition " << partition;
      ++led_by[leader];
    }
    EXPECT_EQ(led_by, (std::map<int, int>{{1, 2}, {2, 2}, {3, 2}})) << topic;
  }
}

TEST(MockClusterTest, MoreBrokersThanReplicas) {
  auto cluster = MockCluster::Start(5);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ASSERT_TRUE((*cluster)->CreateTopic("spread.five", 10).ok());
  std::map<int, int> leaders = LeadersSeenByAClient((*cluster)->bootstraps(), "spread.five");
  ASSERT_EQ(leaders.size(), 10u);
  for (const auto& [partition, leader] : leaders) EXPECT_EQ(leader, partition % 5 + 1);
}

}  // namespace
}  // namespace pgoutbox::kafka
