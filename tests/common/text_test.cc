#include "common/text.h"

#include <gtest/gtest.h>

namespace pgoutbox {
namespace {

TEST(Counted, SingularOnlyForOne) {
  EXPECT_EQ(Counted(1, "broker"), "1 broker");
  EXPECT_EQ(Counted(0, "broker"), "0 brokers");
  EXPECT_EQ(Counted(3, "event"), "3 events");
  EXPECT_EQ(Counted(18446744073709551615ULL, "row"), "18446744073709551615 rows");
}

TEST(Counted, IrregularPlural) {
  EXPECT_EQ(Counted(1, "entry", "entries"), "1 entry");
  EXPECT_EQ(Counted(2, "entry", "entries"), "2 entries");
}

}  // namespace
}  // namespace pgoutbox
