// What a run is told, however its workers start: built once (by the CLI or a test) and passed
// unchanged to the coordinator, to every worker inside its assignment, and on to its data plane.
// A new setting is a field here, a line in settings.cc's list, a flag, and its use.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace clustertwin::exec {

enum class ComputeMode {
  Real,      // CBLAS sgemm of each op's GEMM shape
  Modelled,  // sleep for the op's roofline time on its node's device (topo::roofline_seconds)
};

struct RunSettings {
  ComputeMode compute = ComputeMode::Modelled;
  std::string out_dir{};          // DIR/steps.jsonl gets one line per (step, rank) as each step ends
  double op_timeout_s = 120;      // no progress on an op for this long ends the run
  double connect_timeout_s = 10;  // reaching a worker, and a worker reaching its peers
  double launch_timeout_s = 30;   // a started worker announcing its port (ssh login included)
  // A running worker heartbeats at least every quarter of this (and every second): silence this long
  // means it hung (stopped, swapping, its machine or link gone), however long its current op takes.
  // 0 or less: op_timeout_s + 10 s.
  double heartbeat_timeout_s = 3;
  int corrupt_rank = -1;          // testing aid: this rank perturbs its collective contributions
};

std::string_view name(ComputeMode m);  // "real", "modelled"

void to_json(nlohmann::json& j, ComputeMode m);
void from_json(const nlohmann::json& j, ComputeMode& m);  // throws std::invalid_argument for another name
void to_json(nlohmann::json& j, const RunSettings& s);
void from_json(const nlohmann::json& j, RunSettings& s);

}  // namespace clustertwin::exec
