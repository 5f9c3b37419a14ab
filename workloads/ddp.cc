#include "workloads/ddp.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/builder.h"
#include "workloads/memory.h"

namespace clustertwin::work {

std::vector<Unit> units_of(const ModelShape& m) {
  const double h = static_cast<double>(m.hidden), v = static_cast<double>(m.vocab);
  const double embed = static_cast<double>(m.vocab * m.hidden + m.context * m.hidden);
  std::vector<Unit> u{{"embed", embed, embed}};
  for (int64_t l = 0; l < m.layers; ++l) {
    const double layer = static_cast<double>(layers_param_count(m, l, 1));
    u.push_back({fmt::format("L{}", l), layer, layer});
  }
  // The head owns the final norm and, when untied, its matrix; it always reads the matrix.
  double head = static_cast<double>(param_count(m)) - embed - static_cast<double>(layers_param_count(m, 0, m.layers));
  u.push_back({"head", head, head + (m.tied_embeddings ? v * h : 0)});
  return u;
}

std::vector<Bucket> buckets_of(const std::vector<Unit>& backward_order, double bytes_per_param, double bucket_bytes) {
  std::vector<Bucket> out;
  double fill = 0;
  for (size_t i = 0; i < backward_order.size(); ++i) {
    fill += backward_order[i].params;
    bool last = i + 1 == backward_order.size();
    if (last || (bucket_bytes > 0 && fill * bytes_per_param >= bucket_bytes)) {
      out.push_back({i, fill});
      fill = 0;
    }
  }
  return out;
}

namespace {
using core::CollectiveKind;
using core::Phase;

struct Plan {
  const Workload& w;
  const Zero opt;  // ZeRO stage 0 is DDP
  int world;
  int stage;  // ZeRO stage
  int m;      // micro-batches per step (gradient accumulation)
  std::vector<Unit> units;
  std::vector<Unit> backward;  // units in backward order
  std::vector<Bucket> buckets;
  UnitCosts cost;

  Plan(const Workload& wl, int n)
      : w(wl), opt(data_parallel_plan(wl.parallel)), world(n), stage(opt.stage), m(opt.micro_batches),
        units(units_of(wl.model)),
        backward(units.rbegin(), units.rend()),
        buckets(buckets_of(backward, core::bytes_per_element(wl.precision.gradients),
                           stage == 3 ? 1 : opt.bucket_bytes)),  // stage 3: one reduce-scatter per unit
        cost(wl, wl.micro_batch * wl.seq_len, wl.seq_len) {}

