#include "workloads/hybrid.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "workloads/builder.h"
#include "workloads/memory.h"

namespace clustertwin::work {

namespace {
using core::CollectiveKind;
using core::Phase;

// What one rank of the plan is and talks to.
struct Seat {
  int stage, d, t;
  int32_t tp_group = -1, dp_group = -1;
};

class HybridCompiler {
 public:
  HybridCompiler(const Workload& w, const Cluster& c, const Layout& l)
      : w_(w), c_(c), l_(l), plan_(model_parallel_plan(w.parallel)), chunks_(l.pp * l.virtual_stages),
        m_(plan_.schedule.micro_batches),
        tokens_(w.micro_batch * w.seq_len), cost_(w, tokens_, w.seq_len, l.tp),
        act_bytes_(cost_.layer_input_bytes()), coll_per_mb_(kPerLayer * static_cast<int32_t>(w.model.layers + 2)) {}

  core::Program run() {
    core::Program p;
    p.name = w_.name;
    p.steps = w_.steps;
    p.samples_per_step = static_cast<double>(w_.micro_batch) * m_ * l_.dp;
    p.tokens_per_step = static_cast<double>(tokens_) * m_ * l_.dp;
    Groups groups(p);
    std::vector<Seat> seats(l_.world());
    for (int s = 0; s < l_.pp; ++s)
      for (int d = 0; d < l_.dp; ++d)
        for (int t = 0; t < l_.tp; ++t) {
          Seat seat{s, d, t};
          std::vector<int32_t> tpg, dpg;
          for (int k = 0; k < l_.tp; ++k) tpg.push_back(l_.rank_at(s, d, k));
          for (int k = 0; k < l_.dp; ++k) dpg.push_back(l_.rank_at(s, k, t));
          if (l_.tp > 1) seat.tp_group = groups.of(tpg);
          if (l_.dp > 1) seat.dp_group = groups.of(dpg);
          seats[l_.rank_at(s, d, t)] = seat;
        }
    p.memory.resize(l_.world());
    size_t expect = 0;  // ranks have about the same number of ops: grow each list once
    for (int r = 0; r < l_.world(); ++r) {
      p.ranks.push_back({r, {}});
      p.ranks.back().ops.reserve(expect + expect / 8);
      RankBuilder b{p.ranks.back(), w_.precision.compute};
      std::vector<uint32_t> carry;
      for (int s = 0; s < w_.steps; ++s) step(b, seats[r], s, carry);
      expect = std::max(expect, p.ranks.back().ops.size());
      p.memory[r] = memory(seats[r]);
      p.memory[r].capacity = c_.ranks[r].capacity;
    }
    return p;
  }

 private:
  int virt(const Seat& st, int chunk) const { return chunk * l_.pp + st.stage; }
  // The rank holding virtual stage v for the same replica and tensor rank.
  int32_t owner(const Seat& st, int v) const { return l_.rank_at(v % l_.pp, st.d, st.t); }
  std::string mb(int j) const { return m_ == 1 ? "" : fmt::format("mb{}.", j); }
  int32_t msg_tag(int s, int j, int v, int dir) const { return ((s * m_ + j) * chunks_ + v) * 2 + dir; }
  // TP collectives of micro-batch j: layer l (embedding = layers, head = layers + 1), k = 0..5
  // (forward 0-1, backward 2-3, recomputed forward 4-5).
  static constexpr int32_t kPerLayer = 6;
  int32_t tp_tag(int s, int j, int64_t l, int k) const {
    return (s * m_ + j) * coll_per_mb_ + static_cast<int32_t>(l) * kPerLayer + k;
  }
  int32_t dp_tag(int s, int k) const { return w_.steps * m_ * coll_per_mb_ + s * 2 + k; }

  // A compute op followed, under tensor parallelism, by the all-reduce of its output.
  void op_then_allreduce(RankBuilder& b, const Seat& st, Phase ph, int s, const std::string& label, const Cost& c,
                         std::vector<uint32_t>& extra, int32_t tag, double ar_bytes, core::DType dt) {
    uint32_t id = b.compute(ph, s, label, c.flops, c.bytes, c.gemm, extra);
    extra.clear();
    if (st.tp_group < 0) return;
    extra.push_back(b.collective({.kind = CollectiveKind::AllReduce, .with = plan_.tensor.allreduce, .group = st.tp_group,
                                  .tag = tag, .bytes = ar_bytes, .dtype = dt, .step = s, .label = label + ".allreduce",
                                  .deps = {id}}));
  }

  std::vector<uint32_t> take_gate() {
    std::vector<uint32_t> g;
    g.swap(gate_);
    return g;
  }

