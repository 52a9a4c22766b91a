// KafkaCommand: `pgoutbox-bench kafka`. Hosts librdkafka's mock Kafka
// cluster in a process of its own, so the brokers outlive the pgoutbox
// processes the scripts start and kill; creates the --topic topics up front,
// prints "bootstraps=HOST:PORT,..." and serves until SIGTERM. With --control
// FIFO it also takes fault commands, one per line (down, up, errors PCT,
// stats; see faults/mock_faults.h), and answers each on stdout.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench kafka` on `app`.
std::unique_ptr<Command> MakeKafkaCommand(CLI::App* app);

}  // namespace pgoutbox::tools
