#include "outbox/message_mapper.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace pgoutbox::outbox {
namespace {

pgoutput::LogicalMessage Message(std::string_view content, bool transactional = true,
                                 std::string_view prefix = "pgoutbox") {
  pgoutput::LogicalMessage m;
  m.flags = transactional ? 1 : 0;
  m.lsn = Lsn(0x1A2B3C4);
  m.prefix = prefix;
  m.content = content;
  return m;
}

std::map<std::string, std::string> Headers(const Event& e) {
  std::map<std::string, std::string> out;
  for (const EventHeader& h : e.headers) {
    out[std::string(h.name)] = h.is_null ? "<null>" : std::string(h.value);
  }
  return out;
}

class MessageMapperTest : public ::testing::Test {
 protected:
  std::unique_ptr<MessageMapper> Make(std::string topic_template = "outbox.event.{aggregate_type}",
                                      std::string prefix = "pgoutbox") {
    auto m = MessageMapper::Create({prefix, topic_template});
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  Event event_;
};

TEST_F(MessageMapperTest, MapsAnEventWithEveryField) {
  auto mapper = Make();
  const std::string content =
      R"({"id": "e-1", "aggregate_type": "order", "aggregate_id": "42", "event_type": "created",)"
      R"( "payload": {"total": 10, "items": [1, 2]}, "headers": {"trace": "t-1", "n": 3,)"
      R"( "ok": true, "none": null, "id": "dropped"}, "extra": "ignored"})";
  const auto m = Message(content);
  ASSERT_TRUE(mapper->Map(m, &event_).ok());
  EXPECT_EQ(event_.id, "e-1");
  EXPECT_EQ(event_.key, "42");
  EXPECT_EQ(event_.event_type, "created");
  EXPECT_EQ(event_.aggregate_type, "order");
  EXPECT_EQ(event_.topic, "outbox.event.order");
  EXPECT_EQ(event_.payload, R"({"total": 10, "items": [1, 2]})");  // as written
  EXPECT_FALSE(event_.payload_is_null);
  ASSERT_GE(event_.headers.size(), 3u);
  EXPECT_EQ(event_.headers[0].name, "id");
  EXPECT_EQ(event_.headers[0].value, "e-1");
  EXPECT_EQ(event_.headers[1].name, "event_type");
  EXPECT_EQ(event_.headers[2].name, "aggregate_type");
  const auto headers = Headers(event_);
  EXPECT_EQ(headers.at("id"), "e-1") << "a reserved name in headers is dropped";
  EXPECT_EQ(headers.at("trace"), "t-1");
  EXPECT_EQ(headers.at("n"), "3");
  EXPECT_EQ(headers.at("ok"), "true");
  EXPECT_EQ(headers.at("none"), "<null>");
  EXPECT_EQ(event_.headers.size(), 7u);
  EXPECT_FALSE(mapper->bad_row_reason());
}

TEST_F(MessageMapperTest, WithoutAnIdTheWalPositionIsTheId) {
  auto mapper = Make();
  const auto m = Message(
      R"({"aggregate_type": "order", "aggregate_id": 7, "event_type": "paid", "payload": "raw text"})");
  ASSERT_TRUE(mapper->Map(m, &event_).ok());
  EXPECT_EQ(event_.id, "0/1A2B3C4");
  EXPECT_EQ(Headers(event_).at("id"), "0/1A2B3C4");
  EXPECT_EQ(event_.key, "7") << "a number key is its JSON text";
  EXPECT_EQ(event_.payload, "raw text") << "a JSON string payload is its text";
}

TEST_F(MessageMapperTest, PayloadForms) {
  auto mapper = Make();
  auto payload_of = [&](std::string payload) {
    const std::string content =
        R"({"aggregate_type": "a", "aggregate_id": "k", "event_type": "t", "payload": )" + payload +
        "}";
    const auto m = Message(content);
    EXPECT_TRUE(mapper->Map(m, &event_).ok()) << payload;
    return event_.payload_is_null ? std::string("<null>") : std::string(event_.payload);
  };
  EXPECT_EQ(payload_of("null"), "<null>");
  EXPECT_EQ(payload_of("12.5"), "12.5");
  EXPECT_EQ(payload_of("[1, {\"a\": 2}]"), "[1, {\"a\": 2}]");
  EXPECT_EQ(payload_of("\"a \\\"quoted\\\" \\u00e9\""), "a \"quoted\" \xc3\xa9");
  EXPECT_EQ(payload_of("false"), "false");
}

TEST_F(MessageMapperTest, TemplatePlaceholdersTakeTopLevelFields) {
  auto mapper = Make("{tenant}.{aggregate_type}.{event_type}");
  const auto ok = Message(
      R"({"tenant": "acme", "aggregate_type": "order", "aggregate_id": "1", "event_type": "created", "payload": {}})");
  ASSERT_TRUE(mapper->Map(ok, &event_).ok());
  EXPECT_EQ(event_.topic, "acme.order.created");

  const auto missing = Message(
      R"({"aggregate_type": "order", "aggregate_id": "1", "event_type": "created", "payload": {}})");
  const Status st = mapper->Map(missing, &event_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(mapper->bad_row_reason(), BadRowReason::kNullColumn);
  EXPECT_NE(st.message().find("{tenant}"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("message pgoutbox at 0/1A2B3C4"), std::string::npos) << st.ToString();
}

TEST_F(MessageMapperTest, BadContentIsABadRowWithItsReason) {
  auto mapper = Make();
  struct Case {
    std::string content;
    BadRowReason reason;
    std::string says;
  };
  const std::string rest = R"("aggregate_id": "k", "event_type": "t", "payload": {})";
  const std::vector<Case> cases = {
      {"not json", BadRowReason::kMessage, "not a JSON object: it starts with \"not json\""},
      {"[1, 2]", BadRowReason::kMessage, "not a JSON object"},
      {"{\"aggregate_type\": ", BadRowReason::kMessage, "not valid JSON"},
      {R"({"aggregate_id": "k", "event_type": "t", "payload": {}})", BadRowReason::kMessage,
       "\"aggregate_type\" is missing"},
      {R"({"aggregate_type": "a", "aggregate_id": "k", "event_type": "t"})", BadRowReason::kMessage,
       "\"payload\" is missing"},
      {R"({"aggregate_type": 5, )" + rest + "}", BadRowReason::kMessage,
       "\"aggregate_type\" is a number; it must be a string"},
      {R"({"aggregate_type": "a", "aggregate_id": null, "event_type": "t", "payload": {}})",
       BadRowReason::kMessage, "\"aggregate_id\" is null"},
      {R"({"aggregate_type": "a", "aggregate_type": "b", )" + rest + "}", BadRowReason::kMessage,
       "appears twice"},
      {R"({"aggregate_type": "a", "headers": [1], )" + rest + "}", BadRowReason::kHeaders,
       "\"headers\" is an array"},
      {R"({"aggregate_type": "a", "headers": {"x": {"y": 1}}, )" + rest + "}",
       BadRowReason::kHeaders, "header values must be"},
      {R"({"aggregate_type": "a b", )" + rest + "}", BadRowReason::kTopic,
       "not a valid Kafka topic name"},
      {R"({"aggregate_type": "a", )" + rest + "} trailing", BadRowReason::kMessage, ""},
      {R"({"aggregate_type": "a", "aggregate_id": 12abc, "event_type": "t", "payload": {}})",
       BadRowReason::kMessage, "bad token \"12abc\""},
      {R"({"aggregate_type": "a", "aggregate_id": "k", "event_type": "t", "payload": truth})",
       BadRowReason::kMessage, "bad token"},
      {R"({"aggregate_type": "a", "headers": {"n": 1.}, )" + rest + "}", BadRowReason::kHeaders,
       "bad token \"1.\""},
  };
  for (const Case& c : cases) {
    const auto m = Message(c.content);
    const Status st = mapper->Map(m, &event_);
    ASSERT_FALSE(st.ok()) << c.content;
    EXPECT_EQ(mapper->bad_row_reason(), c.reason) << c.content << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.says), std::string::npos) << st.ToString();
  }
  // A good message after bad ones clears the reason.
  const std::string good_content = R"({"aggregate_type": "a", )" + rest + "}";
  const auto good = Message(good_content);
  const Status good_status = mapper->Map(good, &event_);
  ASSERT_TRUE(good_status.ok()) << good_status.ToString();
  EXPECT_FALSE(mapper->bad_row_reason());
}

TEST_F(MessageMapperTest, NonTransactionalMessagesAreRefused) {
  auto mapper = Make();
  const auto m = Message(
      R"({"aggregate_type": "a", "aggregate_id": "k", "event_type": "t", "payload": {}})", false);
  const Status st = mapper->Map(m, &event_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(mapper->bad_row_reason(), BadRowReason::kNonTransactional);
  EXPECT_NE(st.message().find("rolls back"), std::string::npos) << st.ToString();
}

TEST_F(MessageMapperTest, OnlyTheExactPrefixIsAnEvent) {
  auto mapper = Make();
  EXPECT_TRUE(mapper->IsEvent(Message("{}", true, "pgoutbox")));
  EXPECT_FALSE(mapper->IsEvent(Message("{}", true, "pgoutbox.heartbeat")));
  EXPECT_FALSE(mapper->IsEvent(Message("{}", false, "pgoutbox.heartbeat")));
  EXPECT_FALSE(mapper->IsEvent(Message("{}", true, "other")));
  auto off = Make("outbox.event.{aggregate_type}", "");
  EXPECT_FALSE(off->IsEvent(Message("{}", true, "")));
  EXPECT_FALSE(off->IsEvent(Message("{}", true, "pgoutbox")));
}

TEST_F(MessageMapperTest, RefusesTheHeartbeatPrefixAndABadTemplate) {
  auto heartbeat = MessageMapper::Create({"pgoutbox.heartbeat", "outbox"});
  ASSERT_FALSE(heartbeat.ok());
  EXPECT_EQ(heartbeat.status().code(), Status::Code::kInvalidArgument);
  auto bad_template = MessageMapper::Create({"pgoutbox", "outbox.{"});
  ASSERT_FALSE(bad_template.ok());
  EXPECT_EQ(bad_template.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgoutbox::outbox