  void forward(RankBuilder& b, const Seat& st, int s, int j, int chunk) {
    const int v = virt(st, chunk);
    const core::DType dt = w_.precision.compute;
    std::vector<uint32_t> extra = take_gate();
    if (v > 0) extra.push_back(b.recv(owner(st, v - 1), msg_tag(s, j, v, 0), act_bytes_, s, mb(j) + "act.recv", {}));
    if (v == 0) {
      Cost c = cost_.embed_fwd();
      c.bytes /= l_.tp;
      op_then_allreduce(b, st, Phase::Forward, s, mb(j) + "embed.fwd", c, extra, tp_tag(s, j, w_.model.layers, 0), act_bytes_, dt);
    }
    for (int64_t l = l_.first_layer(v); l < l_.first_layer(v) + l_.layers[v]; ++l) {
      const UnitCosts& block = cost_.layer(l);  // a dense leading layer has its own MLP
      if (l_.tp == 1) {
        Cost c = block.layer_fwd();
        b.compute(Phase::Forward, s, fmt::format("{}L{}.fwd", mb(j), l), c.flops, c.bytes, c.gemm, extra);
        extra.clear();
        continue;
      }
      op_then_allreduce(b, st, Phase::Forward, s, fmt::format("{}L{}.attn.fwd", mb(j), l), block.attention_fwd(), extra,
                        tp_tag(s, j, l, 0), act_bytes_, dt);
      op_then_allreduce(b, st, Phase::Forward, s, fmt::format("{}L{}.mlp.fwd", mb(j), l), block.mlp_fwd(), extra,
                        tp_tag(s, j, l, 1), act_bytes_, dt);
    }
    if (v == chunks_ - 1) {
      // vocabulary-parallel cross-entropy: max, sum of exponentials and target logit per token (fp32)
      op_then_allreduce(b, st, Phase::Forward, s, mb(j) + "head.fwd", cost_.head_fwd(), extra,
                        tp_tag(s, j, w_.model.layers + 1, 0), 3.0 * static_cast<double>(tokens_) * 4, core::DType::F32);
    }
    // the pass ends with its last compute, or the all-reduce of its output under TP
    uint32_t last = extra.empty() ? static_cast<uint32_t>(b.last_compute) : extra.back();
    if (v < chunks_ - 1) b.send(owner(st, v + 1), msg_tag(s, j, v + 1, 0), act_bytes_, s, mb(j) + "act.send", {last});
    fwd_tail_[{j, chunk}] = last;
  }

  void backward(RankBuilder& b, const Seat& st, int s, int j, int chunk) {
    const int v = virt(st, chunk);
    const core::DType dt = w_.precision.compute;
    std::vector<uint32_t> extra = take_gate();
    extra.push_back(fwd_tail_.at({j, chunk}));
    if (v < chunks_ - 1) extra.push_back(b.recv(owner(st, v + 1), msg_tag(s, j, v, 1), act_bytes_, s, mb(j) + "grad.recv", {}));
    if (v == chunks_ - 1)
      op_then_allreduce(b, st, Phase::Backward, s, mb(j) + "head.bwd", cost_.bwd(cost_.head_fwd()), extra,
                        tp_tag(s, j, w_.model.layers + 1, 1), act_bytes_, dt);
    for (int64_t l = l_.first_layer(v) + l_.layers[v] - 1; l >= l_.first_layer(v); --l) {
      const UnitCosts& block = cost_.layer(l);
      if (l_.tp == 1) {
        Cost c = block.bwd(block.layer_fwd());
        b.compute(Phase::Backward, s, fmt::format("{}L{}.bwd", mb(j), l), c.flops, c.bytes, c.gemm, extra);
        extra.clear();
        continue;
      }
      if (cost_.recomputes()) {  // the checkpointed forward runs again, with its two all-reduces
        op_then_allreduce(b, st, Phase::Backward, s, fmt::format("{}L{}.attn.recompute", mb(j), l), block.attention_fwd(),
                          extra, tp_tag(s, j, l, 4), act_bytes_, dt);
        op_then_allreduce(b, st, Phase::Backward, s, fmt::format("{}L{}.mlp.recompute", mb(j), l), block.mlp_fwd(), extra,
                          tp_tag(s, j, l, 5), act_bytes_, dt);
      }
      op_then_allreduce(b, st, Phase::Backward, s, fmt::format("{}L{}.mlp.bwd", mb(j), l), block.gradient(block.mlp_fwd()),
                        extra, tp_tag(s, j, l, 2), act_bytes_, dt);
      op_then_allreduce(b, st, Phase::Backward, s, fmt::format("{}L{}.attn.bwd", mb(j), l),
                        block.gradient(block.attention_fwd()), extra, tp_tag(s, j, l, 3), act_bytes_, dt);
    }
    if (v == 0) {
      Cost c = cost_.bwd(cost_.embed_fwd());
      c.bytes /= l_.tp;
      b.compute(Phase::Backward, s, mb(j) + "embed.bwd", c.flops, c.bytes, c.gemm, extra);
      extra.clear();
    }
    uint32_t last = extra.empty() ? static_cast<uint32_t>(b.last_compute) : extra.back();
    if (v > 0) b.send(owner(st, v - 1), msg_tag(s, j, v - 1, 1), act_bytes_, s, mb(j) + "grad.send", {last});
    tail_ = last;
  }

