// Figures as clustertwin prints them for a person: one function per kind of figure, used by
// report.md, report.html, the CLI and messages alike, so a time or a rate reads the same wherever
// it appears (summary.csv keeps plain numbers in SI units). Times and rates are rounded to 9
// significant digits before the unit is chosen, so a time measured as 0.0009999999999 s (a
// difference of two clock readings) prints as 1.00 ms, as a person would write it, not 1000.0 us.
#pragma once

#include <string>

namespace clustertwin::core {

// How a zero time reads: with its unit among measured figures ("0.0 us"), or a bare "0" on the
// page's charts and tables, where it marks something that did not happen.
enum class Zero { WithUnit, Bare };

std::string format_seconds(double seconds, Zero zero = Zero::WithUnit);  // "1.250 s", "650.00 ms", "12.0 us"
std::string format_signed_seconds(double seconds);                       // a difference: "+650.00 ms", "-1.000 s"
// A chart axis label in the unit of the axis' top, as short as the value allows: "2.5 s", "250 ms", "0".
std::string format_tick_seconds(double seconds, double top);

std::string format_bytes(double bytes);          // "25.00 GB", "497.8 MB", "64.0 KB", "512 B"
std::string format_rate(double bytes_per_s);     // "1.33 GB/s", "800.0 MB/s"; "-" for none (<= 0)
std::string format_bit_rate(double bytes_per_s); // links as vendors quote them: "75 Gb/s", "474 Mb/s"

std::string format_percent(double percent, int decimals = 1);  // "12.3 %", with decimals 0: "12 %"
std::string format_error_percent(double percent);              // signed: "+12.3 %", "-4.0 %"; "n/a" when not finite

}  // namespace clustertwin::core
