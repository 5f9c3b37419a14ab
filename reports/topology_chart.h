// report.html's drawing of the cluster: nodes on a circle (a star's hub in the middle), each link's
// width and colour from the reference run's utilisation, every run's figure in its label.
#pragma once

#include <string>

#include "reports/compare.h"

namespace clustertwin::reports {

std::string topology_chart(const Comparison& c);

}  // namespace clustertwin::reports
