// report.html: one self-contained page (inline SVG and CSS, a few lines of script, no fetch) with
// the step-time breakdown per run, step time over steps, the per-collective error, per-rank
// timelines of one step on one time axis, the topology with per-link utilisation, and the tables.
#pragma once

#include <string>

#include "reports/compare.h"

namespace clustertwin::reports {

std::string report_html(const Comparison& c);

}  // namespace clustertwin::reports
