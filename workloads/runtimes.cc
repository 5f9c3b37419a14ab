// The built-in runtimes. Fitted figures [F] name the calibration row (tests/validation/rows.yaml)
// they were fitted on; every other row that uses them checks them.
#include "workloads/runtimes.h"

#include <algorithm>

namespace clustertwin::work {

namespace {
// MLX's per-kernel cost, fitted on c1-m4max-single (gpt-oss-120b, batch 1, M4 Max: 80 tok/s
// measured, 12.5 ms per token; the roofline gives 6.3 ms for the weights a token reads; the rest
// over the 36 x (10 + 11) + 4 kernels a token launches = 8 us). c1-m5max-single checks it.
constexpr double kMlxKernel = 8e-6;

const std::vector<Runtime> kRuntimes{
    {"clustertwin", "this project's executor: it runs the Program and is measured, so nothing is added", 0, 0, 0,
     "[D] the executor's own costs show in its measurements (`clustertwin run`, `bench`)"},
    {"mlx-jaccl", "MLX distributed over Thunderbolt 5 RDMA (JACCL)", kMlxKernel, 11e-6, 0,
     "kernel_launch [F] c1-m4max-single (see mlx-ring); collective_call [F] c1-tensor-rdma (gpt-oss-120b tp 2 "
     "over RDMA: 98 tok/s = 10.2 ms per token, 72 all-reduces per token beside the roofline and launches), on top "
     "of the tb5-rdma link's own per-message overhead and latency"},
    {"mlx-ring", "MLX distributed over TCP (the ring backend)", kMlxKernel, 0, 0,
     "kernel_launch [F] c1-m4max-single: MLX decode of gpt-oss-120b on one M4 Max, 80 tok/s "
     "(github.com/exo-explore/exo/issues/2070); TCP per-message costs come from the link presets"},
    {"exo", "exo running MLX, layers split over TCP (pipeline)", kMlxKernel, 0, 1.25e-3,
     "kernel_launch as mlx-ring; message_call [F] c1-pipeline-tcp (gpt-oss-120b split 18 + 18 over TB5 TCP: 68 "
     "tok/s = 14.7 ms per token, 2 messages per token beside the roofline and launches)"},
    {"llama.cpp", "llama.cpp (Metal), one node", 0, 0, 0,
     "[D] not modelled: llama.cpp encodes a token's graph into a few command buffers; rows a1-a3 are within 10 % "
     "without a per-kernel cost"},
};

// Kernels per decode step, counted in mlx-lm's models (llama.py, gpt_oss.py, switch_layers.py):
// attention = norm, q, k, v, 2 rope, 2 cache updates, sdpa, o_proj; dense MLP = norm, gate, up,
// swiglu, down, residual add; MoE MLP = norm, router, top-k, softmax, gather_qmm x 3, swiglu,
// weight, sum, residual add; head = norm, lm_head, argmax; embed = gather.
const KernelCounts kKernels{10, 6, 11, 3, 1};
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

void lower_calls(const Runtime& r, core::Program& p) {
  if (r.collective_call == 0 && r.message_call == 0) return;
  for (auto& rp : p.ranks)
    for (auto& op : rp.ops) {
      if (op.kind == core::OpKind::Collective) op.overhead += r.collective_call;
      if (op.kind == core::OpKind::Send) op.overhead += r.message_call;
    }
}

}  // namespace clustertwin::work
