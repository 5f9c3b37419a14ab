#include "reports/svg.h"

#include <cmath>

#include <fmt/format.h>

#include "core/format.h"

namespace clustertwin::reports::svg {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

const char* hex(Colour c) {
  switch (c) {
    case Colour::Blue: return "#4e79a7";
    case Colour::Teal: return "#76b7b2";
    case Colour::Green: return "#59a14f";
    case Colour::Yellow: return "#edc948";
    case Colour::Purple: return "#af7aa1";
    case Colour::Mauve: return "#b07aa1";
    case Colour::Grey: return "#9c9c9c";
    case Colour::Orange: return "#f28e2b";
    case Colour::Red: return "#e15759";
    case Colour::Silver: return "#d4d4d4";
    case Colour::Slate: return "#888888";
    case Colour::Brown: return "#9c755f";
    case Colour::Stone: return "#bab0ac";
    case Colour::Mist: return "#dbe6f1";
  }
  return "#888888";
}

Axis nice_axis(double max) {
  if (max <= 0) return {1, 0.25};
  double mag = std::pow(10, std::floor(std::log10(max)));
  for (double step : {0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0})
    if (max / (step * mag) <= 5) return {std::ceil(max / (step * mag)) * step * mag, step * mag};
  return {10 * mag, 2 * mag};
}

Tag::Tag(std::string_view name) : name_(name), open_("<" + name_) {}

Tag& Tag::attr(std::string_view name, std::string_view value) {
  open_ += fmt::format(" {}=\"{}\"", name, esc(value));
  return *this;
}

Tag& Tag::attr(std::string_view name, double value, int decimals) {
  open_ += fmt::format(" {}=\"{:.{}f}\"", name, value, decimals);
  return *this;
}

Tag& Tag::attr(std::string_view name, int value) {
  open_ += fmt::format(" {}=\"{}\"", name, value);
  return *this;
}

std::string Tag::empty() const { return open_ + "/>"; }

std::string Tag::wrap(std::string_view inner) const { return fmt::format("{}>{}</{}>", open_, inner, name_); }

std::string open(std::string_view id, double width, double height) {
  return fmt::format("<svg id=\"{}\" class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" "
                     "role=\"img\">",
                     id, width, height, width, height);
}

std::string time_rows(const Axis& axis, double x_from, double x_to, const std::function<double(double)>& y) {
  std::string out;
  for (double v = 0; v <= axis.top * 1.0001; v += axis.tick) {
    out += Tag("line").attr("class", "grid").attr("x1", x_from, 0).attr("x2", x_to, 0).attr("y1", y(v), 1)
               .attr("y2", y(v), 1).empty();
    out += Tag("text").attr("class", "tick").attr("x", x_from - 6, 0).attr("y", y(v) + 4, 1).attr("text-anchor", "end")
               .wrap(esc(core::format_tick_seconds(v, axis.top)));
  }
  return out;
}

std::string time_columns(const Axis& axis, double y_from, double y_to, const std::function<double(double)>& x) {
  std::string out;
  for (double v = 0; v <= axis.top * 1.0001; v += axis.tick) {
    out += Tag("line").attr("class", "grid").attr("x1", x(v), 1).attr("x2", x(v), 1).attr("y1", y_from, 0)
               .attr("y2", y_to, 0).empty();
    out += Tag("text").attr("class", "tick").attr("x", x(v), 1).attr("y", y_from - 6, 0).attr("text-anchor", "middle")
               .wrap(esc(core::format_tick_seconds(v, axis.top)));
  }
  return out;
}

}  // namespace clustertwin::reports::svg
