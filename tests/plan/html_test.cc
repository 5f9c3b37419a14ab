// plan/html.cc: the Pareto frontier by hand, and the page's chart for outcomes written by hand.
#include "plan/html.h"

#include <gtest/gtest.h>

namespace clustertwin::plan {
namespace {

// (cost, tokens/s): C is beaten by A (dearer, slower), D by B, E ties B and comes later; A, B and F
// each buy throughput no cheaper point has.
TEST(PlanHtml, ParetoFrontByHand) {
  const std::vector<ParetoPoint> points{{0, 1000, 10}, {1, 2000, 30}, {2, 1500, 5}, {3, 3000, 25}, {4, 2000, 30}, {5, 4000, 40}};
  const auto front = pareto_front(points);
  ASSERT_EQ(front.size(), 3u);
  EXPECT_EQ(front[0].candidate, 0);
  EXPECT_EQ(front[1].candidate, 1);
  EXPECT_EQ(front[2].candidate, 5);
}

TEST(PlanHtml, OnePointIsItsOwnFrontAndNoneIsEmpty) {
  EXPECT_EQ(pareto_front({{7, 5, 1}}).size(), 1u);
  EXPECT_TRUE(pareto_front({}).empty());
}

// Outcomes with prices chart against price; without a price or a power there is no chart, and
// the page says why. Rejected candidates are listed with their reason, escaped.
TEST(PlanHtml, ChartAxisFollowsWhatIsKnown) {
  Spec s;
  s.topology = "t.yaml";
  s.workload = "w.yaml";
  std::vector<Candidate> c(3);
  c[0].labels = {"a"}, c[1].labels = {"b"}, c[2].labels = {"<c>"};
  s.axes = {{"x", {}}};
  std::vector<Outcome> o(3);
  o[0].summary.step_mean = 1, o[0].summary.tokens_per_second = 100, o[0].price = 1000, o[0].power = 50;
  o[1].summary.step_mean = 1, o[1].summary.tokens_per_second = 300, o[1].price = 3000, o[1].power = 100;
  o[2].status = Status::Rejected, o[2].refused_by = "memory", o[2].reason = "needs <more>";
  std::string html = plan_html(s, c, o);
  EXPECT_NE(html.find("data-marks=\"2\" data-front=\"2\""), std::string::npos) << html;
  EXPECT_NE(html.find("list price of the devices and Thunderbolt cables (US$)"), std::string::npos);
  EXPECT_NE(html.find("needs &lt;more&gt;"), std::string::npos);
  o[1].price = 0;  // one price unknown: energy per token instead
  html = plan_html(s, c, o);
  EXPECT_NE(html.find("energy per token"), std::string::npos);
  o[1].power = 0;
  html = plan_html(s, c, o);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("No chart"), std::string::npos);
}

}  // namespace
}  // namespace clustertwin::plan
