// ConsumeCommand: `pgoutbox-bench consume`. Insert-to-consume latency of the
// records arriving on a topic (bench/latency_consumer.h): prints "ready=1"
// once every partition is assigned, then count, kept samples, records
// without a "ts", and the p50, p99, p99.9 and maximum in milliseconds.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench consume` on `app`.
std::unique_ptr<Command> MakeConsumeCommand(CLI::App* app);

}  // namespace pgoutbox::tools
