// The Run record both backends produce: per-op start/end per rank on one clock, and the summary
// derived from it the same way for predicted and measured runs (so the two compare like for like).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/program.h"

namespace clustertwin::core {

struct OpRecord {
  int32_t rank = 0;
  uint32_t op = 0;    // index into the rank's ops
  double start = 0;   // seconds, on the run's common clock
  double end = 0;
};

struct RunInfo {
  std::string backend;   // "predicted" (sim) or "measured" (exec)
  std::string topology;  // topology name
  std::string workload;  // workload (program) name
  std::string detail;    // e.g. "compute=modelled", "SimGrid CM02"
  // Predictions: which figures the topology carried, "uncalibrated (preset figures)" or "calibrated
  // with cal.yaml (measured 2026-12-03T14:05:00Z)" (topo::calibration_text). "" = not stated
  // (measured runs, summaries written before calibration existed).
  std::string calibration{};
  // Watts at the wall of the nodes that run ranks, at their device presets' power under load
  // (topo::power_under_load); 0 = a device's power is unknown. Energy per step and per token follow.
  double power = 0;
};

struct CollectiveTime {
  std::string label;
  double mean_seconds = 0;  // over ranks and steps
  double bytes = 0;
};

// What the critical path of the steps spends on one rank (core/attribution.h): compute (its compute
// ops, whichever step they belong to), communication (transfer time once every peer had arrived)
// and idle (gaps with nothing on the path), in seconds per step. Summed over ranks: the mean step.
struct PathPart {
  int32_t rank = 0;
  double compute = 0, communication = 0, idle = 0;
  double total() const { return compute + communication + idle; }
};

// One rank's step, split as Summary's breakdown is (seconds per step, averaged over steps), and
// the peer it waited for longest.
struct RankTime {
  double compute = 0, exposed_communication = 0, waiting = 0, bubble = 0, idle = 0;
  int32_t waited_for = -1;  // the rank this one waited for most (-1: none)
  double waited = 0;        // seconds per step spent waiting for it, with nothing else running
};

struct Summary {
  std::vector<double> step_seconds;  // per step: first op start (receives aside) to last op end
  double step_mean = 0, step_p50 = 0, step_p95 = 0;
  double samples_per_second = 0, tokens_per_second = 0;
  // Per step, averaged over ranks, within the step's span: time with a compute op running, with
  // a transfer running (communication once every peer it needs has arrived; see core/attribution.h);
  // then the step split five ways: compute, exposed communication (transfers with no compute
  // running), waiting (in a collective for its last member, nothing else running), bubble (in a
  // receive for its sender: a pipeline stage waiting for its neighbour) and idle (nothing running).
  double compute = 0, communication = 0, exposed_communication = 0, waiting = 0, bubble = 0, idle = 0;
  std::vector<RankTime> ranks;
  // What the steps' critical path spends on each rank, largest first (core/attribution.h): the
  // straggler is the rank whose compute leads it.
  std::vector<PathPart> critical_path;
  std::vector<CollectiveTime> collectives;
  // Inference (Program::prefill_steps > 0): time to first token = the prefill steps; decode
  // throughput = tokens_per_step / mean decode step; prefill throughput = the prompt tokens
  // (Program::prefill_tokens) / time to first token. tokens_per_second averages both.
  double time_to_first_token = 0, decode_tokens_per_second = 0, prefill_tokens_per_second = 0;
};

// Requires one record per op of every rank (throws std::invalid_argument otherwise).
Summary summarize(const Program& p, const std::vector<OpRecord>& records);

// Energy at `info.power`: joules per step, and per token (per decoded token when the summary has a
// decode rate: inference); 0 when the power is unknown.
struct Energy {
  double watts = 0, joules_per_step = 0, joules_per_token = 0;
};
Energy energy(const RunInfo& info, const Summary& s);
// "126 W at the wall (device presets, under load): 15.2 J per step, 0.47 J per token"; "" when unknown.
std::string energy_text(const RunInfo& info, const Summary& s);
// The Program cut to its first `steps` steps, when each rank's ops of those steps come first in its
// list (the compilers emit steps in order), so op indices and deps stay as they were: what a run that
// failed after `steps` finished steps can still be summarised against. nullopt otherwise.
std::optional<Program> first_steps(const Program& p, int32_t steps);

nlohmann::json summary_to_json(const RunInfo& info, const Program& p, const Summary& s);
// Chrome trace event format (opens in Perfetto / chrome://tracing): one process per rank,
// one thread per stream (compute, communication).
nlohmann::json trace_to_json(const RunInfo& info, const Program& p, const std::vector<OpRecord>& records);

// Writes DIR/summary.json and DIR/trace.json (creating DIR). Throws std::runtime_error on I/O errors.
void write_run(const std::string& dir, const RunInfo& info, const Program& p,
               const std::vector<OpRecord>& records, const Summary& s);

}  // namespace clustertwin::core
