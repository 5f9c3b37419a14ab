#include "workloads/inference.h"

#include <algorithm>

#include <fmt/format.h>

#include "workloads/builder.h"

namespace clustertwin::work {

double kv_cache_bytes(const Workload& w, int64_t layers, int tp, int64_t tokens) {
  // a latent (MLA) is shared by every head: each tensor-parallel rank keeps all of it
  const int split = w.model.mla() ? 1 : tp;
  return static_cast<double>(w.micro_batch) * static_cast<double>(tokens) * static_cast<double>(layers) *
         static_cast<double>(kv_elements_per_token_per_layer(w.model)) / split * w.precision.kv_cache.bytes_per_element();
}

namespace {
using core::CollectiveKind;
using core::Phase;

class InferenceCompiler {
 public:
  InferenceCompiler(const Workload& w, const Cluster& c, const Layout& l)
      : w_(w), c_(c), l_(l), tp_allreduce_(model_parallel_plan(w.parallel).tensor.allreduce),
        ep_(expert_degree(model_parallel_plan(w.parallel).ep, l.dp)) {}

  core::Program run() {
    core::Program p;
    p.name = w_.name;
    p.steps = static_cast<int32_t>(1 + w_.generate);
    p.prefill_steps = 1;
    p.prefill_tokens = static_cast<double>(w_.micro_batch * w_.prompt) * l_.dp;
    p.samples_per_step = static_cast<double>(w_.micro_batch) * l_.dp;
    p.tokens_per_step = static_cast<double>(w_.micro_batch) * l_.dp;  // one new token per sequence per decode step
    Groups groups(p);
    for (int r = 0; r < l_.world(); ++r) p.ranks.push_back({r, {}});
    for (int s = 0; s < l_.pp; ++s)
      for (int d = 0; d < l_.dp; ++d)
        for (int t = 0; t < l_.tp; ++t) {
          std::vector<int32_t> tpg;
          for (int k = 0; k < l_.tp; ++k) tpg.push_back(l_.rank_at(s, d, k));
          int32_t r = l_.rank_at(s, d, t);
          std::vector<int32_t> epg;  // the ep consecutive replicas that share out the experts
          for (int k = d / ep_ * ep_; k < d / ep_ * ep_ + ep_; ++k) epg.push_back(l_.rank_at(s, k, t));
          RankBuilder b{p.ranks[r], w_.precision.compute};
          rank(b, s, d, t, l_.tp > 1 ? groups.of(tpg) : -1, ep_ > 1 ? groups.of(epg) : -1);
          p.memory.push_back({});
        }
    for (int s = 0; s < l_.pp; ++s)
      for (int d = 0; d < l_.dp; ++d)
        for (int t = 0; t < l_.tp; ++t) p.memory[l_.rank_at(s, d, t)] = memory(s, l_.rank_at(s, d, t));
    return p;
  }

 private:
  // Per pass: the tensor-parallel all-reduces of layer l, k = 0 (attention), 1 (MLP), 2 (head).
  int32_t tp_tag(int pass, int64_t l, int k) const {
    return pass * static_cast<int32_t>(3 * (w_.model.layers + 1)) + static_cast<int32_t>(l) * 3 + k;
  }

  // The prompt's chunks: prefill_chunk tokens each (the last may be shorter), or one.
  int64_t chunk_tokens() const { return w_.prefill_chunk > 0 ? std::min(w_.prefill_chunk, w_.prompt) : w_.prompt; }
  int prefill_chunks() const { return static_cast<int>((w_.prompt + chunk_tokens() - 1) / chunk_tokens()); }

  // The expert-parallel degree: `ep` replicas per group (0 = all), dividing the replicas.
  static int expert_degree(int ep, int dp) {
    if (ep == 0) return dp;
    return ep;
  }

  // Per pass: the expert all-to-alls of layer l, k = 0 (dispatch), 1 (combine).
  int32_t ep_tag(int pass, int64_t l, int k) const {
    return pass * static_cast<int32_t>(2 * w_.model.layers) + static_cast<int32_t>(l) * 2 + k;
  }

