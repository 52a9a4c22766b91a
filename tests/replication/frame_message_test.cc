// The messages of truncated frames count their bytes in the right number.
#include <gtest/gtest.h>

#include <vector>

#include "replication/frame.h"

namespace pgoutbox::replication {
namespace {

TEST(FrameMessageTest, OneByteFramesSayByte) {
  for (uint8_t tag : {'w', 'k'}) {
    const std::vector<uint8_t> bytes = {tag};
    auto frame = ParseFrame(bytes);
    ASSERT_FALSE(frame.ok());
    EXPECT_NE(frame.status().message().find(" of 1 byte"), std::string::npos)
        << frame.status().message();
    EXPECT_EQ(frame.status().message().find("1 bytes"), std::string::npos)
        << frame.status().message();
  }
  const std::vector<uint8_t> two = {'k', 0};
  EXPECT_NE(ParseFrame(two).status().message().find(" of 2 bytes"), std::string::npos);
}

}  // namespace
}  // namespace pgoutbox::replication
