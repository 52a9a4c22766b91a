#include "replication/frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace pgoutbox::replication {
namespace {

std::vector<uint8_t> U64(uint64_t v) {
  std::vector<uint8_t> out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (i * 8)));
  return out;
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(FrameTest, ParsesXLogData) {
  auto bytes = Cat({{'w'}, U64(0x16B3748), U64(0x16B3800), U64(123456), {'B', 1, 2}});
  auto frame = ParseFrame(bytes);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  auto* d = std::get_if<XLogData>(&*frame);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->start, Lsn(0x16B3748));
  EXPECT_EQ(d->wal_end, Lsn(0x16B3800));
  EXPECT_EQ(d->send_time.micros(), 123456);
  ASSERT_EQ(d->payload.size(), 3u);
  EXPECT_EQ(d->payload[0], 'B');
  EXPECT_EQ(d->payload.data(), bytes.data() + 25);  // a view, not a copy
}

TEST(FrameTest, ParsesKeepalive) {
  auto bytes = Cat({{'k'}, U64(0x100000000ULL), U64(7), {1}});
  auto frame = ParseFrame(bytes);
  ASSERT_TRUE(frame.ok());
  auto* k = std::get_if<Keepalive>(&*frame);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->wal_end.ToString(), "1/0");
  EXPECT_TRUE(k->reply_requested);
  bytes.back() = 0;
  EXPECT_FALSE(std::get<Keepalive>(*ParseFrame(bytes)).reply_requested);
}

TEST(FrameTest, RejectsShortAndUnknownFrames) {
  auto w = Cat({{'w'}, U64(1), U64(2), U64(3)});
  for (size_t n = 0; n < w.size(); ++n) {
    auto r = ParseFrame(std::span<const uint8_t>(w.data(), n));
    EXPECT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  }
  EXPECT_TRUE(ParseFrame(w).ok());  // a header with an empty payload is complete
  auto k = Cat({{'k'}, U64(1), U64(2), {0}});
  for (size_t n = 1; n < k.size(); ++n) {
    EXPECT_FALSE(ParseFrame(std::span<const uint8_t>(k.data(), n)).ok()) << n;
  }
  std::vector<uint8_t> unknown = {'x', 0, 0};
  auto r = ParseFrame(unknown);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("0x78"), std::string::npos) << r.status().message();
}

TEST(FrameTest, EncodesStatusUpdate) {
  StatusUpdate u;
  u.written = Lsn(0x0102030405060708ULL);
  u.flushed = Lsn(0x10);
  u.applied = Lsn(0x20);
  u.now = PgTimestamp(0x30);
  u.reply_requested = true;
  auto bytes = EncodeStatusUpdate(u);
  std::vector<uint8_t> expected =
      Cat({{'r'}, U64(0x0102030405060708ULL), U64(0x10), U64(0x20), U64(0x30), {1}});
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), expected);
}

}  // namespace
}  // namespace pgoutbox::replication
