// trace.json of a comparison: every run's ops in one Chrome trace for Perfetto, each run a
// process ("predicted", "measured"), each rank two threads (compute, communication), every run's
// clock starting at 0 so the timelines line up.
#pragma once

#include <string>

#include "reports/compare.h"

namespace clustertwin::reports {

// The trace as compact JSON text.
std::string merged_trace(const Comparison& c);

}  // namespace clustertwin::reports
