// The workload description (model, task, batch, precision, parallel strategy, memory rules) and
// its compilation to the per-rank Program. The YAML schema is documented in workloads/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/diag.h"
#include "core/program.h"
#include "topologies/topology.h"
#include "workloads/model.h"

namespace clustertwin::work {

enum class Task : uint8_t { Train, Infer };
enum class Strategy : uint8_t { Ddp, Zero, Pipeline, Tensor, Hybrid, ParameterServer, Replicas };
enum class Schedule : uint8_t { GPipe, OneFOneB, Interleaved };
enum class Split : uint8_t { Even, Speed, Memory, Layers };
enum class Optimizer : uint8_t { AdamW, Sgd, SgdMomentum };

std::string_view name(Strategy);
std::string_view name(Schedule);

// Where a value was written, so errors found while compiling (they need the topology) can still
// point at file:line:col with the source line.
struct Where {
  core::SourcePos pos;
  std::string line;
};
[[noreturn]] void fail_at(const Where& w, std::string_view message, std::string_view hint = {});

struct Precision {
  core::DType weights = core::DType::F32;    // parameters as the forward pass reads them
  core::DType compute = core::DType::F32;    // activations and the arithmetic
  core::DType gradients = core::DType::F32;  // gradients as they are stored and reduced
  core::DType optimizer = core::DType::F32;  // optimizer moments
  core::DType kv_cache = core::DType::F32;   // inference KV cache
  // Mixed precision keeps an fp32 master copy of the weights beside 16-bit ones (training).
  bool master_weights = false;
};

struct Parallel {
  Strategy strategy = Strategy::Ddp;
  int dp = 0, tp = 1, pp = 1;  // degrees; dp 0 = whatever the world leaves (world / (tp·pp))
  core::Algorithm allreduce = core::Algorithm::Ring;  // data-parallel gradient collectives
  core::Algorithm tp_algorithm = core::Algorithm::Ring;
  int32_t hierarchical_local = 0;  // block size for the hierarchical algorithm (0 = tp or nodes)
  double bucket_bytes = 0;         // DDP gradient bucket; 0 = the whole gradient after backward
  int zero_stage = 0;              // 0 none (DDP), 1 optimizer, 2 + gradients, 3 + parameters (FSDP)
  int prefetch = 1;                // ZeRO-3: units whose parameters are gathered ahead of use
  Schedule schedule = Schedule::OneFOneB;
  int micro_batches = 1;           // per step per data-parallel replica (pipeline / accumulation)
  int virtual_stages = 1;          // interleaved 1F1B: layer chunks per rank
  Split split = Split::Even;
  std::vector<int64_t> stage_layers;  // Split::Layers: transformer layers per stage
  // parameter server
  bool async = false;
  int staleness = 0;               // async: a worker may run this many steps ahead of the slowest
  int32_t server = 0;              // the rank that holds the parameters
  core::DType push_dtype = core::DType::F32;  // gradients as workers send them (int8: 8-bit)
  bool tp_inside_fast_links = true;  // placement: TP groups on the fastest links, else file order
  Where where, tp_where, pp_where, dp_where;
};

struct MemoryRules {
  // Fraction of each device's memory a run may use: by default macOS's GPU wired limit on Apple
  // devices (2/3 of memory up to 36 GB, 3/4 above) and 0.9 elsewhere.
  std::optional<double> usable_fraction;
  bool check = true;
  bool activation_checkpointing = false;  // keep only each layer's input; recompute in backward
  Where where;
};

struct Workload {
  std::string name;
  std::string file;
  ModelShape model;
  Task task = Task::Train;
  int64_t micro_batch = 1;  // sequences per micro-batch (training) or concurrent requests (inference)
  int64_t seq_len = 0;      // training sequence length
  int64_t prompt = 0;       // inference: prompt tokens (prefill)
  int64_t generate = 0;     // inference: tokens generated (decode steps)
  Precision precision;
  Optimizer optimizer = Optimizer::AdamW;
  Parallel parallel;
  MemoryRules memory;
  int32_t steps = 1;
  Where model_where, batch_where;
};

// Throws core::InputError naming file:line:col.
Workload load_workload(const std::string& path, const std::string& origin = "-w/--workload");
Workload parse_workload(const std::string& yaml_text, const std::string& file_name);

// Rank i on topology.rank_nodes()[i] (one per compute node unless a node sets `ranks`). Throws core::InputError when the plan
// cannot run on it (degrees that do not divide, a rank whose memory is too small).
core::Program compile(const Workload& w, const topo::Topology& t);

}  // namespace clustertwin::work