  std::string mb(int j) const { return m == 1 ? "" : fmt::format("mb{}.", j); }
  // Collective instances of a step: buckets' reductions, then (ZeRO-1/2) their all-gathers, or
  // (ZeRO-3) one gather per unit for forward and one for backward, then one reduce-scatter per
  // unit. Every rank numbers them the same way.
  int32_t tags_per_step() const { return stage == 3 ? static_cast<int32_t>(3 * units.size()) : static_cast<int32_t>(2 * buckets.size()); }
};

// The forward cost of unit i (forward order).
Cost unit_fwd(const Plan& p, size_t i) {
  if (i == 0) return p.cost.embed_fwd();
  if (i + 1 == p.units.size()) return p.cost.head_fwd();
  return p.cost.layer(static_cast<int64_t>(i) - 1).layer_fwd();  // unit i is layer i - 1
}

// One rank's step under DDP or ZeRO-1/2: forward and backward per micro-batch; after the last
// micro-batch's backward, each bucket is reduced as soon as its last unit's gradient exists.
void dp_step(const Plan& p, RankBuilder& b, int s, int32_t group, std::vector<uint32_t>& carry) {
  const Workload& w = p.w;
  const core::DType gd = w.precision.gradients;
  const double gbytes = core::bytes_per_element(gd);
  const int32_t base = s * p.tags_per_step();
  const size_t n = p.units.size();
  std::vector<uint32_t> reductions;
  for (int j = 0; j < p.m; ++j) {
    for (size_t i = 0; i < n; ++i) {
      Cost c = unit_fwd(p, i);
      b.compute(Phase::Forward, s, fmt::format("{}{}.fwd", p.mb(j), p.units[i].name), c.flops, c.bytes, c.gemm,
                i == 0 ? carry : std::vector<uint32_t>{});
    }
    if (j == 0) carry.clear();
    size_t next_bucket = 0;
    int32_t prev_coll = -1;
    for (size_t k = 0; k < n; ++k) {
      Cost c = p.cost.bwd(unit_fwd(p, n - 1 - k));
      uint32_t id = b.compute(Phase::Backward, s, fmt::format("{}{}.bwd", p.mb(j), p.backward[k].name), c.flops, c.bytes, c.gemm);
      if (j + 1 < p.m) continue;  // gradients accumulate locally until the last micro-batch
      while (next_bucket < p.buckets.size() && p.buckets[next_bucket].last_unit == k) {
        const Bucket& bk = p.buckets[next_bucket];
        bool whole = p.buckets.size() == 1;
        CollectiveKind kind = p.stage == 0 ? CollectiveKind::AllReduce : CollectiveKind::ReduceScatter;
        std::string label = whole ? fmt::format("grad.{}", core::name(kind))
                                  : fmt::format("grad.bucket{}.{}", next_bucket, core::name(kind));
        std::vector<uint32_t> deps{id};
        if (prev_coll >= 0) deps.push_back(static_cast<uint32_t>(prev_coll));  // one communication stream
        // one bucket of the whole gradient keeps the walking skeleton's tag: the step number
        int32_t tag = whole && p.stage == 0 ? s : base + static_cast<int32_t>(next_bucket);
        prev_coll = static_cast<int32_t>(b.collective({.kind = kind, .with = p.opt.gradients, .group = group, .tag = tag,
                                                       .bytes = bk.params * gbytes, .dtype = gd, .step = s,
                                                       .label = label, .deps = deps}));
        reductions.push_back(static_cast<uint32_t>(prev_coll));
        ++next_bucket;
      }
    }
  }
  const double shard = p.stage == 0 ? static_cast<double>(param_count(w.model)) : static_cast<double>(param_count(w.model)) / p.world;
  Cost opt = p.cost.optimizer(shard);
  uint32_t opt_id = b.compute(Phase::Optimizer, s, "optimizer", opt.flops, opt.bytes, {}, {reductions.back()});
  if (p.stage == 0) return;
  // ZeRO-1/2: every rank updated its 1/n; gather the new parameters back, bucket by bucket.
  const core::DType wd = w.precision.weights.element;
  int32_t prev = static_cast<int32_t>(opt_id);
  for (size_t k = 0; k < p.buckets.size(); ++k) {
    std::string label = p.buckets.size() == 1 ? "param.allgather" : fmt::format("param.bucket{}.allgather", k);
    prev = static_cast<int32_t>(b.collective({.kind = CollectiveKind::AllGather,
                                              .with = p.opt.gradients,
                                              .group = group,
                                              .tag = base + static_cast<int32_t>(p.buckets.size() + k),
                                              .bytes = p.buckets[k].params * core::bytes_per_element(wd),
                                              .dtype = wd,
                                              .step = s,
                                              .label = label,
                                              .deps = {opt_id, static_cast<uint32_t>(prev)}}));
    carry.push_back(static_cast<uint32_t>(prev));
  }
}

// One rank's step under ZeRO-3 (FSDP): gather each unit before it runs, `prefetch` units ahead
// (a gather may start once the unit `prefetch` + 1 places earlier has finished, freeing its
// buffer), reduce-scatter each unit's gradient after its backward.
void zero3_step(const Plan& p, RankBuilder& b, int s, int32_t group, std::vector<uint32_t>& carry) {
  const Workload& w = p.w;
  const core::DType wd = w.precision.weights.element, gd = w.precision.gradients;
  const size_t n = p.units.size();
  const int32_t base = s * p.tags_per_step();
  const int ahead = p.opt.prefetch;
  int32_t prev_coll = -1;
  // one communication stream: each collective also waits for the previous one
  auto comm = [&](CollectiveKind kind, int32_t tag, double elements, core::DType dt, std::string label,
                  std::vector<uint32_t> after) {
    if (prev_coll >= 0) after.push_back(static_cast<uint32_t>(prev_coll));
    uint32_t id = b.collective({.kind = kind, .with = p.opt.gradients, .group = group, .tag = tag,
                                .bytes = elements * core::bytes_per_element(dt), .dtype = dt, .step = s,
                                .label = std::move(label), .deps = std::move(after)});
    prev_coll = static_cast<int32_t>(id);
    return id;
  };
  std::vector<uint32_t> rs;
  auto tag_of = [&](int j, int kind, size_t i) {  // kind 0: forward gather, 1: backward gather, 2: reduce-scatter
    return base * p.m + j * p.tags_per_step() + kind * static_cast<int32_t>(n) + static_cast<int32_t>(i);
  };
  for (int j = 0; j < p.m; ++j) {
    // forward: the gathers run ahead of the compute stream
    std::vector<uint32_t> done(n), gathered(n);
    auto gather = [&](size_t i, const std::vector<uint32_t>& after) {
      gathered[i] = comm(CollectiveKind::AllGather, tag_of(j, 0, i), p.units[i].reads, wd,
                         fmt::format("{}{}.fwd.allgather", p.mb(j), p.units[i].name), after);
    };
    // the first gathers wait for the previous step's optimizer (it updated this rank's shard)
    for (size_t i = 0; i <= static_cast<size_t>(ahead) && i < n; ++i) gather(i, j == 0 ? carry : std::vector<uint32_t>{});
    for (size_t i = 0; i < n; ++i) {
      Cost c = unit_fwd(p, i);
      done[i] = b.compute(Phase::Forward, s, fmt::format("{}{}.fwd", p.mb(j), p.units[i].name), c.flops, c.bytes, c.gemm,
                          {gathered[i]});
      size_t next = i + ahead + 1;
      if (next < n) gather(next, {done[i]});
    }
    // backward, in reverse: the gathers run ahead again; each unit's gradient is reduce-scattered
    std::vector<uint32_t> bdone(n), bgathered(n);
    auto bgather = [&](size_t k, const std::vector<uint32_t>& after) {
      size_t i = n - 1 - k;
      bgathered[k] = comm(CollectiveKind::AllGather, tag_of(j, 1, i), p.units[i].reads, wd,
                          fmt::format("{}{}.bwd.allgather", p.mb(j), p.units[i].name), after);
    };
    for (size_t k = 0; k <= static_cast<size_t>(ahead) && k < n; ++k) bgather(k, {done[n - 1]});
    for (size_t k = 0; k < n; ++k) {
      size_t i = n - 1 - k;
      Cost c = p.cost.bwd(unit_fwd(p, i));
      bdone[k] = b.compute(Phase::Backward, s, fmt::format("{}{}.bwd", p.mb(j), p.units[i].name), c.flops, c.bytes, c.gemm,
                           {bgathered[k]});
      size_t next = k + ahead + 1;
      if (next < n) bgather(next, {bdone[k]});
      if (j + 1 < p.m || p.units[i].params == 0) continue;
      rs.push_back(comm(CollectiveKind::ReduceScatter, tag_of(j, 2, i), p.units[i].params, gd,
                        fmt::format("{}.grad.reducescatter", p.units[i].name), {bdone[k]}));
    }
  }
  Cost opt = p.cost.optimizer(static_cast<double>(param_count(w.model)) / p.world);
  carry = {b.compute(Phase::Optimizer, s, "optimizer", opt.flops, opt.bytes, {}, rs)};
}
}  // namespace

namespace {
core::Program build(const Workload& w, int world) {
  if (world < 1) throw std::invalid_argument("data parallel: the topology has no rank");
  Plan plan(w, world);
  core::Program p;
  p.name = w.name;
  p.steps = w.steps;
  p.samples_per_step = static_cast<double>(w.micro_batch) * plan.m * world;
  p.tokens_per_step = static_cast<double>(w.micro_batch * w.seq_len) * plan.m * world;
  Groups groups(p);
  std::vector<int32_t> all(world);
  for (int r = 0; r < world; ++r) all[r] = r;
  int32_t group = groups.of(all);
  for (int r = 0; r < world; ++r) {
    p.ranks.push_back({r, {}});
    RankBuilder b{p.ranks.back(), w.precision.compute};
    std::vector<uint32_t> carry;  // what the next step's first op waits for besides the stream
    for (int s = 0; s < w.steps; ++s) {
      if (plan.stage == 3) zero3_step(plan, b, s, group, carry);
      else dp_step(plan, b, s, group, carry);
    }
  }
  return p;
}
}  // namespace

core::Program compile_ddp(const Workload& w, int world) { return build(w, world); }

core::Program compile_data_parallel(const Workload& w, const Cluster& c) {
  core::Program p = build(w, c.world());
  p.memory = data_parallel_memory(w, c);
  return p;
}

}  // namespace clustertwin::work
