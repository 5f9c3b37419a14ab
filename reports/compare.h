// Predicted vs measured: loads two runs' summary.json and writes the side-by-side report, with
// the error of every figure and the likely cause of the largest one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/run.h"

namespace clustertwin::reports {

// What a report needs from a run directory: summary.json, and trace.json when it is there.
struct RunView {
  std::string path;
  core::RunInfo info;
  std::string program_hash;
  int world = 0;
  int steps = 0;
  core::Summary summary;
  // From trace.json: seconds per step and rank spent in ops of each phase ("forward", "comm", …),
  // and per op label, the seconds of one occurrence (mean) and occurrences per step and rank.
  std::map<std::string, double> phase_seconds;
  struct OpTime {
    double mean_seconds = 0;
    double per_step = 0;
  };
  std::map<std::string, OpTime> ops;
};

// Throws core::InputError naming the file (and line:col for malformed JSON).
RunView load_summary(const std::string& path, const std::string& origin);

// (predicted - measured) / measured, in percent; 0 when both are 0.
double error_percent(double predicted, double measured);

std::string report_markdown(const RunView& predicted, const RunView& measured);

// Writes DIR/report.md; returns its path. Throws std::runtime_error on I/O errors.
std::string write_report(const std::string& dir, const RunView& predicted, const RunView& measured);

}  // namespace clustertwin::reports