  void rank(RankBuilder& b, int stage, int d, int t, int32_t tp_group, int32_t ep_group) {
    const ModelShape& m = w_.model;
    const double act = core::size_of(w_.precision.compute), h = static_cast<double>(m.hidden);
    const int64_t batch = w_.micro_batch;
    const int64_t first = l_.first_layer(stage), layers = l_.layers[stage];
    const bool is_first = stage == 0, is_last = stage == l_.pp - 1;
    const int32_t prev = is_first ? -1 : l_.rank_at(stage - 1, d, t), next = is_last ? -1 : l_.rank_at(stage + 1, d, t);
    const int32_t head_rank = l_.rank_at(l_.pp - 1, d, t), first_rank = l_.rank_at(0, d, t);
    std::vector<uint32_t> carry;  // a pass's trailing all-reduce, which the next pass's compute waits for
    // Passes: the prefill's chunks (step 0), then one per decode step. A pass numbers its messages
    // and collectives, so chunks of one step stay apart.
    const int chunks = prefill_chunks();
    for (int pass = 0; pass < chunks + w_.generate; ++pass) {
      const bool prefill = pass < chunks;
      const int step = prefill ? 0 : pass - chunks + 1;
      const Phase ph = prefill ? Phase::Prefill : Phase::Decode;
      const int64_t offset = prefill ? pass * chunk_tokens() : 0;  // prompt positions before this chunk
      const int64_t len = prefill ? std::min(chunk_tokens(), w_.prompt - offset) : 1;
      const bool last_chunk = prefill && pass == chunks - 1;
      // labels: a chunked prefill's ops say their chunk ("c2.L0.attn")
      const std::string at = prefill && chunks > 1 ? fmt::format("c{}.", pass) : "";
      const int64_t tokens = batch * len;
      const int64_t kv_len = w_.prompt + step;  // positions attended to by the new token
      // A chunk's tokens attend, on average, to the chunk's earlier half and every position before
      // it: the causal cost of a sequence of 2·offset + len.
      UnitCosts cost(w_, tokens, prefill ? 2 * offset + len : 1, l_.tp);
      const double act_bytes = static_cast<double>(tokens) * h * act;
      std::vector<uint32_t> extra = carry;
      if (!is_first) extra.push_back(b.recv(prev, pass, act_bytes, step, at + "act.recv", {}));
      else if (!prefill && l_.pp > 1) extra.push_back(b.recv(head_rank, pass, batch * 4.0, step, "token.recv", {}));
      // The runtime's launches: kernels of this model part x its cost per kernel.
      auto launched = [&](uint32_t id, int kernels) { b.rp.ops[id].overhead = kernels * w_.runtime.kernel_launch; };
      const KernelCounts& k = kernel_counts();
      auto then_allreduce = [&](const std::string& label, const Cost& c, int kernels, int32_t tag, double bytes) {
        uint32_t id = b.compute(ph, step, label, c.flops, c.bytes, c.gemm, extra);
        launched(id, kernels);
        extra.clear();
        if (tp_group >= 0)
          extra.push_back(b.collective({.kind = CollectiveKind::AllReduce, .with = tp_allreduce_, .group = tp_group,
                                        .tag = tag, .bytes = bytes, .dtype = w_.precision.compute, .step = step,
                                        .label = label + ".allreduce", .deps = {id}}));
      };
      if (is_first) {
        Cost e = cost.embed_fwd();
        launched(b.compute(ph, step, at + "embed", e.flops, e.bytes / l_.tp, e.gemm, extra), k.embed);
        extra.clear();
      }
      for (int64_t l = first; l < first + layers; ++l) {
        const UnitCosts& block = cost.layer(l);  // a dense leading layer has its own MLP
        Cost attn = prefill ? block.attention_fwd() : block.attention_decode(kv_len);
        then_allreduce(fmt::format("{}L{}.attn", at, l), attn, k.attention, tp_tag(pass, l, 0), act_bytes);
        if (ep_group < 0 || !m.moe_layer(l)) {
          then_allreduce(fmt::format("{}L{}.mlp", at, l), block.mlp_fwd(), mlp_kernels(block.model(), tokens), tp_tag(pass, l, 1),
                         act_bytes);
          continue;
        }
        // Expert parallel: route on this rank, send each routed row to its expert's owner (uniform
        // routing: 1/ep of the rows to each member), run the local experts over the rows that
        // arrive, send the results back, and combine them.
        const double rows_bytes = cost.routed_rows() * h * act;
        const Cost router = cost.router_fwd(), experts = cost.experts_fwd(ep_);
        uint32_t id = b.compute(ph, step, fmt::format("{}L{}.router", at, l), router.flops, router.bytes, router.gemm, extra);
        launched(id, router_kernels(m));
        extra.clear();
        auto all_to_all = [&](const std::string& label, int32_t tag, uint32_t after) {
          return b.collective({.kind = CollectiveKind::AllToAll, .with = {.algorithm = core::Algorithm::Direct},
                               .group = ep_group, .tag = tag, .bytes = rows_bytes, .dtype = w_.precision.compute,
                               .step = step, .label = label, .deps = {after}});
        };
        const uint32_t dispatched = all_to_all(fmt::format("{}L{}.dispatch", at, l), ep_tag(pass, l, 0), id);
        id = b.compute(ph, step, fmt::format("{}L{}.experts", at, l), experts.flops, experts.bytes, experts.gemm, {dispatched});
        launched(id, expert_kernels(m, static_cast<int64_t>(cost.routed_rows()), m.experts / ep_));
        extra.push_back(all_to_all(fmt::format("{}L{}.combine", at, l), ep_tag(pass, l, 1), id));
      }
      if (is_last && (!prefill || last_chunk)) {
        // logits of each sequence's last position only, then sampling (an arg-max across the
        // vocabulary shards: value and index per sequence)
        UnitCosts last(w_, batch, 1, l_.tp);
        then_allreduce("head", last.head_fwd(), k.head, tp_tag(pass, m.layers, 2), batch * 8.0);
      }
      uint32_t done = extra.empty() ? static_cast<uint32_t>(b.last_compute) : extra.back();
      if (!is_last) b.send(next, pass, act_bytes, step, at + "act.send", {done}, Phase::Comm);
      else if (l_.pp > 1 && pass + 1 >= chunks && step < w_.generate)
        b.send(first_rank, pass + 1, batch * 4.0, step, "token.send", {done});
      carry = extra;
    }
  }

