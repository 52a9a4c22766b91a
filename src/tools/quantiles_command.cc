#include "tools/quantiles_command.h"

#include <cstdio>

#include "tools/bench/histogram.h"

namespace pgoutbox::tools {

namespace {

class QuantilesCommand : public Command {
 public:
  explicit QuantilesCommand(CLI::App* app) {
    sub_ = app->add_subcommand("quantiles", "histogram quantiles between two scrapes");
    sub_->add_option("--before", before_)->required();
    sub_->add_option("--after", after_)->required();
    sub_->add_option("--metric", metric_)->required();
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    auto before_text = ReadFile(before_);
    auto after_text = ReadFile(after_);
    if (!before_text.ok()) return Fail(before_text.status());
    if (!after_text.ok()) return Fail(after_text.status());
    auto diff = bench::ScrapeDifference(*before_text, *after_text, metric_);
    if (!diff.ok()) return Fail(diff.status().WithContext(metric_));
    if (!diff->has_value()) {
      std::printf("present=0 count=0\n");
      return 0;
    }
    const std::vector<bench::HistogramBucket>& buckets = **diff;
    auto ms = [&](double q) { return bench::Quantile(buckets, q).value_or(0) * 1000; };
    std::printf("present=1 count=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n", buckets.back().count,
                ms(0.5), ms(0.99), ms(0.999));
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  std::string before_, after_, metric_;
};

}  // namespace

std::unique_ptr<Command> MakeQuantilesCommand(CLI::App* app) {
  return std::make_unique<QuantilesCommand>(app);
}

}  // namespace pgoutbox::tools
