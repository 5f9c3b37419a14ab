#include "workloads/ddp.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace clustertwin::work {

namespace {
// A GEMM of about `flops` over `rows` token rows of width `k`, cut into row blocks so the
// executor's matrices stay small (≤ 256 rows).
core::GemmShape gemm_for(double flops, int64_t rows, int64_t k) {
  int64_t m = std::min<int64_t>(rows, 256);
  int64_t count = (rows + m - 1) / m;
  auto n = static_cast<int64_t>(std::llround(flops / (2.0 * static_cast<double>(m * count) * static_cast<double>(k))));
  return {m, std::max<int64_t>(n, 1), k, count};
}

struct RankBuilder {
  core::RankProgram& rp;
  int last_compute = -1;

  uint32_t add(core::Op op) {
    rp.ops.push_back(std::move(op));
    return static_cast<uint32_t>(rp.ops.size() - 1);
  }
  // Compute ops form one stream: each waits for the previous one and any extra deps.
  uint32_t compute(core::Phase phase, int step, std::string label, double flops, double bytes, core::GemmShape g,
                   std::vector<uint32_t> extra = {}) {
    core::Op op;
    op.kind = core::OpKind::Compute;
    op.phase = phase;
    op.step = step;
    op.label = std::move(label);
    op.flops = flops;
    op.bytes = bytes;
    op.gemm = g;
    op.deps = std::move(extra);
    if (last_compute >= 0) op.deps.push_back(static_cast<uint32_t>(last_compute));
    std::sort(op.deps.begin(), op.deps.end());
    op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
    last_compute = static_cast<int>(add(std::move(op)));
    return static_cast<uint32_t>(last_compute);
  }
};
}  // namespace

core::Program compile_ddp(const Workload& w, int world) {
  if (world < 1) throw std::invalid_argument("ddp: the topology has no rank");
  const ModelShape& m = w.model;
  const int64_t tokens = w.micro_batch * w.seq_len;  // per rank per step
  const double act = core::size_of(w.compute_dtype);
  const double t = static_cast<double>(tokens), h = static_cast<double>(m.hidden);
  const int64_t params = param_count(m);
  const double grad_bytes = static_cast<double>(params) * core::size_of(w.grad_dtype);

  // Bytes touched (roofline): a layer reads its weights and streams its activations; about 16
  // hidden-width tensors per token cross memory in a block's forward pass (inputs and outputs of
  // the projections, attention, MLP at 4x width, norms, residuals).
  const double layer_weight_bytes = static_cast<double>(params_per_layer(m)) * act;
  const double layer_fwd_flops = layer_forward_flops_per_token(m, w.seq_len) * t;
  const double layer_fwd_bytes = layer_weight_bytes + 16 * t * h * act;
  const double head_fwd_flops = head_forward_flops_per_token(m) * t;
  const double head_fwd_bytes = static_cast<double>(m.vocab) * h * act + t * static_cast<double>(m.vocab) * act;
  const double embed_bytes = 2 * t * h * act;
  // AdamW in fp32: reads parameters, gradients, two moments; writes parameters and moments.
  const double opt_bytes = static_cast<double>(params) * 4 * 7;
  const double opt_flops = static_cast<double>(params) * 12;

  core::Program p;
  p.name = w.name;
  p.steps = w.steps;
  p.samples_per_step = static_cast<double>(w.micro_batch) * world;
  p.tokens_per_step = static_cast<double>(tokens) * world;
  p.groups.push_back({});
  for (int r = 0; r < world; ++r) p.groups[0].push_back(r);

  for (int r = 0; r < world; ++r) {
    p.ranks.push_back({r, {}});
    RankBuilder b{p.ranks.back()};
    for (int s = 0; s < w.steps; ++s) {
      using core::Phase;
      b.compute(Phase::Forward, s, "embed.fwd", 0, embed_bytes, {});
      for (int64_t l = 0; l < m.layers; ++l)
        b.compute(Phase::Forward, s, fmt::format("L{}.fwd", l), layer_fwd_flops, layer_fwd_bytes,
                  gemm_for(layer_fwd_flops, tokens, m.hidden));
      b.compute(Phase::Forward, s, "head.fwd", head_fwd_flops, head_fwd_bytes, gemm_for(head_fwd_flops, tokens, m.hidden));
      b.compute(Phase::Backward, s, "head.bwd", 2 * head_fwd_flops, 2 * head_fwd_bytes,
                gemm_for(2 * head_fwd_flops, tokens, m.hidden));
      for (int64_t l = m.layers - 1; l >= 0; --l)
        b.compute(Phase::Backward, s, fmt::format("L{}.bwd", l), 2 * layer_fwd_flops, 2 * layer_fwd_bytes,
                  gemm_for(2 * layer_fwd_flops, tokens, m.hidden));
      uint32_t last_bwd = b.compute(Phase::Backward, s, "embed.bwd", 0, 2 * embed_bytes, {});

      core::Op ar;
      ar.kind = core::OpKind::Collective;
      ar.phase = Phase::Comm;
      ar.step = s;
      ar.label = "grad.allreduce";
      ar.bytes = grad_bytes;
      ar.collective = core::CollectiveKind::AllReduce;
      ar.algorithm = w.allreduce;
      ar.dtype = w.grad_dtype;
      ar.group = 0;
      ar.tag = s;  // one all-reduce per step: the step number identifies it on every rank
      ar.deps = {last_bwd};
      uint32_t ar_id = b.add(std::move(ar));

      b.compute(Phase::Optimizer, s, "optimizer", opt_flops, opt_bytes, {}, {ar_id});
    }
  }
  return p;
}

}  // namespace clustertwin::work
