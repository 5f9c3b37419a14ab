#include "core/intervals.h"

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

TEST(Intervals, UnionOverlapAndClip) {
  // [0,2] and [1,3] join into [0,3]; [5,6] stays apart: 4 s in all.
  auto a = merge({{5, 6}, {1, 3}, {0, 2}});
  EXPECT_EQ(a, (std::vector<Interval>{{0, 3}, {5, 6}}));
  EXPECT_DOUBLE_EQ(length(a), 4);
  // [2,5.5] meets [0,3] over 1 s and [5,6] over 0.5 s.
  EXPECT_DOUBLE_EQ(overlap(a, {{2, 5.5}}), 1.5);
  EXPECT_EQ(unite(a, {{2.5, 5}}), (std::vector<Interval>{{0, 6}}));
  EXPECT_EQ(clip(a, 1, 5.5), (std::vector<Interval>{{1, 3}, {5, 5.5}}));
  EXPECT_TRUE(clip(a, 3.5, 4.5).empty());
}

TEST(Intervals, PercentileInterpolates) {
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.95), 3.85);  // 3 + 0.85 x (4 - 3)
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0);
}

}  // namespace
}  // namespace clustertwin::core
