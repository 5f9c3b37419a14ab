// plan.html: the plan's verdict for a browser. A Pareto chart of throughput against cost (the
// devices' list price, or energy per token when a price is unknown) with the frontier drawn, then the
// ranked table and the rejected candidates with what refused them. Static SVG, no script.
#pragma once

#include <string>
#include <vector>

#include "plan/evaluate.h"

namespace clustertwin::plan {

// One candidate on the chart: its cost (lower is better) and its throughput (higher is better).
struct ParetoPoint {
  int candidate = -1;
  double cost = 0, throughput = 0;
};

// The points no other point beats on both axes (at most the same cost and at least the same
// throughput, one of them strictly), by cost ascending. Ties on both axes keep the first.
std::vector<ParetoPoint> pareto_front(std::vector<ParetoPoint> points);

std::string plan_html(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o);

}  // namespace clustertwin::plan
