#include "support/kafka_cluster.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace pgoutbox::testing {
namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* mc) const { rd_kafka_mock_cluster_destroy(mc); }
};
using MockClusterPtr = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

bool SetConf(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    ADD_FAILURE() << "librdkafka config " << name << "=" << value << ": " << errstr;
    return false;
  }
  return true;
}

// Consumer errors during broker outages are expected; the consumer keeps
// retrying on its own, so they are not worth a log line each.
void IgnoreError(rd_kafka_t*, int, const char*, void*) {}

}  // namespace

// ---------------------------------------------------------------- MockKafka

struct MockKafka::State {
  // Declaration order matters: the cluster is destroyed before its handle.
  KafkaPtr rk;
  MockClusterPtr cluster;
  int brokers = 0;
};

std::unique_ptr<MockKafka> MockKafka::Start(int brokers) {
  if (brokers < 1) {
    ADD_FAILURE() << "MockKafka needs at least one broker, got " << brokers;
    return nullptr;
  }
  ConfPtr conf(rd_kafka_conf_new());
  // The handle only hosts the cluster and never connects anywhere; level 4
  // silences the notice that it has no bootstrap.servers.
  if (!SetConf(conf.get(), "client.id", "pgoutbox-test-mock-cluster") ||
      !SetConf(conf.get(), "log_level", "4")) {
    return nullptr;
  }
  char errstr[512];
  KafkaPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  if (!rk) {
    ADD_FAILURE() << "rd_kafka_new for the mock cluster: " << errstr;
    return nullptr;
  }
  conf.release();  // owned by rk now
  MockClusterPtr cluster(rd_kafka_mock_cluster_new(rk.get(), brokers));
  if (!cluster) {
    ADD_FAILURE() << "rd_kafka_mock_cluster_new(" << brokers << ") failed";
    return nullptr;
  }
  std::unique_ptr<MockKafka> kafka(new MockKafka());
  kafka->state_ = std::make_unique<State>();
  kafka->state_->rk = std::move(rk);
  kafka->state_->cluster = std::move(cluster);
  kafka->state_->brokers = brokers;
  return kafka;
}

MockKafka::~MockKafka() = default;

std::string MockKafka::bootstraps() const {
  return rd_kafka_mock_cluster_bootstraps(state_->cluster.get());
}

int MockKafka::broker_count() const { return state_->brokers; }

void MockKafka::CreateTopic(const std::string& topic, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(state_->cluster.get(), topic.c_str(),
                                                       partitions, std::min(3, state_->brokers));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ADD_FAILURE() << "mock topic create " << topic << " (" << partitions
                  << " partitions): " << rd_kafka_err2str(err);
  }
}

void MockKafka::SetAllBrokersDown(bool down) {
  for (int32_t id = 1; id <= state_->brokers; ++id) {
    rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(state_->cluster.get(), id)
                                   : rd_kafka_mock_broker_set_up(state_->cluster.get(), id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ADD_FAILURE() << "mock broker " << id << (down ? " down: " : " up: ")
                    << rd_kafka_err2str(err);
    }
  }
}

void MockKafka::PushProduceErrors(const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> errs;
  for (int e : errors) errs.push_back(static_cast<rd_kafka_resp_err_t>(e));
  constexpr int16_t kProduceApiKey = 0;  // Kafka protocol ApiKey of Produce
  rd_kafka_mock_push_request_errors_array(state_->cluster.get(), kProduceApiKey, errs.size(),
                                          errs.data());
}

// ----------------------------------------------------------- ConsumedRecord

std::optional<std::string> ConsumedRecord::Header(const std::string& name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

// ------------------------------------------------------------ TopicConsumer

struct TopicConsumer::State {
  KafkaPtr rk;
  std::thread thread;
  std::atomic<bool> stop{false};
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<ConsumedRecord> records;  // guarded by mu

  void Run() {
    while (!stop.load()) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk.get(), 50);
      if (msg == nullptr) continue;
      // Errors (broker down, partition EOF if it were enabled) are transient
      // here: the consumer reconnects and resumes from where it was.
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) Add(msg);
      rd_kafka_message_destroy(msg);
    }
  }

  void Add(const rd_kafka_message_t* msg) {
    ConsumedRecord rec;
    rec.topic = rd_kafka_topic_name(msg->rkt);
    rec.partition = msg->partition;
    rec.offset = msg->offset;
    if (msg->key != nullptr) rec.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload != nullptr) rec.value.assign(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        std::optional<std::string> v;
        if (value != nullptr) v.emplace(static_cast<const char*>(value), size);
        rec.headers.emplace_back(name, std::move(v));
      }
    }
    rd_kafka_timestamp_type_t ts_type;
    rec.timestamp_ms = rd_kafka_message_timestamp(msg, &ts_type);
    {
      std::lock_guard<std::mutex> lock(mu);
      records.push_back(std::move(rec));
    }
    cv.notify_all();
  }
};

