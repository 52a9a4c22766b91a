// Faults injected into the mock Kafka cluster that `pgoutbox-bench kafka`
// hosts, driven by scripts/faults.sh through a control channel:
//
//   down        every broker goes down (connections closed, new ones refused)
//   up          every broker comes back
//   errors PCT  PCT% of the Produce requests fail with a retriable error
//   stats       prints the counters below
//
// How "PCT% of Produce requests" is realised: the mock cluster keeps, per
// broker, a FIFO stack of (error, delay) entries for each request type, and
// every Produce request a broker answers takes the next entry (an entry of 0
// means "answer normally"). A thread keeps each broker's Produce stack a few
// dozen entries deep, drawing the entries from ProduceErrorPlan: in every
// block of 100 entries exactly PCT are errors, at random places, the
// configured codes taking turns. The thread watches each stack's depth
// (rd_kafka_mock_broker_error_stack_cnt), so it counts exactly how many
// Produce requests took an entry and how many of those failed
// (ErrorStackLedger). A poll that finds a stack empty is counted too:
// requests may then have gone through without an entry.
//
// Faithful only with one request in flight. The injected errors
// (default: NOT_ENOUGH_REPLICAS, NOT_LEADER_FOR_PARTITION and _TRANSPORT,
// which makes the broker drop the connection instead of answering) append
// nothing, like a real broker. But the idempotent producer keeps up to 5
// requests in flight per broker, and a real broker that rejects one batch
// also rejects the partition's later ones (OUT_OF_ORDER_SEQUENCE_NUMBER);
// librdkafka relies on that and takes an earlier batch as written once a
// later one succeeds. The mock checks sequence numbers only for
// transactional producers, so it accepts the later batch: the rejected one
// vanishes (measured with pgoutbox's producer alone, 10% error answers lost
// 84 to 152 of 30,000 acknowledged records, also with the errors in runs of
// 5), and after a dropped connection the requests already queued behind
// the dropped one are still appended, ahead of the resent one (a reordered
// key in a fault run). With max.in.flight.requests.per.connection=1 none of
// this happens (30,000 of 30,000), which is how scripts/faults.sh runs
// pgoutbox while errors are on.
//
// Thread safety: MockFaults' methods may be called from any thread; the
// pure classes are single-threaded values.
#pragma once

#include <librdkafka/rdkafka.h>
// After rdkafka.h, which it requires.
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"

namespace pgoutbox::faults {

// The next entries for a broker's Produce error stack.
class ProduceErrorPlan {
 public:
  ProduceErrorPlan(uint64_t seed, std::vector<rd_kafka_resp_err_t> errors);

  // 0..100; takes effect with a fresh block.
  void set_percent(int percent);
  int percent() const { return percent_; }

  // NO_ERROR or the next error code. In each block of 100 calls exactly
  // percent() return an error.
  rd_kafka_resp_err_t Next();

 private:
  std::mt19937_64 rng_;
  std::vector<rd_kafka_resp_err_t> errors_;
  size_t next_error_ = 0;
  int percent_ = 0;
  std::vector<bool> block_;  // the rest of the current block, back first
};

// Entries pushed onto one broker's stack, and how many the broker took.
class ErrorStackLedger {
 public:
  void Pushed(rd_kafka_resp_err_t err) { pending_.push_back(err); }
  // `remaining`: the stack's depth now. The entries taken since the last
  // call are the oldest pushed ones (the stack is first in, first out).
  void Observe(size_t remaining);

  size_t pending() const { return pending_.size(); }
  uint64_t taken() const { return taken_; }
  uint64_t errors_taken() const { return errors_taken_; }
  const std::map<rd_kafka_resp_err_t, uint64_t>& errors_by_code() const { return by_code_; }

 private:
  std::deque<rd_kafka_resp_err_t> pending_;
  uint64_t taken_ = 0;
  uint64_t errors_taken_ = 0;
  std::map<rd_kafka_resp_err_t, uint64_t> by_code_;
};

// A control command; kInvalid for anything else.
struct ControlCommand {
  enum class Kind { kDown, kUp, kErrors, kStats, kInvalid } kind = Kind::kInvalid;
  int percent = 0;  // kErrors
};
ControlCommand ParseControlCommand(std::string_view line);

// librdkafka's error code named `name` (as rd_kafka_err2name prints it,
// e.g. NOT_ENOUGH_REPLICAS; case-insensitive); InvalidArgument if none is.
Result<rd_kafka_resp_err_t> ErrorCodeByName(std::string_view name);

// The codes injected when none are chosen.
std::vector<rd_kafka_resp_err_t> DefaultProduceErrors();

class MockFaults {
 public:
  // REQUIRES: `cluster` outlives this object; broker ids are 1..brokers;
  // `errors` not empty.
  MockFaults(rd_kafka_mock_cluster_t* cluster, int brokers, uint64_t seed,
             std::vector<rd_kafka_resp_err_t> errors);
  ~MockFaults();  // stops the thread
  MockFaults(const MockFaults&) = delete;
  MockFaults& operator=(const MockFaults&) = delete;

  void SetAllBrokersDown(bool down);
  void SetProduceErrorPercent(int percent);

  // One line of key=value pairs: produce_requests (requests that took an
  // entry), produce_errors, one count per error code, stack_ran_dry,
  // pending (entries still on the stacks), brokers_down.
  std::string Stats();

 private:
  void Run();

  rd_kafka_mock_cluster_t* cluster_;
  const int brokers_;
  std::mutex mu_;  // guards plan_, ledgers_, dry_polls_, down_
  ProduceErrorPlan plan_;
  std::vector<ErrorStackLedger> ledgers_;  // index: broker id - 1
  uint64_t dry_polls_ = 0;
  bool down_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pgoutbox::faults
