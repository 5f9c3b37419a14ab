#include "workloads/layout.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "workloads/stage_split.h"

namespace clustertwin::work {

int64_t Layout::first_layer(int v) const {
  return std::accumulate(layers.begin(), layers.begin() + v, int64_t{0});
}

namespace {
int resolve(int given, int world, int others) { return given > 0 ? given : std::max(1, world / std::max(others, 1)); }

void check_tp(const Workload& w, int tp) {
  const ModelShape& m = w.model;
  int64_t f = m.moe() ? m.expert_ffn : m.ffn;
  const char* what = m.heads % tp ? "attention heads" : m.kv() % tp ? "key/value heads" : f % tp ? "MLP width" : nullptr;
  if (!what) return;
  int64_t of = m.heads % tp ? m.heads : m.kv() % tp ? m.kv() : f;
  fail_at(w.parallel.where,
          fmt::format("tensor parallel degree {} does not divide the {} {} of '{}'", tp, of, what, m.name),
          fmt::format("set tp explicitly to a divisor of {} and {} (heads, key/value heads)", m.heads, m.kv()));
}
}  // namespace

Layout layout_for(const Workload& w, const Cluster& c) {
  const Hybrid par = model_parallel_plan(w.parallel);
  const int world = c.world();
  Layout l;
  // a degree of 0 (pipeline's pp, tensor's tp when not written) takes all ranks over dp
  l.tp = par.tp > 0 ? par.tp : resolve(0, world, par.dp);
  l.pp = par.pp > 0 ? par.pp : resolve(0, world, par.dp);
  l.dp = resolve(par.dp, world, l.tp * l.pp);
  l.virtual_stages = par.schedule.virtual_stages;
  if (l.world() != world)
    fail_at(w.parallel.where,
            fmt::format("dp {} x tp {} x pp {} = {} ranks, but topology '{}' has {} nodes that run ranks", l.dp, l.tp, l.pp,
                        l.world(), c.name, world),
            "make the degrees multiply to the number of nodes (leave dp out to use the rest)");
  if (l.tp > 1) check_tp(w, l.tp);
  if (auto misfit = par.schedule.kind == Schedule::Interleaved ? interleaved_misfit(par.schedule.micro_batches, l.pp)
                                                                : std::nullopt)
    fail_at(w.parallel.where, misfit->message, misfit->hint);  // pp came from the topology
  if (l.pp * l.virtual_stages > w.model.layers)
    fail_at(w.parallel.where,
            fmt::format("{} pipeline stages but '{}' has {} layers: every stage needs at least one", l.pp * l.virtual_stages,
                        w.model.name, w.model.layers),
            fmt::format("use pp: {} or fewer", w.model.layers / l.virtual_stages));
  l.order = place(c, l.tp, par.tensor.on_fast_links);

  const int chunks = l.pp * l.virtual_stages;
  const StageSplit& split = par.split;
  if (split.kind == Split::Layers) {
    if (static_cast<int>(split.layers.size()) != chunks)
      fail_at(w.parallel.where, fmt::format("the split lists {} stages but the plan has {}", split.layers.size(), chunks));
    l.layers = split.layers;
  } else if (split.kind == Split::Even) {
    l.layers.assign(chunks, w.model.layers / chunks);
    for (int v = 0; v < w.model.layers % chunks; ++v) ++l.layers[v];
  } else {
    l.layers = balanced_split(w.model.layers, chunks,
                              split.kind == Split::Speed ? chunk_seconds(w, c, l) : chunk_memory_share(w, c, l));
  }
  return l;
}

std::vector<Pass> schedule(Schedule kind, int pp, int stage, int m, int v) {
  std::vector<Pass> out;
  if (kind == Schedule::GPipe) {
    for (int j = 0; j < m; ++j) out.push_back({true, j, 0});
    for (int j = 0; j < m; ++j) out.push_back({false, j, 0});
    return out;
  }
  if (kind == Schedule::OneFOneB || v == 1) {
    int warm = std::min(pp - stage - 1, m);
    int f = 0, b = 0;
    for (; f < warm; ++f) out.push_back({true, f, 0});
    while (f < m) {
      out.push_back({true, f++, 0});
      out.push_back({false, b++, 0});
    }
    while (b < m) out.push_back({false, b++, 0});
    return out;
  }
  // Megatron-LM interleaved 1F1B: micro-batches go through the chunks in groups of pp.
  const int total = m * v;
  auto fwd = [&](int k) { return Pass{true, (k / (pp * v)) * pp + k % pp, (k / pp) % v}; };
  auto bwd = [&](int k) { return Pass{false, (k / (pp * v)) * pp + k % pp, v - 1 - (k / pp) % v}; };
  int warm = std::min((pp - stage - 1) * 2 + (v - 1) * pp, total);
  int f = 0, b = 0;
  for (; f < warm; ++f) out.push_back(fwd(f));
  while (f < total) {
    out.push_back(fwd(f++));
    out.push_back(bwd(b++));
  }
  while (b < total) out.push_back(bwd(b++));
  return out;
}

double bubble_fraction(Schedule kind, int pp, int m, int v) {
  double p = pp;
  double work = kind == Schedule::Interleaved ? static_cast<double>(v) * m : m;
  return (p - 1) / (work + p - 1);
}

}  // namespace clustertwin::work
