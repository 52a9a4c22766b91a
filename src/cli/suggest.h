// Suggestions for mistyped words on the command line: the subcommand or flag
// the user most likely meant ("did you mean 'run'?").
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgoutbox::cli {

// The optimal string alignment distance between `a` and `b`: insertions,
// deletions, substitutions and transpositions of two adjacent characters
// each count 1 ("rnu" is 1 from "run", "stauts" 1 from "status").
// Case-sensitive.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate `word` most likely meant, or nullopt when none is close.
// Leading dashes and case are ignored on both sides, so "-Retenion" matches
// "--retention"; the candidate is returned as given. Close means: within an
// edit distance of 1 for words of up to 3 characters, 2 up to 6, else 3 (the
// first such candidate of smallest distance wins); failing that, the one
// candidate (if exactly one) that `word` of at least 3 characters begins or
// ends at a dash-separated boundary ("retent" -> "retention",
// "lock-timeout" -> "cleanup-lock-timeout").
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace pgoutbox::cli
