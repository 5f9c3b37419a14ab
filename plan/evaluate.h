// Each candidate judged like `predict` judges a run: its YAML loaded by the ordinary loaders, the
// workload compiled for the topology, the lint `check` runs over the pairs its Program uses, the
// memory per rank against each device's usable memory less the plan's headroom, and then the
// simulation. Candidates run on a pool of threads, each simulation in its own forked child
// (sim::simulate), so every core is busy; simulations are cached by Program hash x topology, so a
// candidate that compiles to what another did costs no simulation.
#pragma once

#include <string>
#include <vector>

#include "core/run.h"
#include "plan/candidates.h"

namespace clustertwin::plan {

enum class Status { Ok, Rejected, Duplicate };

struct Outcome {
  Status status = Status::Ok;
  // Rejected: what refused it ("memory", "check", "batch", "invalid", "sim") and the one-line reason.
  std::string refused_by, reason;
  std::string diagnostic;  // Rejected: the full text (file:line:col, caret, hint) where there is one
  core::Summary summary;   // Ok
  int world = 0;
  int micro_batches = 1;  // per replica per step, as run (a fixed global batch sets it)
  bool inference = false;
  double tokens_per_step = 0;
  double memory_peak = 0;   // the fullest rank's need / its usable memory (before headroom)
  // Watts at the wall of every node that runs ranks, at its device preset's `power` (under load,
  // as presets.yaml sources it); 0 when a device's power is unknown.
  double power = 0;
  // US dollars of those nodes' devices at their presets' list `price`, plus the priced cables (one
  // per Thunderbolt link, topo::cable_price; Ethernet cables and switches have no cited price and
  // are not counted); 0 when a device's price is unknown.
  double price = 0;
  std::string bound;        // what bounds the step (reports::what_bounds)
  std::vector<std::string> forwarders;  // nodes forwarding in software on the Program's routes
  std::vector<std::string> warnings;    // the lint's warnings, "T004 wifi-collective"
  std::string program_hash;
  bool cached = false;  // its simulation was another candidate's
  std::string topology_yaml, workload_yaml;  // as evaluated (the accumulation a global batch asks for set)
};

struct EvalOptions {
  int jobs = 0;           // threads (0: every core)
  bool progress = false;  // a progress line on stderr
  // This process evaluates the candidates whose index % shares == share (an MPI rank's part,
  // plan/mpi.h); the others' outcomes are left default. 0 of 1: all.
  int share = 0, shares = 1;
};

struct EvalStats {
  int simulations = 0, cache_hits = 0, rejected = 0, duplicates = 0;
  double wall_seconds = 0;
  double simulate_seconds = 0;  // summed over simulations: fork to exit of each child
};

std::vector<Outcome> evaluate(const Spec& s, const std::vector<Candidate>& candidates, const EvalOptions& o,
                              EvalStats* stats = nullptr);

}  // namespace clustertwin::plan
