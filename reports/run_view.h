// A run directory as the reports read it: summary.json, and when present trace.json (every op's
// start and end, keyed by rank and op id), program.json (peers, groups, algorithms) and
// topology.yaml (the copy `predict` and `run` keep, for the topology drawing and link figures).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/run.h"

namespace clustertwin::topo {
struct Topology;
}

namespace clustertwin::reports {

// One op execution from trace.json.
struct OpEvent {
  int32_t rank = 0;
  uint32_t op = 0;  // index into the rank's ops: the id both backends share
  int32_t step = 0;
  core::OpKind kind = core::OpKind::Compute;
  int phase = 0;      // index into RunView::phases: the trace's category ("forward", "comm", ...)
  int label = 0;      // index into RunView::labels
  double bytes = 0;
  double start = 0, end = 0;  // seconds, on the run's clock
  double seconds() const { return end - start; }
};

struct RunView {
  std::string path;  // the summary.json read
  std::string dir;   // its directory
  core::RunInfo info;
  std::string program_hash;
  int world = 0;
  int steps = 0;
  core::Summary summary;
  double summary_bubble = 0;  // summary.json's breakdown_s.pipeline_bubble, when written
  std::vector<std::string> labels, phases;  // each distinct op label and phase once
  std::vector<OpEvent> events;  // empty without trace.json
  std::optional<core::Program> program;            // from program.json
  std::shared_ptr<const topo::Topology> topology;  // from topology.yaml
  // From clocks.json (measured runs): the coordinator's ping-pong round trip to each rank, seconds
  // (empty when absent). It travels the path the rank's address selects: Wi-Fi shows here.
  std::vector<double> clock_rtt;
  std::vector<std::string> notes;  // what could not be read beside summary.json, said in the report
  // The tool whose figures `import measured` wrote into summary.json ("imported": "llama-bench"),
  // "" for runs of predict and run. Such a run has step-level figures only: no trace, phases,
  // collectives or per-rank times (interop/measured.h).
  std::string imported;
  std::string imported_description;  // which of the tool's tests became which figure
  // Bytes: an imported run's peak memory, else the largest rank's required memory (0: not stated).
  double peak_memory = 0;

  bool measured() const { return info.backend == "measured"; }
  bool has_trace() const { return !events.empty(); }
  bool step_level() const { return !imported.empty(); }
};

// The run a backend has just produced, from memory (what `predict` reports on without reading
// back its trace). `dir` is where it was written.
RunView run_view(const std::string& dir, const core::RunInfo& info, const core::Program& p,
                 const std::vector<core::OpRecord>& records, const core::Summary& s,
                 std::shared_ptr<const topo::Topology> topology);

// Reads PATH (a run directory or its summary.json) and what lies beside it. `origin` names the
// argument in errors ("PREDICTED"). Throws core::InputError naming the file (and line:col for
// malformed JSON, and what was expected).
RunView load_run(const std::string& path, const std::string& origin);

}  // namespace clustertwin::reports
