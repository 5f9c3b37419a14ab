// Physical quantities written with units in the user's files ("40Gbps", "5us", "25MB", "4.6TFLOPS"),
// converted to SI base values: bytes/s, seconds, bytes, FLOP/s.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace clustertwin::core {

enum class Quantity { Bandwidth, Time, Bytes, FlopRate };

// The values a figure of a kind can take in a cluster, and the bounds as messages write them. A
// value outside is a typo (1e-300Gbps, 1e30s) that would otherwise reach the simulator as a
// denormal or an infinity.
struct Range {
  double min, max;  // inclusive, in SI base units
  const char* min_text;
  const char* max_text;
};
Range physical_range(Quantity q);

// The quantity's name and an example, for error messages ("a bandwidth, like 40Gbps or 2.5GB/s").
std::string describe(Quantity q);

// Parses "<number><unit>" (spaces allowed between). nullopt when the text is not such a quantity.
std::optional<double> parse_quantity(std::string_view text, Quantity q);

}  // namespace clustertwin::core
