// pgoutbox-bench: the benchmark's and the fault suite's own tools, driven by
// scripts/bench.sh and scripts/faults.sh. One command per subcommand
// (tools/<name>_command.h):
//
//   kafka      hosts the mock Kafka cluster in a process of its own (with
//              --control, takes fault commands: see faults/mock_faults.h)
//   receive    the ceiling: reads a slot's stream in bursts, does nothing
//   consume    insert-to-consume latency of the records on a topic
//   produce    the floor: records straight to Kafka at a fixed rate
//   relay      the comparison: a naive relay of a slot's outbox inserts
//   measure    runs a command and reports its wall time, CPU and peak RSS
//   quantiles  quantiles of a pgoutbox histogram between two /metrics scrapes
//   report     the benchmark's results.md, results.csv and chart.png
//
// and the fault suite's:
//
//   plan       when the faults happen (seeded)
//   workload   mixed transactions until N events are committed
//   collect    an independent consumer writing every record to a file
//   check      lost, duplicated, uncommitted and out-of-order events: the
//              fault suite's report and verdict
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tools/check_command.h"
#include "tools/collect_command.h"
#include "tools/consume_command.h"
#include "tools/kafka_command.h"
#include "tools/measure_command.h"
#include "tools/plan_command.h"
#include "tools/produce_command.h"
#include "tools/quantiles_command.h"
#include "tools/receive_command.h"
#include "tools/relay_command.h"
#include "tools/report_command.h"
#include "tools/workload_command.h"

int main(int argc, char** argv) {
  using namespace pgoutbox::tools;  // NOLINT: main only
  // What follows "--" is measure's command: its flags must not reach CLI11.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> command;
  if (auto dashes = std::find(args.begin(), args.end(), "--"); dashes != args.end()) {
    command.assign(dashes + 1, args.end());
    args.erase(dashes, args.end());
  }

  CLI::App app{
      "pgoutbox-bench: the benchmark's and the fault suite's tools "
      "(scripts/bench.sh, scripts/faults.sh)",
      "pgoutbox-bench"};
  app.require_subcommand(1);
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(MakeKafkaCommand(&app));
  commands.push_back(MakeReceiveCommand(&app));
  commands.push_back(MakeConsumeCommand(&app));
  commands.push_back(MakeProduceCommand(&app));
  commands.push_back(MakeRelayCommand(&app));
  commands.push_back(MakeMeasureCommand(&app, &command));
  commands.push_back(MakeQuantilesCommand(&app));
  commands.push_back(MakeReportCommand(&app));
  commands.push_back(MakePlanCommand(&app));
  commands.push_back(MakeWorkloadCommand(&app));
  commands.push_back(MakeCollectCommand(&app));
  commands.push_back(MakeCheckCommand(&app));

  std::reverse(args.begin(), args.end());  // CLI11 pops from the back
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const auto& c : commands) {
    if (!c->subcommand()->parsed()) continue;
    if (!command.empty() && c->subcommand()->get_name() != "measure") {
      return Fail(pgoutbox::Status::InvalidArgument("only measure takes a command after --"));
    }
    return c->Run();
  }
  return 1;
}
