#include "core/intervals.h"

#include <algorithm>
#include <cmath>

namespace clustertwin::core {

std::vector<Interval> merge(std::vector<Interval> v) {
  std::sort(v.begin(), v.end());
  std::vector<Interval> out;
  for (const auto& iv : v) {
    if (!out.empty() && iv.first <= out.back().second) out.back().second = std::max(out.back().second, iv.second);
    else out.push_back(iv);
  }
  return out;
}

std::vector<Interval> unite(std::vector<Interval> a, const std::vector<Interval>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return merge(std::move(a));
}

double length(const std::vector<Interval>& v) {
  double t = 0;
  for (const auto& [a, b] : v) t += b - a;
  return t;
}

double overlap(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  double t = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    double lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (hi > lo) t += hi - lo;
    (a[i].second < b[j].second) ? ++i : ++j;
  }
  return t;
}

std::vector<Interval> clip(const std::vector<Interval>& v, double lo, double hi) {
  std::vector<Interval> out;
  for (const auto& [a, b] : v)
    if (std::min(b, hi) > std::max(a, lo)) out.push_back({std::max(a, lo), std::min(b, hi)});
  return out;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace clustertwin::core
