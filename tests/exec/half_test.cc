// fp16 and bf16 conversions of exec/half.h against bit patterns worked out by hand from the IEEE
// 754 layouts (fp16: 1 sign, 5 exponent bits biased by 15, 10 mantissa bits; bf16: the top 16 bits
// of an fp32), and exhaustive round trips.
#include "exec/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace clustertwin::exec {
namespace {

TEST(Bf16, KnownValues) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_bf16(15.0f), 0x4170);
  EXPECT_EQ(float_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_float(0x4170), 15.0f);
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80);         // halfway, even below: down
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);     // halfway, odd below: up
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);  // above halfway: up
  EXPECT_EQ(bf16_to_float(float_to_bf16(257.0f)), 256.0f);  // 257 needs 9 significant bits
}

TEST(Bf16, InfinityAndNaN) {
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low bits must not round into infinity.
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::bit_cast<float>(0x7F800001u)))));
  EXPECT_EQ(float_to_bf16(3.4e38f), 0x7F80);  // rounds past the largest finite bf16
}

TEST(Bf16, EveryValueRoundTrips) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    float f = bf16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bf16(f), h) << std::hex << h;
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(float_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(float_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_fp16(65504.0f), 0x7BFF);  // the largest finite fp16
  EXPECT_EQ(float_to_fp16(0.1f), 0x2E66);
  EXPECT_EQ(float_to_fp16(0x1p-14f), 0x0400);  // the smallest normal
  EXPECT_EQ(float_to_fp16(0x1p-24f), 0x0001);  // the smallest subnormal
  EXPECT_EQ(fp16_to_float(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_to_float(0x03FF), 1023 * 0x1p-24f);
  EXPECT_EQ(fp16_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(fp16_to_float(0x2E66), 0.0999755859375f);
}

TEST(Fp16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_fp16(1.0f + 0x1p-11f), 0x3C00);      // halfway, even below: down
  EXPECT_EQ(float_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);  // halfway, odd below: up
  EXPECT_EQ(float_to_fp16(2049.0f), 0x6800);              // 2049 is halfway between 2048 and 2050
  EXPECT_EQ(float_to_fp16(0x1p-25f), 0x0000);             // halfway to the smallest subnormal: even (0)
  EXPECT_EQ(float_to_fp16(1.5f * 0x1p-25f), 0x0001);      // above halfway: up
  EXPECT_EQ(float_to_fp16(3 * 0x1p-25f), 0x0002);         // 1.5 units, odd below: up
  EXPECT_EQ(float_to_fp16(1023.5f * 0x1p-24f), 0x0400);   // the largest subnormal rounds up to the smallest normal
}

TEST(Fp16, OverflowInfinityAndNaN) {
  EXPECT_EQ(float_to_fp16(65519.0f), 0x7BFF);  // below halfway to 65536: the largest finite
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7C00);  // halfway: rounds to even, which is infinity
  EXPECT_EQ(float_to_fp16(-1e9f), 0xFC00);
  EXPECT_EQ(float_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(std::isnan(fp16_to_float(float_to_fp16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(fp16_to_float(0x7C00)));
  EXPECT_EQ(float_to_fp16(-0.0f), 0x8000);
}

TEST(Fp16, EveryValueRoundTrips) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    float f = fp16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_fp16(f), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace clustertwin::exec
