// The one formatter of figures: every unit boundary, the rounding that keeps a clock difference
// from reading "1000.0 us", signs, and what a missing figure reads as.
#include "core/format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace clustertwin::core {
namespace {

TEST(FormatSeconds, PicksTheUnitByMagnitude) {
  EXPECT_EQ(format_seconds(1.25), "1.250 s");
  EXPECT_EQ(format_seconds(65.4321), "65.432 s");
  EXPECT_EQ(format_seconds(0.65), "650.00 ms");
  EXPECT_EQ(format_seconds(0.001), "1.00 ms");
  EXPECT_EQ(format_seconds(0.000045), "45.0 us");
  EXPECT_EQ(format_seconds(0), "0.0 us");
}

TEST(FormatSeconds, RoundsToNineDigitsBeforeChoosingTheUnit) {
  // 1 ms measured as the difference of two clock readings.
  EXPECT_EQ(format_seconds(0.0009999999999), "1.00 ms");
  EXPECT_EQ(format_seconds(0.99999999999), "1.000 s");
  // A real difference in the 6th digit stays.
  EXPECT_EQ(format_seconds(0.000999), "999.0 us");
}

TEST(FormatSeconds, ZeroIsBareWhenAsked) {
  EXPECT_EQ(format_seconds(0, Zero::Bare), "0");
  EXPECT_EQ(format_seconds(0.5, Zero::Bare), "500.00 ms");
}

TEST(FormatSignedSeconds, SignsADifference) {
  EXPECT_EQ(format_signed_seconds(0.65), "+650.00 ms");
  EXPECT_EQ(format_signed_seconds(-1), "-1.000 s");
  EXPECT_EQ(format_signed_seconds(-0.000012), "-12.0 us");
  EXPECT_EQ(format_signed_seconds(0), "+0.0 us");
}

TEST(FormatTickSeconds, UsesTheUnitOfTheAxisTop) {
  EXPECT_EQ(format_tick_seconds(0, 25), "0");
  EXPECT_EQ(format_tick_seconds(2.5, 10), "2.5 s");
  EXPECT_EQ(format_tick_seconds(0.25, 0.5), "250 ms");  // a top under 1 s: milliseconds
  EXPECT_EQ(format_tick_seconds(0.00005, 0.0002), "50 us");
}

TEST(FormatBytes, DecimalUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(64e3), "64.0 KB");
  EXPECT_EQ(format_bytes(497.8e6), "497.8 MB");
  EXPECT_EQ(format_bytes(25e9), "25.00 GB");
}

TEST(FormatRate, GigabytesOrMegabytesPerSecond) {
  EXPECT_EQ(format_rate(1.33e9), "1.33 GB/s");
  EXPECT_EQ(format_rate(800e6), "800.0 MB/s");
  EXPECT_EQ(format_rate(999999999.9999), "1.00 GB/s");  // rounded before the unit is chosen
  EXPECT_EQ(format_rate(0), "-");                     // no figure, as in a table of a run without it
}

TEST(FormatBitRate, LinksInBitsAsVendorsQuoteThem) {
  EXPECT_EQ(format_bit_rate(75e9 / 8), "75 Gb/s");
  EXPECT_EQ(format_bit_rate(16.4e9 / 8), "16.4 Gb/s");
  EXPECT_EQ(format_bit_rate(940e6 / 8), "940 Mb/s");
  EXPECT_EQ(format_bit_rate(1e9 / 8), "1 Gb/s");
}

TEST(FormatPercent, DecimalsOnRequest) {
  EXPECT_EQ(format_percent(27.2727), "27.3 %");
  EXPECT_EQ(format_percent(47.4, 0), "47 %");
  EXPECT_EQ(format_percent(0), "0.0 %");
}

TEST(FormatErrorPercent, SignedAndNotANumberWhenUndefined) {
  EXPECT_EQ(format_error_percent(12.34), "+12.3 %");
  EXPECT_EQ(format_error_percent(-100.0 / 3), "-33.3 %");
  EXPECT_EQ(format_error_percent(0), "+0.0 %");
  EXPECT_EQ(format_error_percent(std::numeric_limits<double>::infinity()), "n/a");  // measured 0
  EXPECT_EQ(format_error_percent(NAN), "n/a");
}

}  // namespace
}  // namespace clustertwin::core
