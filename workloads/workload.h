// The workload description (model, task, batch, precision, parallel strategy, memory rules) and
// its compilation to the per-rank Program. The YAML schema is documented in workloads/README.md.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/diag.h"
#include "core/program.h"
#include "topologies/topology.h"
#include "workloads/formats.h"
#include "workloads/runtimes.h"
#include "workloads/model.h"

namespace clustertwin::work {

enum class Task : uint8_t { Train, Infer };
enum class Strategy : uint8_t { Ddp, Zero, Pipeline, Tensor, Hybrid, ParameterServer, Replicas, Expert };
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

// Megatron's interleaved schedule sends the micro-batches round the pp stages in groups of pp:
// "" when `micro_batches` fits, else the error's message and hint.
struct Misfit {
  std::string message, hint;
};
std::optional<Misfit> interleaved_misfit(int micro_batches, int pp);

struct Precision {
  Format weights = exact_format(core::DType::F32);  // parameters as the forward pass reads them
  // Inference may store model parts in their own formats (MoE checkpoints keep routed experts in
  // MXFP4 or 2 bits and attention at 8; llama.cpp keeps the head at Q6_K or Q8_0): nullptr = `weights`.
  std::array<const Format*, kParts> parts{};
  const Format& of(Part p) const { return parts[static_cast<int>(p)] ? *parts[static_cast<int>(p)] : weights; }
  bool uniform() const {
    return std::all_of(parts.begin(), parts.end(), [](const Format* f) { return f == nullptr; });
  }
  core::DType compute = core::DType::F32;    // activations and the arithmetic
  core::DType gradients = core::DType::F32;  // gradients as they are stored and reduced
  core::DType optimizer = core::DType::F32;  // optimizer moments
  Format kv_cache = exact_format(core::DType::F32);  // inference KV cache
  // Mixed precision keeps an fp32 master copy of the weights beside 16-bit ones (training).
  bool master_weights = false;
};

// The algorithm of one family of collectives and, for `hierarchical`, the ranks per block.
struct CollectiveChoice {
  core::Algorithm algorithm = core::Algorithm::Ring;
  int32_t local = 0;  // hierarchical: block size (the YAML's one `local`, for every family)
  int32_t stripes = 0;  // ring, bidirectional-ring all-reduce: connections per neighbour (`stripes`)
};

// How a training step's micro-batches pass through the pipeline stages.
struct PipelineSchedule {
  Schedule kind = Schedule::OneFOneB;
  int micro_batches = 1;   // per step per data-parallel replica
  int virtual_stages = 1;  // interleaved 1F1B: layer chunks per rank
};

// How the layers are cut into pipeline stages.
struct StageSplit {
  Split kind = Split::Even;
  std::vector<int64_t> layers{};  // Split::Layers: transformer layers per stage
};

// Megatron's split of every layer over the tensor-parallel ranks.
struct TensorSplit {
  CollectiveChoice allreduce{};  // the activations' all-reduces
  bool on_fast_links = true;   // placement: TP groups on the fastest links, else file order
};

// One strategy each: a key of another strategy has no field to land in (and the parser rejects
// it at its line). Degrees of 0 are resolved at compile time from the number of ranks.
struct Ddp {
  CollectiveChoice gradients{};
  double bucket_bytes = 0;  // gradient bucket; 0 = the whole gradient after backward
  int micro_batches = 1;    // gradient accumulation
};
// ZeRO stages 1 and 2, and 3 (FSDP). data_parallel_plan() views a Ddp as stage 0.
struct Zero {
  int stage = 1;     // 1 optimizer state, 2 + gradients, 3 + parameters
  int prefetch = 1;  // stage 3: units whose parameters are gathered ahead of use
  CollectiveChoice gradients{};
  double bucket_bytes = 0;  // stages 0 to 2; stage 3 reduce-scatters each unit on its own
  int micro_batches = 1;
};
struct Pipeline {
  int pp = 0;  // 0 = all ranks (over dp)
  int dp = 0;  // 0 = whatever pp leaves
  PipelineSchedule schedule{};  // training
  StageSplit split{};
  CollectiveChoice gradients{};  // training
};
struct Tensor {
  int tp = 0;  // 0 = all ranks (over dp)
  int dp = 0;
  TensorSplit tensor{};
  CollectiveChoice gradients{};  // training
  int micro_batches = 1;       // training: gradient accumulation
};
// DP x PP x TP (Megatron-style); pipeline and tensor are its special cases (model_parallel_plan).
struct Hybrid {
  int dp = 0, tp = 1, pp = 1;  // dp 0 = world / (tp·pp); tp or pp 0 = world / dp
  TensorSplit tensor{};
  PipelineSchedule schedule{};  // training
  StageSplit split{};
  CollectiveChoice gradients{};  // training
  int zero_stage = 0;          // training: 1 shards the optimizer state across replicas
  int ep = 1;                  // inference: replicas per expert-parallel group (0 = all of them)
};
// smolcluster's parameter server.
struct AsyncUpdates {
  int staleness = 0;  // a worker may run this many steps ahead of the slowest
};
struct ParameterServer {
  int32_t server = 0;                     // the rank that holds the parameters
  core::DType push = core::DType::F32;    // gradients as workers send them (int8: 8-bit)
  std::optional<AsyncUpdates> async{};      // none: synchronous
};
struct Replicas {};  // inference: every rank serves the whole model
// Inference: each rank serves its own sequences with every non-expert weight (attention, router,
// shared experts, head) and 1/ep of each MoE layer's routed experts; per MoE layer, an all-to-all
// sends each token's routed rows to the experts' owners and another brings the results back.
struct Expert {
  int ep = 0;  // ranks per expert-parallel group; 0 = all ranks
};

// The alternatives are in the order of `Strategy`.
using StrategyOptions = std::variant<Ddp, Zero, Pipeline, Tensor, Hybrid, ParameterServer, Replicas, Expert>;

struct Parallel {
  StrategyOptions options{};
  Where where{};
  Strategy strategy() const { return static_cast<Strategy>(options.index()); }
};

// The data-parallel plan of a Ddp (as ZeRO stage 0) or Zero workload.
Zero data_parallel_plan(const Parallel& p);
// The DP x PP x TP plan of a pipeline, tensor or hybrid workload; the other strategies make every
// rank a data-parallel replica (dp 0, tp = pp = 1).
Hybrid model_parallel_plan(const Parallel& p);

// The `parallel:` keys a strategy takes for a task (`strategy` included); the parser rejects any
// other, so a key never silently does nothing. The planner drops an axis's key a strategy lacks.
std::vector<std::string_view> parallel_keys(Strategy s, Task task);
// The strategy a `strategy:` name selects ("fsdp" is ZeRO stage 3), nullopt for an unknown name.
std::optional<Strategy> strategy_named(std::string_view name);

struct MemoryRules {
  // Fraction of each device's memory a run may use: by default macOS's GPU wired limit on Apple
  // devices (2/3 of memory up to 36 GB, 3/4 above) and 0.9 elsewhere.
  std::optional<double> usable_fraction;
  bool check = true;
  bool activation_checkpointing = false;  // keep only each layer's input; recompute in backward
  Where where;
};

// Which node runs which rank (`placement:`): file order (the default), `auto` (an order that keeps
// the ring of ranks along the topology's routes, topo::ring_order) or the nodes listed in rank order.
// Resolved against the topology by workloads/placement.h; not to be confused with the tensor
// strategy's `parallel: placement:`, which orders positions over ranks, not ranks over nodes.
enum class PlacementKind : uint8_t { FileOrder, Auto, Listed };
struct PlacedNode {
  std::string name;
  Where where;
};
struct Placement {
  PlacementKind kind = PlacementKind::FileOrder;
  std::vector<PlacedNode> nodes;  // Listed: rank order, each node once (its `ranks` follow one another)
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
  // inference: the prompt is prefilled in chunks of this many tokens (0 = all at once); under a
  // layer split, chunk c+1 runs on a stage while chunk c runs on the next (pipelined prefill)
  int64_t prefill_chunk = 0;
  Precision precision;
  Optimizer optimizer = Optimizer::AdamW;
  Parallel parallel;
  MemoryRules memory;
  Runtime runtime = default_runtime();  // the software stack's fixed costs (workloads/runtimes.h)
  Placement placement;
  int32_t steps = 1;
  Where model_where, batch_where;
  Where steps_where;  // `steps:` (training) or `generate:` (inference); the flag when --steps set it
};

// Throws core::InputError naming file:line:col.
Workload load_workload(const std::string& path, const std::string& origin = "-w/--workload");
Workload parse_workload(const std::string& yaml_text, const std::string& file_name);

// Rank i on the node the workload's placement gives (work::placed; by default topology.rank_nodes()[i],
// one per compute node unless a node sets `ranks`), recorded in Program::placement when the workload
// sets one. Throws core::InputError when the plan cannot run on it (a placement that does not fit,
// degrees that do not divide, a rank whose memory is too small).
core::Program compile(const Workload& w, const topo::Topology& t);

}  // namespace clustertwin::work
