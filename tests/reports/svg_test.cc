// The drawing pieces of report.html: escaping, elements with their attributes in order, round
// axes, and the grid of a time axis.
#include "reports/svg.h"

#include <gtest/gtest.h>

#include <set>

#include "support.h"

namespace clustertwin::reports::svg {
namespace {

TEST(Svg, EscapesMarkupAndQuotes) {
  EXPECT_EQ(esc("a < b && \"c\" > d's"), "a &lt; b &amp;&amp; &quot;c&quot; &gt; d's");
  EXPECT_EQ(esc(""), "");
}

TEST(Svg, ElementsKeepAttributeOrderPrecisionAndEscaping) {
  EXPECT_EQ(Tag("rect").attr("x", 10.26, 1).attr("width", 90.0, 0).attr("r", 3).attr("fill", "#4e79a7").empty(),
            "<rect x=\"10.3\" width=\"90\" r=\"3\" fill=\"#4e79a7\"/>");
  EXPECT_EQ(Tag("g").attr("data-run", "a\"b").wrap("<title>x</title>"), "<g data-run=\"a&quot;b\"><title>x</title></g>");
}

TEST(Svg, OpenNamesTheChartInWholePixels) {
  EXPECT_EQ(open("chart-x", 720.4, 260),
            "<svg id=\"chart-x\" class=\"chart\" width=\"720\" height=\"260\" viewBox=\"0 0 720 260\" role=\"img\">");
}

TEST(Svg, NiceAxisIsRoundAndHasAtMostFiveTicks) {
  struct Case {
    double max, top, tick;
  } cases[] = {{23.7, 25, 5}, {8.83, 10, 2}, {0.45, 0.5, 0.1}, {1, 1, 0.2}, {0.0031, 0.004, 0.001}, {0, 1, 0.25}};
  for (const auto& c : cases) {
    Axis a = nice_axis(c.max);
    EXPECT_NEAR(a.top, c.top, 1e-12) << c.max;
    EXPECT_NEAR(a.tick, c.tick, 1e-12) << c.max;
    EXPECT_GE(a.top, c.max);
    EXPECT_LE(a.top / a.tick, 5 + 1e-9);
  }
}

TEST(Svg, TimeRowsDrawAGridLineAndLabelPerTick) {
  // 0 to 10 s in steps of 5 s, mapped to y = 100 - 10 t.
  std::string rows = time_rows({10, 5}, 70, 700, [](double t) { return 100 - 10 * t; });
  EXPECT_EQ(testing::count(rows, "<line class=\"grid\""), 3u);
  EXPECT_NE(rows.find("<line class=\"grid\" x1=\"70\" x2=\"700\" y1=\"50.0\" y2=\"50.0\"/>"
                      "<text class=\"tick\" x=\"64\" y=\"54.0\" text-anchor=\"end\">5 s</text>"),
            std::string::npos)
      << rows;
  std::string columns = time_columns({0.02, 0.01}, 20, 80, [](double t) { return 150 + 1000 * t; });
  EXPECT_NE(columns.find("<line class=\"grid\" x1=\"160.0\" x2=\"160.0\" y1=\"20\" y2=\"80\"/>"
                         "<text class=\"tick\" x=\"160.0\" y=\"14\" text-anchor=\"middle\">10 ms</text>"),
            std::string::npos)
      << columns;
}

TEST(Svg, EveryColourHasItsOwnHex) {
  std::set<std::string> seen;
  for (Colour c : {Colour::Blue, Colour::Teal, Colour::Green, Colour::Yellow, Colour::Purple, Colour::Mauve, Colour::Grey,
                   Colour::Orange, Colour::Red, Colour::Silver, Colour::Slate, Colour::Brown, Colour::Stone, Colour::Mist})
    seen.insert(hex(c));
  EXPECT_EQ(seen.size(), 14u);
  EXPECT_STREQ(hex(Colour::Blue), "#4e79a7");
}

}  // namespace
}  // namespace clustertwin::reports::svg
