#include "outbox/topic_template.h"

#include <utility>

namespace pgoutbox::outbox {
namespace {

constexpr size_t kMaxTopicNameLength = 249;

std::string Describe(std::string_view text) {
  return "--topic template \"" + std::string(text) + "\"";
}

// A character for a message: printable ASCII as itself, anything else as a
// hex byte, since a template may come from anywhere.
std::string ShowChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

}  // namespace

bool IsTopicNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTopicNameLength) return false;
  if (name == "." || name == "..") return false;
  for (char c : name) {
    if (!IsTopicNameChar(c)) return false;
  }
  return true;
}

Result<TopicTemplate> TopicTemplate::Parse(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("--topic template is empty");
  TopicTemplate result;
  result.text_ = std::string(text);
  size_t literal_length = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '{') {
      const size_t close = text.find_first_of("{}", pos + 1);
      if (close == std::string_view::npos || text[close] == '{') {
        return Status::InvalidArgument(Describe(text) + " has a \"{\" at position " +
                                       std::to_string(pos) + " without a matching \"}\"");
      }
      if (close == pos + 1) {
        return Status::InvalidArgument(
            Describe(text) + " has an empty placeholder \"{}\" at position " + std::to_string(pos));
      }
      std::string name(text.substr(pos + 1, close - pos - 1));
      result.placeholders_.push_back(name);
      result.segments_.push_back(Segment{true, std::move(name)});
      pos = close + 1;
      continue;
    }
    if (c == '}') {
      return Status::InvalidArgument(Describe(text) + " has a \"}\" at position " +
                                     std::to_string(pos) + " without a matching \"{\"");
    }
    if (!IsTopicNameChar(c)) {
      return Status::InvalidArgument(
          Describe(text) + " has " + ShowChar(c) + " at position " + std::to_string(pos) +
          ", which a Kafka topic name cannot contain (" + std::string(kTopicNameRule) + ")");
    }
    if (result.segments_.empty() || result.segments_.back().is_placeholder) {
      result.segments_.push_back(Segment{false, std::string()});
    }
    result.segments_.back().text.push_back(c);
    ++literal_length;
    ++pos;
  }
  if (literal_length > kMaxTopicNameLength) {
    return Status::InvalidArgument(Describe(text) + " has " + std::to_string(literal_length) +
                                   " literal characters; a Kafka topic name has at most " +
                                   std::to_string(kMaxTopicNameLength));
  }
  if (result.is_constant() && !IsValidTopicName(text)) {
    return Status::InvalidArgument(Describe(text) + " is not a valid Kafka topic name (" +
                                   std::string(kTopicNameRule) + ")");
  }
  return result;
}

}  // namespace pgoutbox::outbox
