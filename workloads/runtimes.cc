// The built-in runtimes. Fitted figures [F] name the calibration row (tests/validation/rows.yaml)
// they were fitted on; every other row that uses them checks them.
#include "workloads/runtimes.h"

#include <algorithm>

namespace clustertwin::work {

namespace {
// MLX's fixed cost per kernel (and per expert GEMV), fitted on c1-m4max-single (gpt-oss-120b in
// MXFP4 experts and 8-bit elsewhere, batch 1, M4 Max: 80 tok/s measured, 12.5 ms per token; the
// roofline gives 7.67 ms for the weights a token reads; the rest over the 36 x (10 + 8 + 4
// experts x 3) + 4 = 1084 units a token pays = 4.5 us). c1-m5max-single checks it.
constexpr double kMlxKernel = 4.5e-6;
// llama.cpp (Metal), fitted on a4-m3u-deepseek-r1-tg128 (DeepSeek R1 Q4_K_M on an M3 Ultra: 20.21
// tok/s = 49.5 ms per token; roofline 33.9 ms; the rest over 3 dense layers x (10 + 6) + 58 MoE
// layers x (10 + 8 + 8 experts x 3 + the shared expert's 5) + 4 = 2778 units = 5.6 us). The dense
// rows a1-a3 check it (516 and 1284 units).
constexpr double kLlamaCppKernel = 5.6e-6;
// ggml's Metal matrix-matrix kernel (kernel_mul_mm, and mul_mm_id for experts) tiles 64 weight rows
// by 32 token columns (ggml-metal.metal: BLOCK_SIZE_N 32); ds4's Metal kernels keep the same tile.
constexpr int kGgmlTile = 32;

const std::vector<Runtime> kRuntimes{
    {"clustertwin", "this project's executor: it runs the Program and is measured, so nothing is added", 0, 0, 0, 0,
     "[D] the executor's own costs show in its measurements (`clustertwin run`, `bench`)"},
    {"mlx-jaccl", "MLX distributed over Thunderbolt 5 RDMA (JACCL)", kMlxKernel, 11.5e-6, 0, 0,
     "kernel_launch [F] c1-m4max-single (see mlx-ring); collective_call [F] c1-tensor-rdma (gpt-oss-120b tp 2 "
     "over RDMA: 98 tok/s = 10.2 ms per token; the roofline, the launches and the tb5-rdma link's per-message "
     "overhead and latency give 9.37 ms, the rest over 72 all-reduces per token = 11.5 us each: MLX's GPU -> CPU "
     "synchronisation and JACCL's call); c3-thunderbolt checks it"},
    {"mlx-ring", "MLX distributed over TCP (the ring backend)", kMlxKernel, 0, 0, 0,
     "kernel_launch [F] c1-m4max-single: MLX decode of gpt-oss-120b on one M4 Max, 80 tok/s "
     "(github.com/exo-explore/exo/issues/2070); TCP per-message costs come from the link presets"},
    {"exo", "exo running MLX, layers split over TCP (pipeline)", kMlxKernel, 0, 1.0e-3, 0,
     "kernel_launch as mlx-ring; message_call [F] c1-pipeline-tcp (gpt-oss-120b split 18 + 18 over TB5 TCP: 68 "
     "tok/s = 14.7 ms per token, 2 messages per token beside the roofline and launches)"},
    {"pytorch-rdma", "PyTorch distributed with its RDMA c10d backend over Thunderbolt 5 (collectives only)", 0, 23e-6, 0, 0,
     "collective_call [F] k3-pytorch-rdma-1mib (1 MiB all-reduce of 2 ranks in 150 us, github.com/pytorch/pytorch/pull/"
     "181087; the tb5-rdma link's latency, overhead and bandwidth give 127 us); k4 and k5 check it; kernel launches of "
     "PyTorch's MPS backend not modelled (no row)"},
    {"ds4", "ds4 (antirez/ds4: C + Metal DeepSeek V4 engine), one node or split by layers or tensors", kLlamaCppKernel, 0,
     8.3e-3, kGgmlTile,
     "kernel_launch [D] llama.cpp's (both encode a token's graph as Metal dispatches; c5-single-2bit-2k and -64k "
     "check it, within 1 %); gemm_tile_tokens [D] ggml's Metal tile of 32 tokens (BLOCK_SIZE_N); message_call [F] c5-layers-rdma-empty (DeepSeek V4 Flash split over 2 M3 Ultras on "
     "RDMA, 24 tok/s = 41.7 ms per token, 25.1 ms beside its 2 messages per token: 8.3 ms each), checked over TCP "
     "by c2-layers-tcp: the same cost on both transports, so it is the engine's work per stage boundary, not the "
     "link's"},
    {"llama.cpp-rpc", "llama.cpp with layers on rpc-server hosts (--rpc): a layer split over TCP", kLlamaCppKernel, 0,
     3.7e-3, kGgmlTile,
     "kernel_launch and gemm_tile_tokens as llama.cpp; message_call [D from M] github.com/ggml-org/llama.cpp/pull/6829 "
     "(TinyLlama 1.1B F16: 63 tok/s local, 42 through an rpc-server on another host over 1 GbE: 7.9 ms per token, "
     "0.5 ms of it the two 1 GbE messages, the rest the RPC layer's serialised graph and round trip: 3.7 ms per "
     "message). Measured on CUDA over Linux; no Apple row checks it"},
    {"llama.cpp", "llama.cpp (Metal), one node", kLlamaCppKernel, 0, 0, kGgmlTile,
     "kernel_launch [F] a4-m3u-deepseek-r1-tg128 (DeepSeek R1 671B Q4_K_M on one M3 Ultra, 20.21 tok/s; "
     "github.com/geerlingguy/beowulf-ai-cluster/issues/17); the dense rows a1-a3 check it; gemm_tile_tokens [D] "
     "ggml-metal.metal kernel_mul_mm: BLOCK_SIZE_N 32 token columns per tile (a4-m3u-deepseek-r1-pp512 checks it)"},
};

// Kernels per decode step, counted in mlx-lm's models (llama.py, gpt_oss.py, switch_layers.py):
// attention = norm, q, k, v, 2 rope, 2 cache updates, sdpa, o_proj; dense MLP = norm, gate, up,
// swiglu, down, residual add; MoE MLP = norm, router, top-k, softmax, swiglu, weight, sum, residual
// add (8) besides its gather_qmm x 3, which count one GEMV per selected expert (mlp_kernels); head =
// norm, lm_head, argmax; embed = gather.
const KernelCounts kKernels{10, 6, 8, 3, 1};
}  // namespace

const std::vector<Runtime>& runtimes() { return kRuntimes; }

std::vector<std::string> runtime_names() {
  std::vector<std::string> out;
  for (const auto& r : kRuntimes) out.emplace_back(r.name);
  return out;
}

const Runtime* find_runtime(std::string_view name) {
  auto it = std::find_if(kRuntimes.begin(), kRuntimes.end(), [&](const Runtime& r) { return r.name == name; });
  return it == kRuntimes.end() ? nullptr : &*it;
}

const Runtime& default_runtime() { return kRuntimes.front(); }

const KernelCounts& kernel_counts() { return kKernels; }

int router_kernels(const ModelShape& m) {
  const int64_t matrices = m.mlp == Mlp::SwiGlu ? 3 : 2;
  // a shared expert is a dense MLP beside the routed ones: its GEMVs, activation and the add
  return kKernels.moe_mlp + static_cast<int>(m.shared_experts * (matrices + 2));
}

int expert_kernels(const ModelShape& m, int64_t rows, int64_t local_experts) {
  const int64_t matrices = m.mlp == Mlp::SwiGlu ? 3 : 2;
  return static_cast<int>(std::min(local_experts, rows) * matrices);
}

int mlp_kernels(const ModelShape& m, int64_t tokens) {
  if (!m.moe()) return kKernels.dense_mlp;
  return router_kernels(m) + expert_kernels(m, tokens * m.experts_per_token, m.experts);
}

void lower_calls(const Runtime& r, core::Program& p) {
  if (r.collective_call == 0 && r.message_call == 0) return;
  for (auto& rp : p.ranks)
    for (auto& op : rp.ops) {
      if (op.kind == core::OpKind::Collective) op.overhead += r.collective_call;
      if (op.kind == core::OpKind::Send) op.overhead += r.message_call;
    }
}

}  // namespace clustertwin::work
