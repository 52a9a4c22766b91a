// libFuzzer target: the config file's syntax (cli::ParseConfigText) on any
// text.
//
// Property: parsing never crashes; text it accepts, written out again in one
// canonical form (every value a "basic string" with escapes, arrays on one
// line, a [section] line wherever the section changes), parses to the same
// entries: the same sections, keys, values and array-ness, in the same
// order. So every value the parser hands on can be written in a config file,
// and quoting, escapes, comments and arrays read back exactly.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config_file.h"
#include "common/json_escape.h"

namespace {

using pgoutbox::cli::ConfigEntry;

// A "basic string": JSON's escapes are a subset of those the parser reads.
std::string Quote(const std::string& value) { return "\"" + pgoutbox::JsonEscape(value) + "\""; }

std::string Canonical(const std::vector<ConfigEntry>& entries) {
  std::string text;
  std::string section;
  for (const ConfigEntry& e : entries) {
    if (e.section != section) {
      // Sections only ever open, so a top-level entry never follows one.
      if (e.section.empty()) std::abort();
      text += "[" + e.section + "]\n";
      section = e.section;
    }
    text += e.key + " = ";
    if (e.array) {
      text += "[";
      for (size_t i = 0; i < e.values.size(); ++i) text += (i ? ", " : "") + Quote(e.values[i]);
      text += "]";
    } else {
      if (e.values.size() != 1) std::abort();
      text += Quote(e.values[0]);
    }
    text += "\n";
  }
  return text;
}

bool Same(const std::vector<ConfigEntry>& a, const std::vector<ConfigEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].section != b[i].section || a[i].key != b[i].key || a[i].values != b[i].values ||
        a[i].array != b[i].array) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = pgoutbox::cli::ParseConfigText(text);
  if (!entries.ok()) {
    if (entries.status().message().rfind("line ", 0) != 0) std::abort();  // names the line
    return 0;
  }
  const std::string canonical = Canonical(*entries);
  auto again = pgoutbox::cli::ParseConfigText(canonical);
  if (!again.ok()) {
    std::fprintf(stderr, "canonical form refused: %s\n%s\n", again.status().message().c_str(),
                 canonical.c_str());
    std::abort();
  }
  if (!Same(*entries, *again)) {
    std::fprintf(stderr, "canonical form reads differently:\n%s\n", canonical.c_str());
    std::abort();
  }
  return 0;
}
