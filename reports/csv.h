// summary.csv: every figure of a comparison as one row (section, item, metric, unit), one column
// per run, then the absolute and relative error against the reference run: for spreadsheets
// and pandas (`pd.read_csv("summary.csv")`).
#pragma once

#include <string>

#include "reports/compare.h"

namespace clustertwin::reports {

std::string summary_csv(const Comparison& c);

}  // namespace clustertwin::reports
