// The pieces report.html's charts are drawn with: escaping, the palette, a round axis, the chart's
// frame and grid, and one element at a time with its attributes in the order given. Geometry (where
// a value lands) stays with each chart; this file knows nothing of runs.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace clustertwin::reports::svg {

// Text and attribute values for HTML and SVG: & < > " escaped.
std::string esc(std::string_view s);

// The page's palette (Tableau 10 and a few greys).
enum class Colour { Blue, Teal, Green, Yellow, Purple, Mauve, Grey, Orange, Red, Silver, Slate, Brown, Stone, Mist };
const char* hex(Colour c);

// A round axis maximum at or above a value, and its tick step (at most 5 ticks).
struct Axis {
  double top = 1, tick = 0.25;
};
Axis nice_axis(double max);

// One element: Tag("rect").attr("x", 10.25, 1).attr("fill", "#fff").empty() is <rect x="10.2" fill="#fff"/>.
class Tag {
 public:
  explicit Tag(std::string_view name);
  Tag& attr(std::string_view name, std::string_view value);      // escaped
  Tag& attr(std::string_view name, double value, int decimals);  // fixed-point
  Tag& attr(std::string_view name, int value);
  std::string empty() const;                      // <name .../>
  std::string wrap(std::string_view inner) const;  // <name ...>inner</name>; inner is markup: escape text first

 private:
  std::string name_, open_;
};

// <svg id="ID" class="chart" width height viewBox role="img">, sized in whole pixels; close with "</svg>".
std::string open(std::string_view id, double width, double height);

// Horizontal grid lines from x_from to x_to at every tick of a time axis, each labelled at the left of
// x_from; y maps seconds to pixels.
std::string time_rows(const Axis& axis, double x_from, double x_to, const std::function<double(double)>& y);
// Vertical grid lines from y_from to y_to at every tick of a time axis, each labelled above; x maps
// seconds to pixels.
std::string time_columns(const Axis& axis, double y_from, double y_to, const std::function<double(double)>& x);

}  // namespace clustertwin::reports::svg
