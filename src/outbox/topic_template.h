// TopicTemplate: the --topic template, literal text with {name} placeholders
// ("outbox.event.{aggregate_type}"), and Kafka's rule for topic names.
//
// Parsing checks the syntax only: balanced braces, no empty placeholder,
// literal text made of characters a topic name may contain. What a
// placeholder refers to is resolved later by the EventMapper, against the
// outbox table's columns.
//
// Thread safety: immutable after Parse; const methods may be called from any
// thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgoutbox::outbox {

// Kafka's rule for topic names, for messages: IsValidTopicName checks it.
inline constexpr std::string_view kTopicNameRule =
    "1-249 characters of [a-zA-Z0-9._-], not \".\" or \"..\"";

// True if `name` follows Kafka's rule: 1 to 249 characters of
// [a-zA-Z0-9._-], and neither "." nor "..".
bool IsValidTopicName(std::string_view name);

// True if `c` may appear in a Kafka topic name.
bool IsTopicNameChar(char c);

class TopicTemplate {
 public:
  struct Segment {
    bool is_placeholder = false;
    std::string text;  // the literal text, or the placeholder's name
  };

  TopicTemplate() = default;

  // Parses `text`. Returns InvalidArgument, naming the --topic flag and the
  // position, for an empty template, a "{" without its "}" or the reverse, an
  // empty placeholder "{}", a literal character that no topic name may
  // contain, literal text longer than a topic name may be, or a template
  // without placeholders that is not a valid topic name.
  static Result<TopicTemplate> Parse(std::string_view text);

  const std::string& text() const { return text_; }
  const std::vector<Segment>& segments() const { return segments_; }

  // The placeholder names in order of appearance (a repeated one repeats).
  const std::vector<std::string>& placeholders() const { return placeholders_; }

  // True if there is no placeholder: every event goes to text().
  bool is_constant() const { return placeholders_.empty(); }

  // Replaces *out with the rendered topic. value(i) returns the value of the
  // i-th placeholder (the index into placeholders()) as a std::string_view.
  template <typename ValueFn>
  void Render(ValueFn&& value, std::string* out) const {
    out->clear();
    size_t next_placeholder = 0;
    for (const Segment& segment : segments_) {
      if (segment.is_placeholder) {
        out->append(value(next_placeholder++));
      } else {
        out->append(segment.text);
      }
    }
  }

 private:
  std::string text_;
  std::vector<Segment> segments_;
  std::vector<std::string> placeholders_;
};

}  // namespace pgoutbox::outbox
