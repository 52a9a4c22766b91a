#include "core/delivery_state.h"

#include <gtest/gtest.h>

namespace pgoutbox::core {
namespace {

DeliveryState Example() {
  DeliveryState state;
  state.system_identifier = "7300000000000000001";
  state.timeline = 3;
  state.database = "shop \"eu\"";
  state.slot = "pgoutbox";
  state.confirmed = Lsn(0x1'0000'2A00);
  state.mark = pg::DeliveredMark{Lsn(0x1'0000'2000), 9'000'000'123ull, "2026-12-06 23:40:00.5+00"};
  state.phase = DeliveryPhase::kRecovering;
  return state;
}

TEST(DeliveryStateTest, ReadsBackWhatItWrites) {
  const DeliveryState state = Example();
  const std::string json = state.ToJson();
  EXPECT_NE(json.find("\"confirmed\":\"1/2A00\""), std::string::npos) << json;
  auto parsed = DeliveryState::Parse(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << " in " << json;
  EXPECT_EQ(*parsed, state);

  DeliveryState without_mark = Example();
  without_mark.mark.reset();
  without_mark.phase = DeliveryPhase::kStreaming;
  parsed = DeliveryState::Parse(without_mark.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, without_mark);
}

TEST(DeliveryStateTest, FieldsMayComeInAnyOrder) {
  auto parsed = DeliveryState::Parse(
      R"({"mark":{"taken_at":"t","xmin":5,"insert_lsn":"0/10"},"phase":"streaming",)"
      R"("confirmed":"0/20","slot":"s","database":"d","timeline":1,)"
      R"("system_identifier":"42","version":1})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->system_identifier, "42");
  EXPECT_EQ(parsed->confirmed, Lsn(0x20));
  ASSERT_TRUE(parsed->mark.has_value());
  EXPECT_EQ(parsed->mark->xmin, 5u);
  EXPECT_EQ(parsed->mark->insert_lsn, Lsn(0x10));
}

TEST(DeliveryStateTest, RefusesWhatItCannotTrust) {
  const std::string good = Example().ToJson();
  for (
      const std::string& bad : {
          std::string("not json"),
          std::string("[]"),
          std::string(R"({"version":2})"),
          // each required field missing or of the wrong kind
          std::string(
              R"({"version":1,"timeline":1,"database":"d","slot":"s","confirmed":"0/1","phase":"streaming"})"),
          std::string(
              R"({"version":1,"system_identifier":"1","timeline":0,"database":"d","slot":"s","confirmed":"0/1","phase":"streaming"})"),
          std::string(
              R"({"version":1,"system_identifier":"1","timeline":1,"database":"d","slot":"s","confirmed":"x","phase":"streaming"})"),
          std::string(
              R"({"version":1,"system_identifier":"1","timeline":1,"database":"d","slot":"s","confirmed":"0/1","phase":"paused"})"),
          std::string(
              R"({"version":1,"system_identifier":"1","timeline":1,"database":"d","slot":"s","confirmed":"0/1","phase":"streaming","mark":{"xmin":1,"taken_at":"t"}})"),
          std::string(
              R"({"version":1,"system_identifier":"1","timeline":1,"database":"d","slot":"s","confirmed":"0/1","phase":"streaming","mark":3})"),
      }) {
    auto parsed = DeliveryState::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption) << bad;
    EXPECT_NE(parsed.status().message().find("state record"), std::string::npos);
  }
  EXPECT_TRUE(DeliveryState::Parse(good).ok());
}

TEST(DeliveryStateTest, KeyNamesDatabaseAndSlot) {
  EXPECT_EQ(DeliveryStateKey("shop", "pgoutbox"), "shop/pgoutbox");
}

}  // namespace
}  // namespace pgoutbox::core
