#include "tools/kafka_command.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
// After rdkafka.h, which it requires.
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "kafka/mock_cluster.h"
#include "tools/faults/mock_faults.h"

namespace pgoutbox::tools {

namespace {

// Reads control commands, one per line, from the FIFO at `path` until a stop
// signal; answers each on stdout ("ok down", "stats ...", "error ...").
void ServeControl(const std::string& path, faults::MockFaults* mock) {
  // Read-write, so the FIFO never reports end-of-file between writers.
  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    std::fprintf(stderr, "pgoutbox-bench: cannot open --control %s\n", path.c_str());
    return;
  }
  std::string pending;
  char buf[256];
  while (!StopRequested()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) continue;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      const std::string line = pending.substr(0, nl);
      faults::ControlCommand c = faults::ParseControlCommand(line);
      switch (c.kind) {
        case faults::ControlCommand::Kind::kDown:
          mock->SetAllBrokersDown(true);
          std::printf("ok down\n");
          break;
        case faults::ControlCommand::Kind::kUp:
          mock->SetAllBrokersDown(false);
          std::printf("ok up\n");
          break;
        case faults::ControlCommand::Kind::kErrors:
          mock->SetProduceErrorPercent(c.percent);
          std::printf("ok errors %d\n", c.percent);
          break;
        case faults::ControlCommand::Kind::kStats:
          std::printf("stats %s\n", mock->Stats().c_str());
          break;
        case faults::ControlCommand::Kind::kInvalid:
          std::printf("error unknown command: %s\n", line.c_str());
          break;
      }
      std::fflush(stdout);
    }
  }
  close(fd);
}

struct KafkaFlags {
  int brokers = 3;
  std::vector<std::string> topics;
  std::string control;
  uint64_t seed = 1;
  std::vector<std::string> produce_errors;
};

int HostKafka(const KafkaFlags& f) {
  std::vector<rd_kafka_resp_err_t> errors;
  for (const std::string& name : f.produce_errors) {
    auto code = faults::ErrorCodeByName(name);
    if (!code.ok()) return Fail(code.status());
    errors.push_back(*code);
  }
  if (errors.empty()) errors = faults::DefaultProduceErrors();
  auto cluster = kafka::MockCluster::Start(f.brokers);
  if (!cluster.ok()) return Fail(cluster.status());
  for (const std::string& spec : f.topics) {
    size_t colon = spec.rfind(':');
    int partitions = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
    if (partitions <= 0) return Fail(Status::InvalidArgument("--topic " + spec + ": want NAME:N"));
    std::string name = spec.substr(0, colon);
    if (Status st = (*cluster)->CreateTopic(name, partitions); !st.ok()) return Fail(st);
  }
  std::unique_ptr<faults::MockFaults> mock;
  if (!f.control.empty()) {
    mock = std::make_unique<faults::MockFaults>((*cluster)->cluster(), f.brokers, f.seed, errors);
  }
  std::printf("bootstraps=%s\n", (*cluster)->bootstraps().c_str());
  std::fflush(stdout);
  CatchStopSignals();
  if (mock) {
    ServeControl(f.control, mock.get());
    std::printf("final %s\n", mock->Stats().c_str());
    std::fflush(stdout);
    return 0;
  }
  while (!StopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

class KafkaCommand : public Command {
 public:
  explicit KafkaCommand(CLI::App* app) {
    sub_ = app->add_subcommand("kafka", "host a mock Kafka cluster until SIGTERM");
    sub_->add_option("--brokers", flags_.brokers)->check(CLI::Range(1, 16));
    sub_->add_option("--topic", flags_.topics, "NAME:PARTITIONS, created up front");
    sub_->add_option("--control", flags_.control,
                     "FIFO to read fault commands from: down, up, errors PCT, stats");
    sub_->add_option("--seed", flags_.seed, "seed of the produce error positions")
        ->capture_default_str();
    sub_->add_option("--produce-error", flags_.produce_errors,
                     "error code injected by `errors PCT`, repeatable (default _TRANSPORT: "
                     "the broker drops the connection; see faults/mock_faults.h)");
  }
  CLI::App* subcommand() const override { return sub_; }
  int Run() override { return HostKafka(flags_); }

 private:
  CLI::App* sub_ = nullptr;
  KafkaFlags flags_;
};

}  // namespace

std::unique_ptr<Command> MakeKafkaCommand(CLI::App* app) {
  return std::make_unique<KafkaCommand>(app);
}

}  // namespace pgoutbox::tools
