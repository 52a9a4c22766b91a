#include "tools/bench/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace pgoutbox::bench {

Result<std::vector<HistogramBucket>> ParseHistogram(std::string_view text, std::string_view name) {
  const std::string prefix = std::string(name) + "_bucket{le=\"";
  std::vector<HistogramBucket> buckets;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.rfind(prefix, 0) != 0) continue;
    line.remove_prefix(prefix.size());
    size_t quote = line.find("\"}");
    if (quote == std::string_view::npos) {
      return Status::InvalidArgument("malformed bucket line for " + std::string(name));
    }
    std::string le(line.substr(0, quote));
    std::string count(line.substr(quote + 2));
    HistogramBucket b;
    b.le =
        le == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(le.c_str(), nullptr);
    char* end = nullptr;
    b.count = std::strtod(count.c_str(), &end);
    if (end == count.c_str()) {
      return Status::InvalidArgument("malformed bucket count for " + std::string(name));
    }
    buckets.push_back(b);
  }
  if (buckets.empty()) return Status::NotFound("no histogram named " + std::string(name));
  std::sort(buckets.begin(), buckets.end(),
            [](const HistogramBucket& a, const HistogramBucket& b) { return a.le < b.le; });
  return buckets;
}

Result<std::vector<HistogramBucket>> Difference(const std::vector<HistogramBucket>& after,
                                                const std::vector<HistogramBucket>& before) {
  if (after.size() != before.size()) return Status::InvalidArgument("bucket bounds differ");
  std::vector<HistogramBucket> out(after.size());
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i].le != before[i].le) return Status::InvalidArgument("bucket bounds differ");
    out[i].le = after[i].le;
    out[i].count = after[i].count - before[i].count;
  }
  return out;
}

Result<std::optional<std::vector<HistogramBucket>>> ScrapeDifference(std::string_view before,
                                                                     std::string_view after,
                                                                     std::string_view name) {
  auto later = ParseHistogram(after, name);
  if (later.status().code() == Status::Code::kNotFound) {
    return std::optional<std::vector<HistogramBucket>>();
  }
  if (!later.ok()) return later.status();
  auto earlier = ParseHistogram(before, name);
  if (earlier.status().code() == Status::Code::kNotFound) return std::optional(*later);
  if (!earlier.ok()) return earlier.status();
  ASSIGN_OR_RETURN(auto diff, Difference(*later, *earlier));
  return std::optional(std::move(diff));
}

std::optional<double> Quantile(const std::vector<HistogramBucket>& buckets, double q) {
  if (buckets.empty() || buckets.back().count <= 0) return std::nullopt;
  const double rank = q * buckets.back().count;
  double lower = 0, below = 0;
  for (const HistogramBucket& b : buckets) {
    if (b.count >= rank) {
      if (std::isinf(b.le)) return lower;
      if (b.count == below) return b.le;
      return lower + (b.le - lower) * (rank - below) / (b.count - below);
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}

}  // namespace pgoutbox::bench
