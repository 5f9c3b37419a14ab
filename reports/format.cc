#include "reports/format.h"

#include <cmath>

#include <fmt/format.h>

#include "core/format.h"

namespace clustertwin::reports {

namespace {
double rounded(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  double scale = std::pow(10, 8 - std::floor(std::log10(std::abs(v))));
  return std::round(v * scale) / scale;
}
}  // namespace

std::string seconds(double s) { return core::format_seconds(rounded(s)); }

std::string signed_seconds(double s) {
  s = rounded(s);
  return (s < 0 ? "-" : "+") + core::format_seconds(std::abs(s));
}

std::string rate(double v) {
  v = rounded(v);
  if (v <= 0) return "-";
  return v >= 1e9 ? fmt::format("{:.2f} GB/s", v / 1e9) : fmt::format("{:.1f} MB/s", v / 1e6);
}

std::string percent(double e) { return std::isfinite(e) ? fmt::format("{:+.1f} %", e) : "n/a"; }

}  // namespace clustertwin::reports
