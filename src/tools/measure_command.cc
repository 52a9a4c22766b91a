#include "tools/measure_command.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "tools/bench/measurement.h"

namespace pgoutbox::tools {

namespace {

class MeasureCommand : public Command {
 public:
  MeasureCommand(CLI::App* app, const std::vector<std::string>* command) : command_(command) {
    sub_ = app->add_subcommand("measure", "run a command, report time, CPU, peak RSS");
    sub_->footer("usage: pgoutbox-bench measure --out FILE [flags] -- COMMAND [ARGS...]");
    sub_->add_option("--out", out_, "the file for the key=value line")->required();
    sub_->add_option("--events", events_, "events the command handles: adds the figures per event");
    sub_->add_option("--until-line", until_line_,
                     "the run ends at the time stamp of the last log line containing this");
    sub_->add_option("--log", logs_, "the command's log files, for --until-line");
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    if (command_->empty()) {
      return Fail(Status::InvalidArgument("usage: measure --out FILE -- COMMAND [ARGS...]"));
    }
    bench::Measurement m;
    const auto started = std::chrono::steady_clock::now();
    m.start_unix_s =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    pid_t pid = fork();
    if (pid < 0) return Fail(Status::Internal("fork failed"));
    if (pid == 0) {
      std::vector<std::string> argv = *command_;
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      std::perror(args[0]);
      _exit(127);
    }
    // The command gets the stop signals; we only wait for it.
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    int status = 0;
    rusage usage{};
    while (wait4(pid, &status, 0, &usage) < 0) {
      if (errno != EINTR) return Fail(Status::Internal("wait4 failed"));
    }
    m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    m.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    m.user_s = secs(usage.ru_utime);
    m.sys_s = secs(usage.ru_stime);
    m.maxrss_kb = usage.ru_maxrss;
    if (m.exit == 0 && !until_line_.empty()) {
      std::optional<double> at;
      for (const std::string& log : logs_) {
        auto text = ReadFile(log);
        if (!text.ok()) return Fail(text.status());
        if (auto t = bench::LastLineTime(*text, until_line_)) at = at ? std::max(*at, *t) : *t;
      }
      if (!at) return Fail(Status::NotFound("no log line with \"" + until_line_ + "\""));
      m.until_s = *at - m.start_unix_s;
    }
    Status written = WriteFile(out_, bench::FormatMeasurement(m, events_));
    if (!written.ok()) return Fail(written);
    return m.exit;
  }

 private:
  CLI::App* sub_ = nullptr;
  const std::vector<std::string>* command_;
  std::string out_;
  uint64_t events_ = 0;
  std::string until_line_;
  std::vector<std::string> logs_;
};

}  // namespace

std::unique_ptr<Command> MakeMeasureCommand(CLI::App* app,
                                            const std::vector<std::string>* command) {
  return std::make_unique<MeasureCommand>(app, command);
}

}  // namespace pgoutbox::tools
