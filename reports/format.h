// Figures as the reports print them. Values are rounded to 9 significant digits before the unit is
// chosen, so a time measured as 0.000999999 s (a difference of two clock readings) prints as
// 1.00 ms, as a person would write it, not 1000.0 us.
#pragma once

#include <string>

namespace clustertwin::reports {

std::string seconds(double s);         // "650.00 ms" (core::format_seconds, rounded first)
std::string signed_seconds(double s);  // "+650.00 ms", "-1.000 s"
std::string rate(double bytes_per_s);  // "1.33 GB/s", "800.0 MB/s"; "-" for 0
std::string percent(double e);         // "+12.3 %"; "n/a" when not finite

}  // namespace clustertwin::reports
