// libFuzzer target: the --topic template (outbox::TopicTemplate) and Kafka's
// topic name rule.
//
// Input: the template text, then optionally a NUL byte and placeholder values
// separated by NUL bytes (used in turn, repeated if there are fewer values
// than placeholders, empty if there are none).
//
// Checked, besides no crash or sanitizer report:
//   - IsTopicNameChar and IsValidTopicName agree with Kafka's rule written
//     out here (1-249 characters of [a-zA-Z0-9._-], not "." or "..");
//   - a parsed template gives back its text: its segments, literal text and
//     "{name}" placeholders, concatenate to text(); placeholders() lists the
//     placeholder segments in order; no two literal segments are adjacent;
//     literal text holds only topic name characters; a constant template is
//     a valid topic name;
//   - Parse accepts exactly the templates its contract allows (checked by a
//     scan written out here);
//   - EventMapper::Create accepts the template exactly when Parse does;
//   - Render gives the segments with each placeholder replaced by its value,
//     and the rendered topic is valid exactly when the rule says so.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "outbox/mapper.h"
#include "outbox/topic_template.h"

namespace {

using pgoutbox::outbox::IsTopicNameChar;
using pgoutbox::outbox::IsValidTopicName;
using pgoutbox::outbox::TopicTemplate;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool RuleChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool RuleName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!RuleChar(c)) return false;
  }
  return true;
}

// Whether Parse must accept `text`, judged without Parse: it refuses a
// literal character outside the rule, a "}" outside a placeholder, a "{"
// inside one or never closed, "{}", more than 249 literal characters, and a
// template without placeholders that is not a valid topic name.
bool Acceptable(std::string_view text) {
  if (text.empty()) return false;
  bool in_placeholder = false;
  bool has_placeholder = false;
  size_t open = 0;
  size_t literal = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_placeholder) {
      if (c == '{') return false;
      if (c == '}') {
        if (i == open + 1) return false;
        in_placeholder = false;
      }
    } else if (c == '{') {
      in_placeholder = true;
      has_placeholder = true;
      open = i;
    } else if (c == '}' || !RuleChar(c)) {
      return false;
    } else {
      ++literal;
    }
  }
  return !in_placeholder && literal <= 249 && (has_placeholder || RuleName(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string_view> values;
  if (nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (true) {
      const size_t next = rest.find('\0');
      values.push_back(rest.substr(0, next));
      if (next == std::string_view::npos) break;
      rest = rest.substr(next + 1);
    }
  }

  for (char c : input) Check(IsTopicNameChar(c) == RuleChar(c));
  Check(IsValidTopicName(text) == RuleName(text));
  for (std::string_view value : values) Check(IsValidTopicName(value) == RuleName(value));

  auto parsed = TopicTemplate::Parse(text);
  pgoutbox::outbox::MapperOptions options;
  options.topic_template = std::string(text);
  Check(pgoutbox::outbox::EventMapper::Create(options).ok() == parsed.ok());
  Check(parsed.ok() == Acceptable(text));
  if (!parsed.ok()) return 0;
  const TopicTemplate& topic_template = *parsed;

  Check(topic_template.text() == text);
  std::string rebuilt;
  std::vector<std::string> names;
  bool previous_literal = false;
  for (const auto& segment : topic_template.segments()) {
    if (segment.is_placeholder) {
      Check(!segment.text.empty());
      rebuilt += "{" + segment.text + "}";
      names.push_back(segment.text);
      previous_literal = false;
    } else {
      Check(!segment.text.empty() && !previous_literal);
      for (char c : segment.text) Check(RuleChar(c));
      rebuilt += segment.text;
      previous_literal = true;
    }
  }
  Check(rebuilt == text);
  Check(names == topic_template.placeholders());
  Check(topic_template.is_constant() == names.empty());
  if (topic_template.is_constant()) Check(RuleName(text));

  std::string expected;
  size_t next = 0;
  for (const auto& segment : topic_template.segments()) {
    if (!segment.is_placeholder) {
      expected += segment.text;
    } else if (!values.empty()) {
      expected += values[next++ % values.size()];
    }
  }
  std::string rendered = "left over from a previous render";
  size_t calls = 0;
  topic_template.Render(
      [&](size_t i) -> std::string_view {
        Check(i == calls++);
        return values.empty() ? std::string_view() : values[i % values.size()];
      },
      &rendered);
  Check(calls == names.size());
  Check(rendered == expected);
  Check(IsValidTopicName(rendered) == RuleName(rendered));
  return 0;
}
