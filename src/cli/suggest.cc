#include "cli/suggest.h"

#include <algorithm>
#include <cctype>

namespace pgoutbox::cli {

namespace {

std::string Normalize(std::string_view word) {
  while (!word.empty() && word.front() == '-') word.remove_prefix(1);
  std::string out(word);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t MaxDistance(size_t length) {
  if (length <= 3) return 1;
  if (length <= 6) return 2;
  return 3;
}

// `word` is where `candidate` begins, or a dash-separated tail of it.
bool IsPart(const std::string& word, const std::string& candidate) {
  if (word.size() < 3 || word.size() >= candidate.size()) return false;
  if (candidate.compare(0, word.size(), word) == 0) return true;
  const size_t at = candidate.size() - word.size();
  return candidate.compare(at, word.size(), word) == 0 && candidate[at - 1] == '-';
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  // d[i][j]: distance between the first i characters of a and the first j of b.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  const std::string typed = Normalize(word);
  if (typed.empty()) return std::nullopt;
  const std::string* best = nullptr;
  size_t best_distance = MaxDistance(typed.size()) + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(typed, Normalize(candidate));
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best != nullptr) return *best;
  const std::string* part_of = nullptr;
  for (const std::string& candidate : candidates) {
    if (!IsPart(typed, Normalize(candidate))) continue;
    if (part_of != nullptr) return std::nullopt;  // ambiguous
    part_of = &candidate;
  }
  if (part_of != nullptr) return *part_of;
  return std::nullopt;
}

}  // namespace pgoutbox::cli