  core::MemoryUse memory(int stage, int32_t rank) const {
    const ModelShape& m = w_.model;
    core::MemoryUse mu;
    const int64_t first = l_.first_layer(stage), layers = l_.layers[stage];
    mu.weights = stage_weight_bytes(w_, first, layers, stage == 0, stage == l_.pp - 1) / l_.tp;
    // expert parallel: each rank holds 1/ep of the routed experts of its MoE layers
    int64_t moe_layers = 0;
    for (int64_t l = first; l < first + layers; ++l) moe_layers += m.moe_layer(l) ? 1 : 0;
    mu.weights -= (1.0 - 1.0 / ep_) * static_cast<double>(moe_layers * m.experts * params_per_expert(m)) *
                  w_.precision.of(Part::Experts).bytes_per_element();
    mu.kv_cache = kv_cache_bytes(w_, l_.layers[stage], l_.tp, w_.prompt + w_.generate);
    // prefill's working set: one layer's activations for every token of a chunk, and the logits
    UnitCosts prefill(w_, w_.micro_batch * chunk_tokens(), w_.prompt, l_.tp);
    Workload full = w_;
    full.memory.activation_checkpointing = false;
    mu.activations = UnitCosts(full, w_.micro_batch * chunk_tokens(), w_.prompt, l_.tp).activation_bytes_per_layer() +
                     static_cast<double>(w_.micro_batch) * static_cast<double>(m.vocab) * 4 / l_.tp;
    mu.buffers = l_.pp > 1 ? 2 * prefill.layer_input_bytes() : 0;
    mu.capacity = c_.ranks[rank].capacity;
    return mu;
  }

  const Workload& w_;
  const Cluster& c_;
  const Layout& l_;
  const CollectiveChoice tp_allreduce_;
  const int ep_;
};
}  // namespace

core::Program compile_inference(const Workload& w, const Cluster& c, const Layout& l) {
  if (l.virtual_stages > 1) fail_at(w.parallel.where, "interleaved pipeline stages are for training", "remove virtual_stages");
  if (const int ep = model_parallel_plan(w.parallel).ep; ep != 1) {
    if (ep > 0 && l.dp % ep != 0)
      fail_at(w.parallel.where, fmt::format("ep {} does not divide the {} ranks", ep, l.dp),
              fmt::format("use an ep that divides {} (leave ep out to use every rank)", l.dp));
    const int resolved = ep > 0 ? ep : l.dp;
    if (w.model.experts % resolved != 0)
      fail_at(w.parallel.where,
              fmt::format("expert parallel over {} ranks cannot share out the {} experts of '{}' evenly", resolved,
                          w.model.experts, w.model.name),
              "set ep to a divisor of the expert count that divides the number of ranks");
  }
  return InferenceCompiler(w, c, l).run();
}

}  // namespace clustertwin::work
