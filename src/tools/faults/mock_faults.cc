#include "tools/faults/mock_faults.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <sstream>

namespace pgoutbox::faults {

namespace {

constexpr int16_t kProduceApiKey = 0;  // ProduceRequest
// Entries kept on each broker's stack: more than a broker answers between
// two polls (1 ms), few enough that switching errors off drains quickly.
constexpr size_t kStackDepth = 32;

std::string CodeName(rd_kafka_resp_err_t err) {
  std::string name = rd_kafka_err2name(err);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

}  // namespace

ProduceErrorPlan::ProduceErrorPlan(uint64_t seed, std::vector<rd_kafka_resp_err_t> errors)
    : rng_(seed), errors_(std::move(errors)) {}

void ProduceErrorPlan::set_percent(int percent) {
  percent_ = std::clamp(percent, 0, 100);
  block_.clear();
}

rd_kafka_resp_err_t ProduceErrorPlan::Next() {
  if (percent_ == 0 || errors_.empty()) return RD_KAFKA_RESP_ERR_NO_ERROR;
  if (block_.empty()) {
    block_.assign(100, false);
    std::fill(block_.begin(), block_.begin() + percent_, true);
    std::shuffle(block_.begin(), block_.end(), rng_);
  }
  const bool fail = block_.back();
  block_.pop_back();
  if (!fail) return RD_KAFKA_RESP_ERR_NO_ERROR;
  return errors_[next_error_++ % errors_.size()];
}

void ErrorStackLedger::Observe(size_t remaining) {
  while (pending_.size() > remaining) {
    rd_kafka_resp_err_t err = pending_.front();
    pending_.pop_front();
    ++taken_;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++errors_taken_;
      ++by_code_[err];
    }
  }
}

ControlCommand ParseControlCommand(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  ControlCommand c;
  if (line == "down") {
    c.kind = ControlCommand::Kind::kDown;
  } else if (line == "up") {
    c.kind = ControlCommand::Kind::kUp;
  } else if (line == "stats") {
    c.kind = ControlCommand::Kind::kStats;
  } else if (line.substr(0, 7) == "errors ") {
    std::string_view n = line.substr(7);
    int percent = -1;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), percent);
    if (ec == std::errc() && ptr == n.data() + n.size() && percent >= 0 && percent <= 100) {
      c.kind = ControlCommand::Kind::kErrors;
      c.percent = percent;
    }
  }
  return c;
}

Result<rd_kafka_resp_err_t> ErrorCodeByName(std::string_view name) {
  const struct rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name == nullptr) continue;
    std::string_view candidate(descs[i].name);
    if (candidate.size() == name.size() &&
        std::equal(candidate.begin(), candidate.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return descs[i].code;
    }
  }
  return Status::InvalidArgument("no librdkafka error code is named " + std::string(name));
}

std::vector<rd_kafka_resp_err_t> DefaultProduceErrors() {
  return {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
          RD_KAFKA_RESP_ERR__TRANSPORT};
}

MockFaults::MockFaults(rd_kafka_mock_cluster_t* cluster, int brokers, uint64_t seed,
                       std::vector<rd_kafka_resp_err_t> errors)
    : cluster_(cluster),
      brokers_(brokers),
      plan_(seed, std::move(errors)),
      ledgers_(static_cast<size_t>(brokers)),
      thread_([this] { Run(); }) {}

MockFaults::~MockFaults() {
  stop_ = true;
  thread_.join();
}

void MockFaults::SetAllBrokersDown(bool down) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t b = 1; b <= brokers_; ++b) {
    if (down) {
      rd_kafka_mock_broker_set_down(cluster_, b);
    } else {
      rd_kafka_mock_broker_set_up(cluster_, b);
    }
  }
  down_ = down;
}

void MockFaults::SetProduceErrorPercent(int percent) {
  std::lock_guard<std::mutex> lock(mu_);
  plan_.set_percent(percent);
}

std::string MockFaults::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t taken = 0, errors = 0;
  size_t pending = 0;
  std::map<rd_kafka_resp_err_t, uint64_t> by_code;
  for (const ErrorStackLedger& l : ledgers_) {
    taken += l.taken();
    errors += l.errors_taken();
    pending += l.pending();
    for (auto [code, n] : l.errors_by_code()) by_code[code] += n;
  }
  std::ostringstream out;
  out << "produce_requests=" << taken << " produce_errors=" << errors;
  for (auto [code, n] : by_code) out << " " << CodeName(code) << "=" << n;
  out << " stack_ran_dry=" << dry_polls_ << " pending=" << pending
      << " error_percent=" << plan_.percent() << " brokers_down=" << (down_ ? 1 : 0);
  return out.str();
}

void MockFaults::Run() {
  std::vector<bool> pushed_any(ledgers_.size(), false);
  while (!stop_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int32_t b = 1; b <= brokers_; ++b) {
        ErrorStackLedger& ledger = ledgers_[static_cast<size_t>(b - 1)];
        size_t remaining = 0;
        if (rd_kafka_mock_broker_error_stack_cnt(cluster_, b, kProduceApiKey, &remaining) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          continue;
        }
        ledger.Observe(remaining);
        if (plan_.percent() == 0) continue;
        if (remaining == 0 && pushed_any[static_cast<size_t>(b - 1)]) ++dry_polls_;
        for (size_t n = remaining; n < kStackDepth; ++n) {
          rd_kafka_resp_err_t err = plan_.Next();
          rd_kafka_mock_broker_push_request_error_rtts(cluster_, b, kProduceApiKey, 1, err, 0);
          ledger.Pushed(err);
        }
        pushed_any[static_cast<size_t>(b - 1)] = true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace pgoutbox::faults
