#include "tools/workload_command.h"

#include <cstdio>

#include "tools/faults/fault_workload.h"

namespace pgoutbox::tools {

namespace {

class WorkloadCommand : public Command {
 public:
  explicit WorkloadCommand(CLI::App* app) {
    sub_ = app->add_subcommand("workload", "mixed transactions until N events commit");
    sub_->add_option("--db", options_.conninfo)->required();
    sub_->add_option("--events", options_.events, "committed events to reach")
        ->capture_default_str();
    sub_->add_option("--rate", options_.rate, "rows written per second")->capture_default_str();
    sub_->add_option("--connections", options_.connections)->capture_default_str();
    sub_->add_option("--keys", options_.mix.keys, "aggregates per aggregate type")
        ->capture_default_str();
    sub_->add_option("--second-table-percent", options_.mix.second_table_percent,
                     "of the events, written to public.outbox_b")
        ->capture_default_str();
    sub_->add_option("--message-percent", options_.mix.message_percent,
                     "of the events, sent as transactional messages (pg_logical_emit_message)")
        ->capture_default_str();
    sub_->add_option("--foreign-message-percent", options_.mix.foreign_message_percent,
                     "of the transactions, sending a non-transactional message of another prefix")
        ->capture_default_str();
    sub_->add_flag("--prepare-only", prepare_only_,
                   "create the workload's tables (public.outbox_b among them) and stop");
    sub_->add_option("--seed", options_.seed)->capture_default_str();
    sub_->add_option("--reconnect-timeout", reconnect_s_, "seconds")->capture_default_str();
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    options_.reconnect_timeout = std::chrono::seconds(reconnect_s_);
    if (prepare_only_) {
      Status st = faults::PrepareWorkload(options_);
      return st.ok() ? 0 : Fail(st);
    }
    auto r = faults::RunWorkload(options_);
    if (!r.ok()) return Fail(r.status());
    auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf(
        "tx_committed=%llu events_committed=%llu tx_rolled_back=%llu events_rolled_back=%llu "
        "events_savepoint_rolled_back=%llu other_rows=%llu tx_failed=%llu "
        "events_failed=%llu tx_unknown=%llu events_unknown=%llu deadlocks=%llu "
        "reconnects=%llu seconds=%.1f",
        n(r->tx_committed), n(r->events_committed), n(r->tx_rolled_back), n(r->events_rolled_back),
        n(r->events_savepoint_rolled_back), n(r->other_rows), n(r->tx_failed), n(r->events_failed),
        n(r->tx_unknown), n(r->events_unknown), n(r->deadlocks), n(r->reconnects), r->seconds);
    using faults::EventSource;
    auto committed = [&](EventSource s) { return n(r->events_by_source[static_cast<int>(s)]); };
    std::printf(
        " events_outbox=%llu events_outbox_b=%llu events_message=%llu foreign_messages=%llu",
        committed(EventSource::kTable), committed(EventSource::kSecondTable),
        committed(EventSource::kMessage), n(r->foreign_messages));
    for (int k = 0; k < faults::TxPlan::kKinds; ++k) {
      std::printf(" tx_%s=%llu", faults::KindName(static_cast<faults::TxPlan::Kind>(k)),
                  n(r->tx_by_kind[k]));
    }
    std::printf("\n");
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  faults::WorkloadOptions options_;
  int reconnect_s_ = 180;
  bool prepare_only_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeWorkloadCommand(CLI::App* app) {
  return std::make_unique<WorkloadCommand>(app);
}

}  // namespace pgoutbox::tools
