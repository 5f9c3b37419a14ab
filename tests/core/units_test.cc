#include "core/units.h"

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

TEST(Units, BandwidthBitsAndBytes) {
  EXPECT_DOUBLE_EQ(*parse_quantity("40Gbps", Quantity::Bandwidth), 5e9);
  EXPECT_DOUBLE_EQ(*parse_quantity("16.4 Gb/s", Quantity::Bandwidth), 2.05e9);
  EXPECT_DOUBLE_EQ(*parse_quantity("2.5GB/s", Quantity::Bandwidth), 2.5e9);
  EXPECT_DOUBLE_EQ(*parse_quantity("1GiB/s", Quantity::Bandwidth), 1073741824.0);
}

TEST(Units, TimeSizeRate) {
  EXPECT_DOUBLE_EQ(*parse_quantity("5us", Quantity::Time), 5e-6);
  EXPECT_DOUBLE_EQ(*parse_quantity("0.4ms", Quantity::Time), 4e-4);
  EXPECT_DOUBLE_EQ(*parse_quantity("25MB", Quantity::Bytes), 25e6);
  EXPECT_DOUBLE_EQ(*parse_quantity("16GiB", Quantity::Bytes), 17179869184.0);
  EXPECT_DOUBLE_EQ(*parse_quantity("4.6TFLOPS", Quantity::FlopRate), 4.6e12);
}

TEST(Units, RejectsWordsWrongUnitsAndNegatives) {
  EXPECT_FALSE(parse_quantity("fast", Quantity::Bandwidth));
  EXPECT_FALSE(parse_quantity("40", Quantity::Bandwidth));        // a unit is required
  EXPECT_FALSE(parse_quantity("40gbps", Quantity::Bandwidth));    // units are case-sensitive
  EXPECT_FALSE(parse_quantity("5us", Quantity::Bandwidth));       // a time is not a bandwidth
  EXPECT_FALSE(parse_quantity("-1Gbps", Quantity::Bandwidth));
}

}  // namespace
}  // namespace clustertwin::core
