#include "core/units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

namespace clustertwin::core {

namespace {
struct Unit {
  std::string_view name;
  double scale;
};

// Bits are written with a lower-case b, bytes with an upper-case B (as link vendors write them).
constexpr std::array kBandwidth{
    Unit{"bps", 1 / 8.0},       Unit{"b/s", 1 / 8.0},       Unit{"Kbps", 1e3 / 8},
    Unit{"Kb/s", 1e3 / 8},      Unit{"Mbps", 1e6 / 8},      Unit{"Mb/s", 1e6 / 8},
    Unit{"Gbps", 1e9 / 8},      Unit{"Gb/s", 1e9 / 8},      Unit{"Tbps", 1e12 / 8},
    Unit{"Tb/s", 1e12 / 8},     Unit{"B/s", 1},             Unit{"KB/s", 1e3},
    Unit{"MB/s", 1e6},          Unit{"GB/s", 1e9},          Unit{"TB/s", 1e12},         Unit{"PB/s", 1e15},
    Unit{"KiB/s", 1024.0},      Unit{"MiB/s", 1048576.0},   Unit{"GiB/s", 1073741824.0},
    Unit{"Bps", 1},             Unit{"MBps", 1e6},          Unit{"GBps", 1e9}};
constexpr std::array kTime{Unit{"s", 1},      Unit{"ms", 1e-3}, Unit{"us", 1e-6},
                           Unit{"µs", 1e-6}, Unit{"ns", 1e-9}, Unit{"min", 60}};
constexpr std::array kBytes{Unit{"B", 1},          Unit{"KB", 1e3},          Unit{"MB", 1e6},
                            Unit{"GB", 1e9},       Unit{"TB", 1e12},         Unit{"KiB", 1024.0},
                            Unit{"MiB", 1048576.0}, Unit{"GiB", 1073741824.0}, Unit{"TiB", 1099511627776.0}};
constexpr std::array kFlopRate{Unit{"FLOPS", 1},     Unit{"KFLOPS", 1e3},   Unit{"MFLOPS", 1e6},
                               Unit{"GFLOPS", 1e9},  Unit{"TFLOPS", 1e12},  Unit{"PFLOPS", 1e15},
                               Unit{"FLOP/s", 1},    Unit{"GFLOP/s", 1e9},  Unit{"TFLOP/s", 1e12}};

template <size_t N>
std::optional<double> lookup(const std::array<Unit, N>& units, std::string_view name) {
  for (const auto& u : units)
    if (u.name == name) return u.scale;
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
}  // namespace

Range physical_range(Quantity q) {
  switch (q) {
    case Quantity::Bandwidth: return {1e3 / 8, 1e15, "1Kbps", "1PB/s"};
    case Quantity::Time: return {0, 3600, "0s", "60min"};
    case Quantity::Bytes: return {0, 1e15, "0B", "1000TB"};
    case Quantity::FlopRate: return {1e6, 1e18, "1MFLOPS", "1000PFLOPS"};
  }
  return {0, 0, "", ""};
}

std::string describe(Quantity q) {
  switch (q) {
    case Quantity::Bandwidth: return "a bandwidth with its unit, like 40Gbps or 2.5GB/s";
    case Quantity::Time: return "a time with its unit, like 5us, 0.4ms or 2s";
    case Quantity::Bytes: return "a size with its unit, like 25MB or 16GiB";
    case Quantity::FlopRate: return "a compute rate with its unit, like 4.6TFLOPS";
  }
  return "a quantity";
}

std::optional<double> parse_quantity(std::string_view text, Quantity q) {
  text = trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // A number too large or too small for a double (1e999) is still a number: strtod saturates it to
  // infinity or 0, which the caller's range check then names.
  if (ec == std::errc::result_out_of_range) value = std::strtod(std::string(text.substr(0, end - text.data())).c_str(), nullptr);
  else if (ec != std::errc{}) return std::nullopt;
  if (std::isnan(value) || value < 0) return std::nullopt;
  std::string_view unit = trim(std::string_view(end, text.data() + text.size() - end));
  std::optional<double> scale;
  switch (q) {
    case Quantity::Bandwidth: scale = lookup(kBandwidth, unit); break;
    case Quantity::Time: scale = lookup(kTime, unit); break;
    case Quantity::Bytes: scale = lookup(kBytes, unit); break;
    case Quantity::FlopRate: scale = lookup(kFlopRate, unit); break;
  }
  if (!scale) return std::nullopt;
  return value * *scale;
}

}  // namespace clustertwin::core
