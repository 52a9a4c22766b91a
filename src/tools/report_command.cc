#include "tools/report_command.h"

#include <sched.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "tools/bench/report.h"
#include "tools/bench/results.h"

namespace pgoutbox::tools {

namespace {

// "2 x AMD EPYC": the CPUs this process may run on and the model name.
std::string CpuDescription() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  std::ifstream f("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(": ") != std::string::npos) {
      model = line.substr(line.find(": ") + 2);
      break;
    }
  }
  return std::to_string(cpus) + " x " + model;
}

// "23.5 GiB": MemTotal of /proc/meminfo.
std::string MemoryDescription() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (f >> key) {
    if (key == "MemTotal:") {
      f >> kb;
      break;
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", kb / 1048576);
  return buf;
}

// "Linux 6.1.0-18-amd64", like `uname -sr`.
std::string KernelDescription() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release;
}

// Runs gnuplot on `script`; its messages go to our stderr.
Status RunGnuplot(const std::string& script) {
  FILE* p = popen("gnuplot", "w");
  if (p == nullptr) return Status::Internal("cannot start gnuplot");
  std::fwrite(script.data(), 1, script.size(), p);
  const int status = pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal("gnuplot failed (is it installed? the script:)\n" + script);
  }
  return Status::Ok();
}

class ReportCommand : public Command {
 public:
  explicit ReportCommand(CLI::App* app) {
    sub_ = app->add_subcommand("report", "the benchmark's results.md, results.csv and chart.png");
    sub_->add_option("--in", in_, "the measurements: phase,metric,value,unit")->required();
    sub_->add_option("--out-dir", out_dir_, "where results.md, results.csv, chart.png go")
        ->required();
    sub_->add_option("--mode", info_.mode, "quick or full")->required();
    sub_->add_option("--invocation", info_.invocation, "the command line of the run")->required();
    sub_->add_option("--commit", info_.commit)->required();
    sub_->add_option("--postgres-version", info_.postgres_version)->required();
    sub_->add_option("--librdkafka-version", info_.librdkafka_version)->required();
    sub_->add_option("--keys", info_.keys, "aggregate ids")->capture_default_str();
    sub_->add_option("--backlog-events", info_.backlog_events)->required();
    sub_->add_option("--reps", info_.reps)->required();
    sub_->add_option("--rss-events", info_.rss_events)->required();
    sub_->add_option("--live-seconds", info_.live_seconds)->required();
    sub_->add_option("--warmup-seconds", info_.warmup_seconds)->required();
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    auto text = ReadFile(in_);
    if (!text.ok()) return Fail(text.status());
    auto results = bench::Results::ParseCsv(*text);
    if (!results.ok()) return Fail(results.status().WithContext(in_));
    info_.date = UtcNow();
    info_.cpu = CpuDescription();
    info_.memory = MemoryDescription();
    info_.kernel = KernelDescription();
    bench::DeriveFigures(&*results);
    const std::vector<bench::Target> targets = bench::EvaluateTargets(*results, info_);
    bench::AddTargetRows(targets, &*results);
    for (Status st :
         {WriteFile(out_dir_ + "/results.csv", results->ToCsv()),
          WriteFile(out_dir_ + "/results.md", bench::RenderMarkdown(*results, info_, targets)),
          RunGnuplot(bench::RenderChartScript(*results, info_, out_dir_ + "/chart.png"))}) {
      if (!st.ok()) return Fail(st);
    }
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  std::string in_, out_dir_;
  bench::ReportInfo info_;
};

}  // namespace

std::unique_ptr<Command> MakeReportCommand(CLI::App* app) {
  return std::make_unique<ReportCommand>(app);
}

}  // namespace pgoutbox::tools