  void step(RankBuilder& b, const Seat& st, int s, std::vector<uint32_t>& carry) {
    gate_ = carry;  // the previous step's parameter gathers (ZeRO-1)
    carry.clear();
    fwd_tail_.clear();
    for (const Pass& ps : schedule(plan_.schedule.kind, l_.pp, st.stage, m_, l_.virtual_stages)) {
      if (ps.forward) forward(b, st, s, ps.micro_batch, ps.chunk);
      else backward(b, st, s, ps.micro_batch, ps.chunk);
    }
    // data-parallel gradient reduction of this rank's parameters, then the optimizer
    const double params = local_params(st);
    const core::DType gd = w_.precision.gradients, wd = w_.precision.weights.element;
    const bool zero1 = plan_.zero_stage >= 1 && l_.dp > 1;
    auto gradient_sync = [&](CollectiveKind kind, int k, core::DType dt, std::string label, uint32_t after) {
      return b.collective({.kind = kind, .with = plan_.gradients, .group = st.dp_group, .tag = dp_tag(s, k),
                           .bytes = params * core::bytes_per_element(dt), .dtype = dt, .step = s, .label = std::move(label),
                           .deps = {after}});
    };
    std::vector<uint32_t> after{tail_};
    if (l_.dp > 1) {
      CollectiveKind kind = zero1 ? CollectiveKind::ReduceScatter : CollectiveKind::AllReduce;
      after = {gradient_sync(kind, 0, gd, fmt::format("grad.{}", core::name(kind)), tail_)};
    }
    Cost opt = cost_.optimizer(zero1 ? params / l_.dp : params);
    uint32_t o = b.compute(Phase::Optimizer, s, "optimizer", opt.flops, opt.bytes, {}, after);
    if (zero1) carry.push_back(gradient_sync(CollectiveKind::AllGather, 1, wd, "param.allgather", o));
  }

  // Parameters this rank holds: its chunks' layers, the embedding on the first virtual stage, the
  // head on the last (stage_param_count), all split tp ways.
  double local_params(const Seat& st) const {
    double p = 0;
    for (int k = 0; k < l_.virtual_stages; ++k) {
      int v = virt(st, k);
      p += static_cast<double>(stage_param_count(w_.model, l_.first_layer(v), l_.layers[v], v == 0, v == chunks_ - 1));
    }
    return p / l_.tp;
  }

  core::MemoryUse memory(const Seat& st) const {
    core::MemoryUse mu;
    const double params = local_params(st);
    const bool zero1 = plan_.zero_stage >= 1 && l_.dp > 1;
    mu.weights = params * w_.precision.weights.bytes_per_element();
    mu.gradients = params * core::bytes_per_element(w_.precision.gradients);
    mu.optimizer = params * optimizer_bytes_per_param(w_) / (zero1 ? l_.dp : 1);
    // activations: the peak, over the schedule, of passes whose forward ran and backward did not
    const double per_layer = cost_.activation_bytes_per_layer();
    double live = 0, peak = 0;
    for (const Pass& ps : schedule(plan_.schedule.kind, l_.pp, st.stage, m_, l_.virtual_stages)) {
      int v = virt(st, ps.chunk);
      double a = per_layer * static_cast<double>(l_.layers[v]) + act_bytes_;
      if (v == chunks_ - 1) a += static_cast<double>(tokens_) * static_cast<double>(w_.model.vocab) * core::size_of(w_.precision.compute) / l_.tp;
      live += ps.forward ? a : -a;
      peak = std::max(peak, live);
    }
    mu.activations = peak;
    if (w_.memory.activation_checkpointing) {  // one layer recomputed at a time holds everything
      Workload full = w_;
      full.memory.activation_checkpointing = false;
      mu.activations += UnitCosts(full, tokens_, w_.seq_len, l_.tp).activation_bytes_per_layer();
    }
    mu.buffers = (l_.pp > 1 ? 2 * act_bytes_ : 0);  // a message in and one out
    return mu;
  }

  const Workload& w_;
  const Cluster& c_;
  const Layout& l_;
  const Hybrid plan_;  // pipeline and tensor plans too
  const int chunks_, m_;
  const int64_t tokens_;
  const UnitCosts cost_;
  const double act_bytes_;
  const int32_t coll_per_mb_;
  std::vector<uint32_t> gate_;                 // deps the next compute op must also wait for
  std::map<std::pair<int, int>, uint32_t> fwd_tail_;  // (micro-batch, chunk) -> last op of its forward
  uint32_t tail_ = 0;                          // the last op of the latest backward pass
};
}  // namespace

core::Program compile_hybrid(const Workload& w, const Cluster& c, const Layout& l) {
  return HybridCompiler(w, c, l).run();
}

}  // namespace clustertwin::work
