// ProduceCommand: `pgoutbox-bench produce`. The latency floor: records
// straight to Kafka at a fixed rate (bench/rate_producer.h); prints produced,
// seconds and events_per_s.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench produce` on `app`.
std::unique_ptr<Command> MakeProduceCommand(CLI::App* app);

}  // namespace pgoutbox::tools
