// Runtime presets: the software stack that runs a workload, as data beside device, link and format
// presets. A runtime adds fixed costs that bytes and FLOPs do not explain: a launch per device
// kernel (a batch-1 decode runs hundreds per token, each costing microseconds whatever its size),
// a call per collective (GPU -> CPU synchronisation, the library's dispatch), and a cost per
// point-to-point message of the serving stack (a layer split's serialise, RPC and graph sync). The
// compiler lowers them into the Program's op overheads (core::Op::overhead), so the simulator stays
// generic and `explain` shows every term. `clustertwin presets` lists them with their sources.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/program.h"
#include "workloads/model.h"

namespace clustertwin::work {

struct Runtime {
  std::string_view name;
  std::string_view description;
  double kernel_launch = 0;    // seconds per device kernel of a compute op
  double collective_call = 0;  // seconds per collective call, on every member
  double message_call = 0;     // seconds per point-to-point message (send), on the sender
  // Tokens per tile of the runtime's matrix-matrix kernel (0 = not modelled): a prefill's expert
  // GEMM runs each expert's tokens in whole tiles, so an expert given 16 tokens computes 32 where
  // the tile is 32 (MoE prefill spreads a batch thin: tokens x experts_per_token / experts each).
  int gemm_tile_tokens = 0;
  std::string_view source;     // where each figure comes from, tagged [S]/[D]/[M]/[R]/[F]
  bool charges_nothing() const {
    return kernel_launch == 0 && collective_call == 0 && message_call == 0 && gemm_tile_tokens == 0;
  }
};

const std::vector<Runtime>& runtimes();  // in the order `clustertwin presets` lists them
std::vector<std::string> runtime_names();
const Runtime* find_runtime(std::string_view name);  // nullptr when unknown
const Runtime& default_runtime();                    // "clustertwin": this executor, charges nothing

// Device kernels of the compute ops an inference step launches per layer and model part, as the
// MLX and llama.cpp decoders run them (counted in the model code; see runtimes.cc). An MoE MLP
// launches `moe_mlp` kernels besides its expert GEMVs, and pays the fixed cost once per routed
// expert matrix it reads: a gathered kernel (MLX gather_qmm, llama.cpp mul_mat_id) runs one small
// GEMV per selected expert, each with its own ramp and tail, so the fixed cost scales with the
// experts a step touches, not with the kernels dispatched (see runtimes.cc for the rows it fits).
struct KernelCounts {
  int attention = 0, dense_mlp = 0, moe_mlp = 0, head = 0, embed = 0;
};
const KernelCounts& kernel_counts();
// Fixed-cost units (kernels, and expert GEMVs) of one layer's MLP for a micro-batch of `tokens`
// tokens: dense_mlp, or moe_mlp + (experts the tokens route to) x (matrices per expert).
int mlp_kernels(const ModelShape& m, int64_t tokens);
// Its two parts: the router's and shared experts' kernels, and one expert GEMV per routed matrix
// over `rows` routed rows on a rank holding `local_experts` experts.
int router_kernels(const ModelShape& m);
int expert_kernels(const ModelShape& m, int64_t rows, int64_t local_experts);

// Adds the runtime's per-call costs to the Program: collective_call on every collective,
// message_call on every send. Kernel launches are set where compute ops are built (the compiler
// knows which model part an op is: kernel_counts()).
void lower_calls(const Runtime& r, core::Program& p);

}  // namespace clustertwin::work
