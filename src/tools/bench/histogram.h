// Quantiles of a Prometheus histogram between two scrapes of /metrics, the
// way PromQL's histogram_quantile() computes them: find the bucket that holds
// the rank and interpolate linearly inside it. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgoutbox::bench {

struct HistogramBucket {
  double le = 0;     // upper bound; +infinity for the last bucket
  double count = 0;  // cumulative
};

// The buckets of histogram `name` (lines `name_bucket{le="..."} count`) in a
// Prometheus text exposition, in increasing `le` order. NotFound if absent.
Result<std::vector<HistogramBucket>> ParseHistogram(std::string_view text, std::string_view name);

// `after` minus `before`, bucket by bucket. InvalidArgument if the bounds
// differ.
Result<std::vector<HistogramBucket>> Difference(const std::vector<HistogramBucket>& after,
                                                const std::vector<HistogramBucket>& before);

// The observations of histogram `name` between two scrapes of /metrics
// (`before`, `after`): the difference of their buckets. nullopt when the
// `after` scrape has no such histogram (a pgoutbox that does not export it);
// when only `before` lacks it, every observation in `after` counts. A
// malformed bucket line or different bounds are InvalidArgument.
Result<std::optional<std::vector<HistogramBucket>>> ScrapeDifference(std::string_view before,
                                                                     std::string_view after,
                                                                     std::string_view name);

// The q-quantile (0 < q < 1) of the observations in `buckets`; nullopt if
// there are none. A rank in the +Inf bucket yields the highest finite bound.
std::optional<double> Quantile(const std::vector<HistogramBucket>& buckets, double q);

}  // namespace pgoutbox::bench
