#include "cli/command.h"

#include <spdlog/spdlog.h>

namespace pgoutbox::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  spdlog::error("{}", status.message());
  return status.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace pgoutbox::cli
