#include "common/byte_size.h"

#include <gtest/gtest.h>

namespace pgoutbox {
namespace {

TEST(ByteSizeTest, ParsesUnitsAndPlainBytes) {
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("4096B"), 4096u);
  EXPECT_EQ(*ParseByteSize("100kB"), 100u * 1024);
  EXPECT_EQ(*ParseByteSize("512MB"), 512u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("1GB"), 1024u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("2TB"), 2ull << 40);
  EXPECT_EQ(*ParseByteSize("1 GB"), 1024u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("1gb"), 1024u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("1G"), 1024u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("100KB"), 100u * 1024);
  EXPECT_EQ(*ParseByteSize("100k"), 100u * 1024);
  EXPECT_EQ(*ParseByteSize("7 bytes"), 7u);
}

TEST(ByteSizeTest, ParsesFractionsRoundingDown) {
  EXPECT_EQ(*ParseByteSize("1.5GB"), 1536u * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("0.5kB"), 512u);
  EXPECT_EQ(*ParseByteSize("1.0009kB"), 1024u);  // 1024.92 bytes
  EXPECT_EQ(*ParseByteSize(".5MB"), 512u * 1024);
  EXPECT_EQ(*ParseByteSize("2.5"), 2u);
}

TEST(ByteSizeTest, RejectsNonsense) {
  for (const char* bad : {"", "GB", "-1GB", "1XB", "1 G B", "1GBB", "1e3", "1,5GB", "one",
                          "1.2.3MB", " 1GB", "1GB ", "1 kbit"}) {
    auto r = ParseByteSize(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
    }
  }
}

TEST(ByteSizeTest, RejectsOverflow) {
  EXPECT_TRUE(ParseByteSize("9223372036854775807").ok());
  EXPECT_FALSE(ParseByteSize("9223372036854775808").ok());
  EXPECT_FALSE(ParseByteSize("99999999999999999999999").ok());
  EXPECT_TRUE(ParseByteSize("8191PB").ok());
  EXPECT_FALSE(ParseByteSize("8192PB").ok());
  EXPECT_FALSE(ParseByteSize("8388608TB").ok());
}

TEST(ByteSizeTest, Formats) {
  EXPECT_EQ(FormatByteSize(0), "0 bytes");
  EXPECT_EQ(FormatByteSize(1), "1 byte");
  EXPECT_EQ(FormatByteSize(1023), "1023 bytes");
  EXPECT_EQ(FormatByteSize(1024), "1 kB");
  EXPECT_EQ(FormatByteSize(1536), "1.5 kB");
  EXPECT_EQ(FormatByteSize(12897485), "12.3 MB");
  EXPECT_EQ(FormatByteSize(1024ull * 1024 * 1024), "1 GB");
  EXPECT_EQ(FormatByteSize(1288490189), "1.2 GB");
  EXPECT_EQ(FormatByteSize(1024ull * 1024 * 1024 - 1), "1.0 GB");  // not "1024.0 MB"
  EXPECT_EQ(FormatByteSize(5ull << 40), "5 TB");
}

TEST(ByteSizeTest, FormatThenParseRoundTripsWholeUnits) {
  for (uint64_t bytes : {1ull, 1024ull, 3ull << 20, 7ull << 30, 2ull << 40}) {
    auto parsed = ParseByteSize(FormatByteSize(bytes));
    ASSERT_TRUE(parsed.ok()) << FormatByteSize(bytes);
    EXPECT_EQ(*parsed, bytes);
  }
}

}  // namespace
}  // namespace pgoutbox
