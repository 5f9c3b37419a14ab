// The workload description (model, task, batch, precision, parallel strategy) and its compilation
// to the per-rank Program.
#pragma once

#include <cstdint>
#include <string>

#include "core/program.h"
#include "topologies/topology.h"
#include "workloads/model.h"

namespace clustertwin::work {

struct Workload {
  std::string name;
  std::string file;
  ModelShape model;
  int64_t micro_batch = 1;  // sequences per rank per step
  int64_t seq_len = 0;
  core::DType compute_dtype = core::DType::F32;
  core::DType grad_dtype = core::DType::F32;
  std::string strategy = "ddp";
  core::Algorithm allreduce = core::Algorithm::Ring;
  int32_t steps = 1;
};

// Throws core::InputError naming file:line:col.
Workload load_workload(const std::string& path, const std::string& origin = "-w/--workload");
Workload parse_workload(const std::string& yaml_text, const std::string& file_name);

// One rank per compute node of the topology, in file order.
core::Program compile(const Workload& w, const topo::Topology& t);

}  // namespace clustertwin::work
