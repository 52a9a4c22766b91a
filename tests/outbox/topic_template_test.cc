#include "outbox/topic_template.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace pgoutbox::outbox {
namespace {

// Asserts `status` is InvalidArgument and its message contains every part.
void ExpectInvalid(const Status& status, std::vector<std::string_view> parts) {
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << status.ToString();
  for (std::string_view part : parts) {
    EXPECT_NE(status.message().find(part), std::string::npos)
        << "missing \"" << part << "\" in: " << status.message();
  }
}

std::string RenderWith(const TopicTemplate& t, const std::vector<std::string_view>& values) {
  std::string out = "stale";
  t.Render([&](size_t i) { return values.at(i); }, &out);
  return out;
}

TEST(TopicTemplateTest, ParsesLiteralsAndPlaceholders) {
  Result<TopicTemplate> t = TopicTemplate::Parse("outbox.{aggregate_type}.v1-{tenant}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->text(), "outbox.{aggregate_type}.v1-{tenant}");
  EXPECT_FALSE(t->is_constant());
  EXPECT_EQ(t->placeholders(), (std::vector<std::string>{"aggregate_type", "tenant"}));
  ASSERT_EQ(t->segments().size(), 4u);
  EXPECT_FALSE(t->segments()[0].is_placeholder);
  EXPECT_EQ(t->segments()[0].text, "outbox.");
  EXPECT_TRUE(t->segments()[1].is_placeholder);
  EXPECT_EQ(t->segments()[1].text, "aggregate_type");
  EXPECT_EQ(t->segments()[2].text, ".v1-");
  EXPECT_EQ(t->segments()[3].text, "tenant");
  EXPECT_EQ(RenderWith(*t, {"order", "acme"}), "outbox.order.v1-acme");
}

TEST(TopicTemplateTest, AdjacentAndRepeatedPlaceholders) {
  Result<TopicTemplate> t = TopicTemplate::Parse("{a}{b}_{a}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->placeholders(), (std::vector<std::string>{"a", "b", "a"}));
  EXPECT_EQ(RenderWith(*t, {"x", "y", "x"}), "xy_x");
}

TEST(TopicTemplateTest, PlaceholderNamesMayHoldAnyCharacterButBraces) {
  // Quoted PostgreSQL identifiers can contain spaces and dots.
  Result<TopicTemplate> t = TopicTemplate::Parse("t.{Tenant Name}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->placeholders(), (std::vector<std::string>{"Tenant Name"}));
}

TEST(TopicTemplateTest, ConstantTemplate) {
  Result<TopicTemplate> t = TopicTemplate::Parse("events");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->is_constant());
  EXPECT_TRUE(t->placeholders().empty());
  EXPECT_EQ(RenderWith(*t, {}), "events");
}

TEST(TopicTemplateTest, SyntaxErrors) {
  ExpectInvalid(TopicTemplate::Parse("").status(), {"--topic template is empty"});
  ExpectInvalid(TopicTemplate::Parse("outbox.{aggregate_type").status(),
                {"--topic template \"outbox.{aggregate_type\"", "\"{\" at position 7",
                 "without a matching \"}\""});
  ExpectInvalid(TopicTemplate::Parse("a{b{c}}").status(), {"\"{\" at position 1"});
  ExpectInvalid(TopicTemplate::Parse("a}b").status(),
                {"\"}\" at position 1", "without a matching \"{\""});
  ExpectInvalid(TopicTemplate::Parse("{a}}").status(), {"\"}\" at position 3"});
  ExpectInvalid(TopicTemplate::Parse("outbox.{}").status(),
                {"empty placeholder \"{}\" at position 7"});
}

TEST(TopicTemplateTest, LiteralTextMustBeTopicCharacters) {
  ExpectInvalid(TopicTemplate::Parse("outbox events.{id}").status(),
                {"' ' at position 6", "which a Kafka topic name cannot contain", "[a-zA-Z0-9._-]"});
  ExpectInvalid(TopicTemplate::Parse("a/{id}").status(), {"'/' at position 1"});
  ExpectInvalid(TopicTemplate::Parse("a\x01{id}").status(), {"byte 0x01 at position 1"});
  ExpectInvalid(TopicTemplate::Parse("caf\xc3\xa9").status(), {"byte 0xc3 at position 3"});
}

TEST(TopicTemplateTest, ConstantTemplateMustBeAValidTopic) {
  ExpectInvalid(TopicTemplate::Parse(".").status(), {"is not a valid Kafka topic name"});
  ExpectInvalid(TopicTemplate::Parse("..").status(), {"is not a valid Kafka topic name"});
  ExpectInvalid(TopicTemplate::Parse(std::string(250, 'a')).status(),
                {"250 literal characters", "at most 249"});
  EXPECT_TRUE(TopicTemplate::Parse(std::string(249, 'a')).ok());
  // With a placeholder the literal text alone may not exceed the limit either.
  ExpectInvalid(TopicTemplate::Parse(std::string(250, 'a') + "{id}").status(),
                {"250 literal characters"});
  EXPECT_TRUE(TopicTemplate::Parse(".{id}").ok());
}

TEST(TopicTemplateTest, ValidTopicNames) {
  EXPECT_TRUE(IsValidTopicName("a"));
  EXPECT_TRUE(IsValidTopicName("outbox.event.Order_v1-2"));
  EXPECT_TRUE(IsValidTopicName("..."));
  EXPECT_TRUE(IsValidTopicName(std::string(249, 'x')));
  EXPECT_FALSE(IsValidTopicName(""));
  EXPECT_FALSE(IsValidTopicName("."));
  EXPECT_FALSE(IsValidTopicName(".."));
  EXPECT_FALSE(IsValidTopicName(std::string(250, 'x')));
  EXPECT_FALSE(IsValidTopicName("bad topic!"));
  EXPECT_FALSE(IsValidTopicName("a/b"));
  EXPECT_FALSE(IsValidTopicName("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidTopicName(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace pgoutbox::outbox
