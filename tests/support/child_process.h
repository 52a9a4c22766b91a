// ChildProcess: runs the pgoutbox binary (or any program) as a child process
// for end-to-end tests, with stdout and stderr captured to a temp file.
//
// The child's stdin is /dev/null and it inherits no descriptors beyond stdio.
// The destructor SIGKILLs the child if it still runs and reaps it; if the
// current gtest test has failed, it first prints the last 200 lines of the
// child's output to stderr. Thread safety: one owner thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgoutbox::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with the given arguments; `env` entries ("K=V") are added
  // to the inherited environment. gtest failure + nullptr on error.
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const std::vector<std::string>& env = {});
  ~ChildProcess();

  int pid() const;
  bool Running();
  void Signal(int signo);
  // Waits for exit; returns the exit code (128+signal if killed by a signal)
  // or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Everything the child wrote to stdout and stderr so far.
  std::string Output() const;

 private:
  ChildProcess() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// Path of the built pgoutbox binary.
std::string PgoutboxBinary();

}  // namespace pgoutbox::testing
