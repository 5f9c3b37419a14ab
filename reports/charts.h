// The charts of report.html, each an inline <svg> of a Comparison followed by its legend or note:
// the step's phases per run, step time over steps, the per-collective error, and per-rank
// timelines of one step. The topology drawing is in topology_chart.h.
#pragma once

#include <string>
#include <vector>

#include "reports/compare.h"

namespace clustertwin::reports {

std::string breakdown_chart(const Comparison& c);
std::string steps_chart(const Comparison& c);
std::string collectives_chart(const Comparison& c);
std::string timelines_chart(const Comparison& c);

// The phases the breakdown chart and the page's table show: those with time in some run.
std::vector<std::string> phases_drawn(const Comparison& c);

}  // namespace clustertwin::reports
