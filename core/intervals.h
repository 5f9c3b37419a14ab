// Interval arithmetic on op timelines (seconds): unions, overlaps and clipping, for the summary's
// breakdown of a step and the report's per-rank figures, which must agree exactly.
#pragma once

#include <utility>
#include <vector>

namespace clustertwin::core {

using Interval = std::pair<double, double>;  // [start, end]

// Sorted, non-overlapping union of intervals.
std::vector<Interval> merge(std::vector<Interval> v);
// Union of two sets of intervals.
std::vector<Interval> unite(std::vector<Interval> a, const std::vector<Interval>& b);
// Total length of merged intervals.
double length(const std::vector<Interval>& v);
// Length of a ∩ b, both merged.
double overlap(const std::vector<Interval>& a, const std::vector<Interval>& b);
// The parts of merged intervals inside [lo, hi].
std::vector<Interval> clip(const std::vector<Interval>& v, double lo, double hi);
// Linear-interpolated percentile (q in [0, 1]); 0 for no values.
double percentile(std::vector<double> v, double q);

}  // namespace clustertwin::core