TopicConsumer::TopicConsumer(const std::string& bootstraps, const std::vector<std::string>& topics)
    : state_(std::make_unique<State>()) {
  ConfPtr conf(rd_kafka_conf_new());
  std::random_device rd;
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", bootstraps},
      // Needed for rd_kafka_consumer_poll; partitions are assigned by hand,
      // so no group membership or commits happen.
      {"group.id", "pgoutbox-test-" + std::to_string(rd())},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", "10"},
      {"fetch.error.backoff.ms", "50"},
      // Come back quickly after a broker outage.
      {"reconnect.backoff.ms", "20"},
      {"reconnect.backoff.max.ms", "500"},
      {"log.connection.close", "false"},
      // Refused connections during outages are expected: log critical only.
      {"log_level", "2"},
  };
  for (const auto& [name, value] : settings) {
    if (!SetConf(conf.get(), name, value)) return;
  }
  rd_kafka_conf_set_error_cb(conf.get(), IgnoreError);
  char errstr[512];
  state_->rk.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr)));
  if (!state_->rk) {
    ADD_FAILURE() << "rd_kafka_new (consumer): " << errstr;
    return;
  }
  conf.release();

  PartitionListPtr assignment(rd_kafka_topic_partition_list_new(16));
  for (const auto& topic : topics) {
    TopicPtr rkt(rd_kafka_topic_new(state_->rk.get(), topic.c_str(), nullptr));
    int partitions = 0;
    std::string last_error = "no metadata";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (partitions == 0 && std::chrono::steady_clock::now() < deadline) {
      const rd_kafka_metadata_t* md = nullptr;
      rd_kafka_resp_err_t err = rd_kafka_metadata(state_->rk.get(), 0, rkt.get(), &md, 5000);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          partitions = md->topics[0].partition_cnt;
        } else if (md->topic_cnt == 1) {
          last_error = rd_kafka_err2str(md->topics[0].err);
        }
        rd_kafka_metadata_destroy(md);
      } else {
        last_error = rd_kafka_err2str(err);
      }
      if (partitions == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (partitions == 0) {
      ADD_FAILURE() << "TopicConsumer: no partitions for topic " << topic << ": " << last_error;
      continue;
    }
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(state_->rk.get(), assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ADD_FAILURE() << "rd_kafka_assign: " << rd_kafka_err2str(err);
    return;
  }
  state_->thread = std::thread([st = state_.get()] { st->Run(); });
}

TopicConsumer::~TopicConsumer() {
  state_->stop.store(true);
  if (state_->thread.joinable()) state_->thread.join();
  if (state_->rk) rd_kafka_consumer_close(state_->rk.get());
}

bool TopicConsumer::WaitForCount(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->records.size() >= count; });
}

std::vector<ConsumedRecord> TopicConsumer::Records() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->records;
}

size_t TopicConsumer::Count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->records.size();
}

// ------------------------------------------------------------------ murmur2

int32_t Murmur2(const std::string& key) {
  // Kafka's Utils.murmur2: MurmurHash2 with Kafka's seed, little-endian
  // 4-byte blocks, computed in 32-bit wrap-around arithmetic.
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();

  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t blocks = length / 4;
  for (size_t i = 0; i < blocks; ++i) {
    const unsigned char* b = data + 4 * i;
    uint32_t k = static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
                 (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const unsigned char* tail = data + 4 * blocks;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(tail[0]);
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t JavaPartitionForKey(const std::string& key, int partitions) {
  return static_cast<int32_t>((static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

}  // namespace pgoutbox::testing
