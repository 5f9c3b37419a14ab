// Predicted vs measured: runs matched op by op (rank, op id), summarised per step, phase,
// collective, rank, route and link, the worst offenders, and the likely causes of the difference.
// The outputs (report.md, report.html, summary.csv, the merged trace.json) are written from one
// Comparison; a Comparison of one run (what `predict` writes) has no errors and no hints.
#pragma once

#include <string>
#include <vector>

#include "reports/analysis.h"
#include "reports/run_view.h"

namespace clustertwin::reports {

// A likely cause of the difference, with the figures that point to it and what to do.
struct Hint {
  std::string cause;     // "compute is off on every rank: device figures"
  std::string evidence;  // the residuals, as numbers
  std::string action;
  double weight = 0;     // seconds per step it explains, for ordering
};

// An op (label) whose times differ, or one execution of it (rank, op id, step).
struct OpDiff {
  std::string label;
  int rank = -1;       // -1: aggregated over every rank and step
  uint32_t op = 0;
  int step = -1;
  double predicted = 0, measured = 0;  // seconds of one occurrence (mean when aggregated)
  double per_step = 0;                 // aggregated: occurrences per step and rank
  double weight() const { return (measured - predicted) * (rank < 0 ? per_step : 1); }
};

struct Comparison {
  std::vector<RunStats> runs;
  // Times whose reference is under this floor are compared by their difference, not in percent
  // (error_cell): 0.1 % of the reference run's mean step time, and at least 1 us.
  double floor_seconds = 0;  // in the order given; they point into the RunViews passed in
  int reference = -1;  // the measured run errors are taken against (-1: none)
  int predicted = -1;  // the run compared with it op by op and for hints (-1: none)
  bool same_program = true;
  // A run has step-level figures only (imported from another tool: RunView::step_level): the
  // comparison covers step time, tokens/s, time to first token and memory, nothing per op.
  bool step_level = false;
  size_t matched = 0, only_predicted = 0, only_measured = 0;  // ops matched by (rank, op id)
  std::vector<OpDiff> worst_labels, worst_ops;  // largest |difference| first, 5 each
  std::vector<Hint> hints;                      // largest weight first
  std::string verdict;                          // one sentence: how far off, and where most of it is

  bool paired() const { return reference >= 0 && predicted >= 0; }
};

// Runs are named by their backend when they are one predicted and one measured run, else by
// their directory. The reference is `reference` when given (compare's MEASURED argument), else
// the first measured run, else the first run.
Comparison build_comparison(const std::vector<RunView>& runs, int reference = -1);

// A run directory's summary.json (and what lies beside it). Same as load_run.
RunView load_summary(const std::string& path, const std::string& origin);

// (predicted - measured) / measured, in percent; 0 when both are 0.
double error_percent(double predicted, double measured);

// What a figure is, for the floor its error is taken against: a time (the comparison's
// floor_seconds) or anything else, a rate or a size (a floor of 0: only a zero reference).
enum class Figure { Time, Other };

// The one rule by which every output (report.md, report.html, summary.csv) writes an error
// against the reference run. A percentage of a near-zero reference means nothing (3.5e-14 s of
// idle time turned a microsecond into +3877719439563646 %), and a figure one run lacks is not
// -100 % of it. A value a run does not have is NaN.
struct ErrorCell {
  enum class Kind {
    Percent,     // value = (figure - reference) / reference, in percent
    Difference,  // the reference is under the floor: value = figure - reference, in the figure's unit
    Missing,     // one run lacks the figure: missing_in names it
    None,        // neither has it
  };
  Kind kind = Kind::Percent;
  double value = 0;
  std::string missing_in;
};

// The error of `value` (a figure of run `run`) against `reference` (the reference run's).
ErrorCell error_cell(const Comparison& c, int run, double value, double reference, Figure f = Figure::Time);
// As a table cell reads it: "+12.3 %", "+1.20 ms" (Other: "+0.25"), "not in run measured", "-".
std::string format_error(const ErrorCell& e, Figure f = Figure::Time);
// The sentence every output's legend carries: the floor of this comparison and what a cell shows under it.
std::string error_floor_note(const Comparison& c);
// What a step-level comparison cannot cover, two sentences ("" when the comparison is not step-level).
std::string not_compared_note(const Comparison& c);

std::string report_markdown(const Comparison& c);
std::string report_markdown(const RunView& predicted, const RunView& measured);

// Everything a comparison writes, in DIR: report.md, report.html, summary.csv and trace.json
// (both runs merged). Returns the path of report.md. Throws std::runtime_error on I/O errors and
// core::InputError when DIR is one of the runs' directories (its trace.json would be replaced).
std::string write_report(const std::string& dir, const Comparison& c);
std::string write_report(const std::string& dir, const RunView& predicted, const RunView& measured);
// Only DIR/report.html (what `predict` adds to its run directory); returns its path.
std::string write_html(const std::string& dir, const Comparison& c);

}  // namespace clustertwin::reports
