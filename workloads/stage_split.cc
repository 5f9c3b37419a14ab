#include "workloads/stage_split.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "workloads/builder.h"
#include "workloads/inference.h"
#include "workloads/memory.h"

namespace clustertwin::work {

std::vector<int64_t> balanced_split(int64_t layers, int chunks, const ChunkCost& cost) {
  const auto n = static_cast<size_t>(layers), k = static_cast<size_t>(chunks);
  constexpr double kNone = std::numeric_limits<double>::infinity();
  // worst[v][i]: the least largest cost of chunks 0..v holding the first i layers; cut[v][i]: chunk v's size
  std::vector<std::vector<double>> worst(k, std::vector<double>(n + 1, kNone));
  std::vector<std::vector<int64_t>> cut(k, std::vector<int64_t>(n + 1, 0));
  for (size_t i = 1; i + k - 1 <= n; ++i) worst[0][i] = cost(0, static_cast<int64_t>(i)), cut[0][i] = static_cast<int64_t>(i);
  for (size_t v = 1; v < k; ++v)
    for (size_t i = v + 1; i + (k - 1 - v) <= n; ++i)
      for (size_t size = i - v; size >= 1; --size) {  // the largest chunk v first: earlier chunks keep fewer
        double here = std::max(worst[v - 1][i - size], cost(static_cast<int>(v), static_cast<int64_t>(size)));
        if (here < worst[v][i]) worst[v][i] = here, cut[v][i] = static_cast<int64_t>(size);
      }
  std::vector<int64_t> out(k);
  for (size_t v = k, i = n; v-- > 0;) {
    out[v] = cut[v][i];
    i -= static_cast<size_t>(out[v]);
  }
  return out;
}

namespace {
// Seconds of the units of one micro-batch on one device.
struct UnitSeconds {
  double layer = 0, embed = 0, head = 0;
};

UnitSeconds unit_seconds(const Workload& w, const topo::Device& d, int tp) {
  const core::DType dt = w.precision.compute;
  auto secs = [&](const Cost& c) { return topo::roofline_seconds(d, c.flops, c.bytes, dt); };
  if (w.task == Task::Infer) {  // a decode step of the batch, the cache half full
    UnitCosts cost(w, w.micro_batch, 1, tp);
    Cost embed = cost.embed_fwd();
    embed.bytes /= tp;
    return {secs(cost.layer_decode(w.prompt + w.generate / 2)), secs(embed), secs(cost.head_fwd())};
  }
  UnitCosts cost(w, w.micro_batch * w.seq_len, w.seq_len, tp);
  auto both = [&](Cost fwd) { return secs(fwd) + secs(cost.bwd(fwd)); };
  Cost embed = cost.embed_fwd();
  embed.bytes /= tp;
  return {both(cost.layer_fwd()), both(embed), both(cost.head_fwd())};
}

// The ranks of pipeline stage s.
template <typename F>
void for_stage_ranks(const Layout& l, int s, F f) {
  for (int d = 0; d < l.dp; ++d)
    for (int t = 0; t < l.tp; ++t) f(l.rank_at(s, d, t));
}
}  // namespace

ChunkCost chunk_seconds(const Workload& w, const Cluster& c, const Layout& l) {
  std::vector<UnitSeconds> slowest(l.pp);
  for (int s = 0; s < l.pp; ++s)
    for_stage_ranks(l, s, [&](int32_t r) {
      UnitSeconds u = unit_seconds(w, c.ranks[r].device, l.tp);
      UnitSeconds& m = slowest[s];
      m = {std::max(m.layer, u.layer), std::max(m.embed, u.embed), std::max(m.head, u.head)};
    });
  const int last = l.pp * l.virtual_stages - 1, pp = l.pp;
  return [slowest, last, pp](int v, int64_t layers) {
    const UnitSeconds& u = slowest[v % pp];
    return static_cast<double>(layers) * u.layer + (v == 0 ? u.embed : 0) + (v == last ? u.head : 0);
  };
}

namespace {
// Micro-batches whose activations stage s holds at once, per chunk: the peak over its schedule.
double in_flight(const Workload& w, const Layout& l, int s) {
  const PipelineSchedule sched = model_parallel_plan(w.parallel).schedule;
  int live = 0, peak = 0;
  for (const Pass& p : schedule(sched.kind, l.pp, s, sched.micro_batches, l.virtual_stages))
    peak = std::max(peak, live += p.forward ? 1 : -1);
  return static_cast<double>(peak) / l.virtual_stages;
}
}  // namespace

ChunkCost chunk_memory_share(const Workload& w, const Cluster& c, const Layout& l) {
  const Hybrid plan = model_parallel_plan(w.parallel);
  const bool train = w.task == Task::Train, zero1 = plan.zero_stage >= 1 && l.dp > 1;
  const double per_param = w.precision.weights.bytes_per_element() +
                           (train ? core::bytes_per_element(w.precision.gradients) +
                                        optimizer_bytes_per_param(w) / (zero1 ? l.dp : 1)
                                  : 0);
  std::vector<double> room(l.pp, std::numeric_limits<double>::infinity()), held(l.pp, 1);
  for (int s = 0; s < l.pp; ++s) {
    for_stage_ranks(l, s, [&](int32_t r) {
      const RankSite& site = c.ranks[r];
      room[s] = std::min(room[s], site.capacity > 0 ? site.capacity : site.device.memory > 0 ? site.device.memory : 1.0);
    });
    if (train) held[s] = in_flight(w, l, s);
  }
  const int last = l.pp * l.virtual_stages - 1, pp = l.pp, tp = l.tp;
  return [=, &w](int v, int64_t layers) {
    const int s = v % pp;
    // layers' parameters at the model's mean per layer: the split does not know which layers a chunk
    // starts at (dense leading layers hold fewer); the compiled Program's memory check is exact
    const double mean_layer = static_cast<double>(layers_param_count(w.model, 0, w.model.layers)) /
                              static_cast<double>(w.model.layers);
    double bytes = (static_cast<double>(stage_param_count(w.model, 0, 0, v == 0, v == last)) +
                    mean_layer * static_cast<double>(layers)) / tp * per_param;
    bytes += train ? held[s] * training_activation_bytes(w, layers, v == last, tp)
                   : kv_cache_bytes(w, layers, tp, w.prompt + w.generate);
    return bytes / room[s];
  };
}

}  // namespace clustertwin::work
