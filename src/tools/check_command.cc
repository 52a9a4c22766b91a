#include "tools/check_command.h"

#include <cstdio>

#include "tools/faults/fault_check.h"
#include "tools/faults/fault_report.h"

namespace pgoutbox::tools {

namespace {

struct CheckFlags {
  std::string committed, records, faults;
  std::vector<std::string> other_faults;
  int64_t start_ms = 0;
  std::string confirmed_lsn, end_lsn, wal_lsn;
  std::string workload;            // file: the workload's output
  std::vector<std::string> exits;  // STATUS:LOG
  std::string out_dir;
};

// The last line of `text` that holds a '='.
std::string LastKeyValueLine(const std::string& text) {
  std::string last;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (line.find('=') != std::string::npos) last = line;
    start = nl + 1;
  }
  return last;
}

class CheckCommand : public Command {
 public:
  explicit CheckCommand(CLI::App* app) {
    sub_ = app->add_subcommand("check", "the fault suite's report and verdict");
    sub_->add_option("--committed", f_.committed, "id, key, seq of the table")->required();
    sub_->add_option("--records", f_.records, "pgoutbox-bench collect's file")->required();
    sub_->add_option("--faults", f_.faults, "at_ms, what: the faults duplicates follow")
        ->required();
    sub_->add_option("--start-ms", f_.start_ms, "the workload's start, Unix ms")->required();
    sub_->add_option("--confirmed-lsn", f_.confirmed_lsn)->required();
    sub_->add_option("--end-lsn", f_.end_lsn)->required();
    sub_->add_option("--wal-lsn", f_.wal_lsn);
    // The description of the run; without --workload only the figures are printed.
    sub_->add_option("--workload", f_.workload, "pgoutbox-bench workload's output");
    sub_->add_option("--other-faults", f_.other_faults, "at_ms, what: the other fault lines");
    sub_->add_option("--mode", run_.mode);
    sub_->add_option("--invocation", run_.invocation);
    sub_->add_option("--commit", run_.commit);
    sub_->add_option("--elapsed-s", run_.elapsed_s);
    sub_->add_option("--connections", run_.connections);
    sub_->add_option("--keys", run_.keys, "per aggregate type");
    sub_->add_option("--kills", run_.kills, "SIGKILLs planned");
    sub_->add_option("--kills-done", run_.kills_done);
    sub_->add_option("--kill-pause", run_.kill_pauses_ms, "ms, one per SIGKILL");
    sub_->add_option("--outage-s", run_.outage_s, "0: left out");
    sub_->add_flag("!--no-pg-restarts", run_.pg_restarts, "PostgreSQL restarts were left out");
    sub_->add_option("--error-percent", run_.error_percent, "0: left out");
    sub_->add_option("--errors-from", run_.errors_from, "SIGKILL number");
    sub_->add_option("--errors-to", run_.errors_to, "SIGKILL number");
    sub_->add_flag("--pipelined-errors", run_.pipelined_errors);
    sub_->add_option("--kafka-stats", run_.kafka_stats, "the mock cluster's stats line");
    sub_->add_option("--exit", f_.exits, "STATUS:LOG of an exit of pgoutbox's own");
    sub_->add_option("--out-dir", f_.out_dir, "where figures.txt and results.md go");
  }
  CLI::App* subcommand() const override { return sub_; }

  // Prints the figures; exit 0 when the run passes, 3 when it does not.
  int Run() override {
    auto committed_text = ReadFile(f_.committed);
    auto records_text = ReadFile(f_.records);
    auto faults_text = ReadFile(f_.faults);
    for (const auto* t : {&committed_text, &records_text, &faults_text}) {
      if (!t->ok()) return Fail(t->status());
    }
    auto committed = faults::ParseCommitted(*committed_text);
    if (!committed.ok()) return Fail(committed.status());
    auto records = faults::ParseRecords(*records_text);
    if (!records.ok()) return Fail(records.status());
    auto fault_events = faults::ParseFaults(*faults_text);
    if (!fault_events.ok()) return Fail(fault_events.status());
    auto confirmed = Lsn::Parse(f_.confirmed_lsn), end = Lsn::Parse(f_.end_lsn);
    if (!confirmed || !end) {
      return Fail(Status::InvalidArgument("--confirmed-lsn/--end-lsn: not LSNs"));
    }
    const faults::Positions positions{*confirmed, *end, Lsn::Parse(f_.wal_lsn)};
    const faults::CheckReport report = faults::Check(*committed, *records, *fault_events);

    std::string figures;
    if (!f_.workload.empty()) {
      Status st = DescribeRun(*fault_events);
      if (!st.ok()) return Fail(st);
      figures = faults::RenderRun(run_) + "\n";
    }
    figures += faults::RenderCheck(report, positions, f_.start_ms);
    std::fputs(figures.c_str(), stdout);
    if (!f_.out_dir.empty()) {
      for (Status st : {WriteFile(f_.out_dir + "/figures.txt", figures),
                        WriteFile(f_.out_dir + "/results.md",
                                  "# pgoutbox fault suite\n\n```\n" + figures + "```\n")}) {
        if (!st.ok()) return Fail(st);
      }
    }
    return faults::Passed(report, positions) ? 0 : 3;
  }

 private:
  Status DescribeRun(const std::vector<faults::FaultEvent>& fault_events) {
    ASSIGN_OR_RETURN(std::string workload, ReadFile(f_.workload));
    run_.workload = LastKeyValueLine(workload);
    run_.date = UtcNow();
    run_.start_ms = f_.start_ms;
    run_.marks = fault_events;
    for (const std::string& path : f_.other_faults) {
      ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      ASSIGN_OR_RETURN(auto more, faults::ParseFaults(text));
      run_.marks.insert(run_.marks.end(), more.begin(), more.end());
    }
    for (const std::string& exit : f_.exits) {
      const size_t colon = exit.find(':');
      if (colon == std::string::npos) {
        return Status::InvalidArgument("--exit " + exit + ": want STATUS:LOG");
      }
      ASSIGN_OR_RETURN(std::string log, ReadFile(exit.substr(colon + 1)));
      run_.exits.push_back({std::atoi(exit.c_str()), faults::LastErrorMessage(log)});
    }
    return Status::Ok();
  }

  CLI::App* sub_ = nullptr;
  CheckFlags f_;
  faults::FaultRun run_;
};

}  // namespace

std::unique_ptr<Command> MakeCheckCommand(CLI::App* app) {
  return std::make_unique<CheckCommand>(app);
}

}  // namespace pgoutbox::tools
