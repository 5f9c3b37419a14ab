#include "core/format.h"

#include <cmath>

#include <fmt/format.h>

namespace clustertwin::core {

namespace {
// v to 9 significant digits: what a clock difference or a sum of many of them means.
double rounded(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  double scale = std::pow(10, 8 - std::floor(std::log10(std::abs(v))));
  return std::round(v * scale) / scale;
}
}  // namespace

std::string format_seconds(double s, Zero zero) {
  if (s == 0 && zero == Zero::Bare) return "0";
  s = rounded(s);
  if (s >= 1) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.2f} ms", s * 1e3);
  return fmt::format("{:.1f} us", s * 1e6);
}

std::string format_signed_seconds(double s) {
  s = rounded(s);
  return (s < 0 ? "-" : "+") + format_seconds(std::abs(s));
}

std::string format_tick_seconds(double v, double top) {
  if (v == 0) return "0";
  if (top >= 1) return fmt::format("{:g} s", v);
  if (top >= 1e-3) return fmt::format("{:g} ms", v * 1e3);
  return fmt::format("{:g} us", v * 1e6);
}

std::string format_bytes(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} KB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

std::string format_rate(double v) {
  v = rounded(v);
  if (v <= 0) return "-";
  return v >= 1e9 ? fmt::format("{:.2f} GB/s", v / 1e9) : fmt::format("{:.1f} MB/s", v / 1e6);
}

std::string format_bit_rate(double bytes_per_s) {
  const double bits = rounded(bytes_per_s * 8);
  return bits >= 1e9 ? fmt::format("{:.3g} Gb/s", bits / 1e9) : fmt::format("{:.3g} Mb/s", bits / 1e6);
}

std::string format_percent(double percent, int decimals) { return fmt::format("{:.{}f} %", percent, decimals); }

std::string format_error_percent(double e) { return std::isfinite(e) ? fmt::format("{:+.1f} %", e) : "n/a"; }

}  // namespace clustertwin::core
