#include "workloads/explain.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "core/format.h"
#include "workloads/builder.h"
#include "workloads/collectives.h"
#include "workloads/compile.h"
#include "workloads/layout.h"
#include "workloads/memory.h"
#include "workloads/timing.h"

namespace clustertwin::work {

namespace {
using core::CollectiveKind;
using core::format_bytes;

std::string count(double v) {  // 124,439,808
  std::string s = fmt::format("{:.0f}", v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string flops(double f) {
  const char* units[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"};
  int u = 0;
  while (f >= 1000 && u < 5) f /= 1000, ++u;
  return fmt::format("{:.1f} {}", f, units[u]);
}

std::string dtype_bytes(core::DType t) { return fmt::format("{} B ({})", core::bytes_per_element(t), core::name(t)); }
std::string format_bytes_of(const Format& f) {
  return f.dequant_ops > 0
             ? fmt::format("{:.4g} B ({}: {} bits with scales, {} dequantisation ops each)", f.bytes_per_element(), f.name,
                           f.bits, f.dequant_ops)
             : fmt::format("{} B ({})", f.bytes_per_element(), f.name);
}

// ---- model ------------------------------------------------------------------------------------
// The weights a decode step's bytes count: a mixture of experts reads only the experts its
// micro_batch tokens route to (UnitCosts' touched_layer_params).
std::string decode_reads(const Workload& w) {
  const ModelShape& m = w.model;
  if (!m.moe()) return "decode reads every weight";
  const int64_t routed = std::min(m.experts, w.micro_batch * m.experts_per_token);
  return fmt::format("decode reads the attention, router and norm weights, the experts its {} tokens route to "
                     "(min(experts, tokens x experts_per_token) = min({}, {} x {}) = {} of {} per layer), the LM head",
                     w.micro_batch, m.experts, w.micro_batch, m.experts_per_token, routed, m.experts);
}

void model_section(std::string& out, const Workload& w) {
  const ModelShape& m = w.model;
  out += fmt::format("Model '{}': {} parameters", m.name, count(static_cast<double>(param_count(m))));
  if (m.moe()) out += fmt::format(", {} active per token ({} of {} experts)", count(static_cast<double>(active_param_count(m))),
                                  m.experts_per_token, m.experts);
  const std::string heads = m.mla() ? fmt::format("latent attention: kv_lora_rank {}, rope {}, head_dim {}", m.kv_lora_rank,
                                                  m.qk_rope_head_dim, m.dhead())
                                    : fmt::format("{} key/value, head_dim {}", m.kv(), m.dhead());
  out += fmt::format("\n  {} layers, hidden {}, {} heads ({}), {} {}, vocabulary {}{}\n", m.layers, m.hidden, m.heads, heads,
                     m.moe() ? "expert ffn" : "ffn", m.moe() ? m.expert_ffn : m.ffn, m.vocab,
                     m.tied_embeddings ? ", tied LM head" : "");
  if (w.task == Task::Train) {
    const double per_layer = static_cast<double>(matmul_weights_per_layer(m));
    const double n_matmul = static_cast<double>(m.layers) * per_layer + static_cast<double>(m.hidden * m.vocab);
    const double attention = 6.0 * static_cast<double>(m.layers * w.seq_len * m.q_dim());
    const double total = training_flops_per_token(m, w.seq_len);
    out += fmt::format("  training FLOPs per token = 6·N_matmul + 6·layers·seq·q_dim = 6 x {} + 6 x {} x {} x {} = {}\n",
                       count(n_matmul), m.layers, w.seq_len, m.q_dim(), flops(total));
    out += fmt::format("    (forward 2 per weight, backward 4; the attention term is {} at seq {}; 6·N with all {} "
                       "parameters would say {})\n",
                       core::format_percent(100 * attention / total), w.seq_len,
                       count(static_cast<double>(active_param_count(m))),
                       flops(6.0 * static_cast<double>(active_param_count(m))));
  } else {
    out += fmt::format("  prefill FLOPs per prompt token ≈ 2·N_matmul + 2·layers·prompt·q_dim; {} and the KV cache once per "
                       "step\n",
                       decode_reads(w));
    if (w.precision.uniform()) out += fmt::format("  each weight read = {}\n", format_bytes_of(w.precision.weights));
    else
      for (int i = 0; i < kParts; ++i)
        out += fmt::format("  each {} weight read = {}\n", name(static_cast<Part>(i)),
                           format_bytes_of(w.precision.of(static_cast<Part>(i))));
    out += fmt::format("  KV cache per token = layers x {} x {} = {} x {} x {} = {}\n",
                       m.mla() ? "(kv_lora_rank + rope)" : "2·kv_heads·head_dim",
                       format_bytes_of(w.precision.kv_cache), m.layers, kv_elements_per_token_per_layer(m),
                       w.precision.kv_cache.bytes_per_element(),
                       format_bytes(static_cast<double>(m.layers * kv_elements_per_token_per_layer(m)) *
                                    w.precision.kv_cache.bytes_per_element()));
  }
  if (!w.runtime.charges_nothing())
    out += fmt::format("  runtime {} ({}): {} per device kernel, {} per collective call, {} per message sent\n",
                       w.runtime.name, w.runtime.description, core::format_seconds(w.runtime.kernel_launch),
                       core::format_seconds(w.runtime.collective_call), core::format_seconds(w.runtime.message_call));
}

// ---- plan -------------------------------------------------------------------------------------
std::string ddp_text(const Ddp& d) {
  return d.bucket_bytes > 0
             ? fmt::format("DDP: every rank runs forward and backward on its own micro-batch; gradients are all-reduced "
                           "({}) in buckets of {} while backward still runs; then every rank runs the optimizer",
                           core::name(d.gradients.algorithm), format_bytes(d.bucket_bytes))
             : fmt::format("DDP: every rank runs forward and backward on its own micro-batch; the whole gradient is "
                           "all-reduced ({}) after backward; then every rank runs the optimizer",
                           core::name(d.gradients.algorithm));
}

std::string zero_text(const Zero& z, const Layout& l) {
  if (z.stage == 3)
    return fmt::format("ZeRO-3 / FSDP: parameters, gradients and optimizer state sharded over {} ranks; each unit is "
                       "all-gathered before its forward ({} ahead) and backward, its gradient reduce-scattered after",
                       l.dp, z.prefetch);
  return fmt::format("ZeRO-{}: gradients reduce-scattered{}, each rank updates 1/{} of the parameters, which are then "
                     "all-gathered",
                     z.stage, z.stage == 2 ? " (only the shard is kept)" : "", l.dp);
}

std::string parameter_server_text(const ParameterServer& ps) {
  return fmt::format("parameter server ({}{}): rank {} holds the parameters and the optimizer; the other ranks push "
                     "gradients ({}) and pull parameters",
                     ps.async ? "async" : "sync", ps.async ? fmt::format(", staleness {}", ps.async->staleness) : "",
                     ps.server, core::name(ps.push));
}

std::string strategy_text(const Workload& w, const Layout& l) {
  const StrategyOptions& o = w.parallel.options;
  if (const auto* e = std::get_if<Expert>(&o)) {
    const int ep = e->ep > 0 ? e->ep : l.dp;
    return fmt::format("inference, expert parallel: {} rank(s) each serve their own {} sequence(s) with every non-expert "
                       "weight and {} of the {} routed experts of each layer (groups of {}); per MoE layer an all-to-all "
                       "sends each token's {} routed rows to the experts' owners and another brings the results back",
                       l.dp, w.micro_batch, w.model.experts / ep, w.model.experts, ep, w.model.experts_per_token);
  }
  if (w.task == Task::Infer)
    return fmt::format("inference: step 0 prefills {} sequences of {} tokens (time to first token), then {} decode steps "
                       "of one token per sequence; {} replica(s) x tp {} x pp {}",
                       w.micro_batch, w.prompt, w.generate, l.dp, l.tp, l.pp);
  if (const auto* d = std::get_if<Ddp>(&o)) return ddp_text(*d);
  if (const auto* z = std::get_if<Zero>(&o)) return zero_text(*z, l);
  if (const auto* ps = std::get_if<ParameterServer>(&o)) return parameter_server_text(*ps);
  const PipelineSchedule sched = model_parallel_plan(w.parallel).schedule;
  return fmt::format("dp {} x tp {} x pp {}: tensor-parallel groups of {} ranks split every layer; {} pipeline stage(s) "
                     "({}, {} micro-batches); gradients all-reduced across {} replica(s)",
                     l.dp, l.tp, l.pp, l.tp, l.pp, name(sched.kind), sched.micro_batches, l.dp);
}

// ---- collectives ------------------------------------------------------------------------------
std::string sent_formula(CollectiveKind k, core::Algorithm a, int n, int local) {
  using core::Algorithm;
  if (a == Algorithm::Tree) return "S up (not the root) + S per child down";
  if (a == Algorithm::Hierarchical) {
    int g = n / std::max(local, 1);
    if (k == CollectiveKind::AllReduce)
      return fmt::format("2(L-1)/L·S + 2(G-1)/G·S/L, L = {}, G = {}", local, g);
    return fmt::format("(L-1)/L·S + (G-1)/G·S/L, L = {}, G = {}", local, g);
  }
  std::string n_ = a == Algorithm::HalvingDoubling && std::has_single_bit(static_cast<unsigned>(n)) == false
                       ? fmt::format("p = {} (paired ranks: S)", std::bit_floor(static_cast<unsigned>(n)))
                       : "";
  switch (k) {
    case CollectiveKind::AllReduce: return a == Algorithm::HalvingDoubling && !n_.empty() ? "2(p-1)/p·S, " + n_ : "2(n-1)/n·S";
    case CollectiveKind::ReduceScatter:
    case CollectiveKind::AllGather:
    case CollectiveKind::AllToAll: return "(n-1)/n·S";
    case CollectiveKind::Broadcast: return "(n-1)·S at the root";
    case CollectiveKind::Reduce: return "S (not the root)";
  }
  return "";
}

std::string steps_formula(CollectiveKind k, core::Algorithm a) {
  using core::Algorithm;
  switch (a) {
    case Algorithm::Ring: return k == CollectiveKind::AllReduce ? "2(n-1)" : "n-1";
    case Algorithm::Direct: return k == CollectiveKind::AllReduce ? "2(n-1)" : "n-1";
    case Algorithm::HalvingDoubling: return k == CollectiveKind::AllReduce ? "2·log2 p (+2)" : "log2 p (+1 or 2)";
    case Algorithm::Tree: return "4(K+D-1)";
    case Algorithm::Hierarchical: return "ring inside, ring across";
    case Algorithm::BidirectionalRing: return "2(n-1) per lane, 2 lanes per stripe, run at once";
    case Algorithm::OneShot: return "n-1";
  }
  return "";
}

struct CollRow {
  int count = 0;
  std::string label;
  double sent = 0;
  size_t steps = 0;
};

void collectives_section(std::string& out, const core::Program& p, int rank, int step) {
  // (kind, algorithm, group size, bytes, dtype, local) -> row
  std::map<std::tuple<int, int, size_t, double, int, int>, CollRow> rows;
  std::map<std::pair<int32_t, double>, std::pair<int, std::string>> sends;
  for (const auto& op : p.ranks[rank].ops) {
    if (op.step != step) continue;
    if (op.kind == core::OpKind::Send) {
      auto& s = sends[{op.peer, op.bytes}];
      if (s.first++ == 0) s.second = op.label;
    }
    if (op.kind != core::OpKind::Collective) continue;
    const auto& g = p.groups[op.group];
    auto key = std::make_tuple(static_cast<int>(op.collective), static_cast<int>(op.algorithm), g.size(), op.bytes,
                               static_cast<int>(op.dtype), op.local);
    CollRow& r = rows[key];
    if (r.count++ == 0) {
      r.label = op.label;
      auto plan = plan_collective(op, g, rank, static_cast<int64_t>(op.bytes / core::size_of(op.dtype)));
      for (const auto& st : plan) r.sent += static_cast<double>(st.send.count) * core::size_of(op.dtype);
      r.steps = plan.size();
    }
  }
  out += fmt::format("\nCollectives of rank {} in one step (S = each rank's buffer; sent = what this rank puts on the wire)\n",
                     rank);
  if (rows.empty()) out += "  none\n";
  double total = 0;
  for (const auto& [key, r] : rows) {
    auto kind = static_cast<CollectiveKind>(std::get<0>(key));
    auto alg = static_cast<core::Algorithm>(std::get<1>(key));
    int n = static_cast<int>(std::get<2>(key));
    double s = std::get<3>(key);
    out += fmt::format("  {:>4} x {:<13} {:<16} over {:>4} ranks  S = {:>10} ({})  e.g. '{}'\n", r.count, core::name(kind),
                       core::name(alg), n, format_bytes(s), core::name(static_cast<core::DType>(std::get<4>(key))), r.label);
    out += fmt::format("         sent per rank = {} = {}, in {} point-to-point steps ({})\n",
                       sent_formula(kind, alg, n, std::get<5>(key)), format_bytes(r.sent), r.steps, steps_formula(kind, alg));
    if (alg == core::Algorithm::BidirectionalRing && n > 1)
      out += fmt::format("         bidirectional ring: {} lanes at once ({} per direction: stripes), half of them each way "
                         "round; each round (a step of every lane) moves S/2n = {} to each neighbour\n",
                         r.steps / (2 * (n - 1)), r.steps / (4 * (n - 1)), format_bytes(s / (2.0 * n)));
    if (alg == core::Algorithm::Ring && n > 1 && kind == CollectiveKind::AllReduce && r.steps == 2u * (n - 1))
      out += fmt::format("         ring: reduce-scatter n-1 = {} steps then all-gather n-1 = {} steps, each moving S/n = {} "
                         "to the next rank\n",
                         n - 1, n - 1, format_bytes(s / n));
    total += r.count * r.sent;
  }
  for (const auto& [key, s] : sends) {
    out += fmt::format("  {:>4} x message to rank {} of {}  e.g. '{}'\n", s.first, key.first, format_bytes(key.second), s.second);
    total += s.first * key.second;
  }
  out += fmt::format("  total sent by rank {} per step: {}\n", rank, format_bytes(total));
}

double compute_section(std::string& out, const core::Program& p, int rank, int step, const RankSite& site, const Workload& w,
                       const std::string& what) {
  const core::DType dt = w.precision.compute;
  const Runtime& runtime = w.runtime;
  std::map<core::Phase, std::pair<double, double>> by;
  double secs = 0, launches = 0;
  for (const auto& op : p.ranks[rank].ops) {
    if (op.step != step || op.kind != core::OpKind::Compute) continue;
    by[op.phase].first += op.flops;
    by[op.phase].second += op.bytes;
    secs += topo::roofline_seconds(site.device, op.flops, op.bytes, op.dtype);
    launches += op.overhead;
  }
  out += fmt::format("\nCompute of rank {} in {}, on {} ({} sustained, {} memory)\n", rank, what, site.device.preset,
                     flops(site.device.sustained_flops(dt)) + "/s", core::format_rate(site.device.sustained_bandwidth()));
  for (const auto& [phase, v] : by)
    out += fmt::format("  {:<10} {:>12}  {:>10} touched\n", core::name(phase), flops(v.first), format_bytes(v.second));
  out += fmt::format("  roofline time = sum of max(FLOPs / FLOP/s, bytes / bandwidth) = {}\n", core::format_seconds(secs));
  if (launches > 0) {
    out += fmt::format("  + runtime {}: {:.0f} kernels x {} = {} (a fixed cost per kernel, whatever its size",
                       runtime.name, launches / runtime.kernel_launch, core::format_seconds(runtime.kernel_launch),
                       core::format_seconds(launches));
    if (w.model.moe())
      out += fmt::format("; an MoE MLP also pays it once per routed expert matrix it reads: {} per layer for one token, "
                         "where a dense MLP pays {}, so an MoE decode reaches a lower fraction of memory bandwidth than a "
                         "dense decode of the same bytes",
                         mlp_kernels(w.model, 1), kernel_counts().dense_mlp);
    out += ")\n";
    if (secs + launches > 0)
      out += fmt::format("  = {}: the roofline is {} of it\n", core::format_seconds(secs + launches),
                         core::format_percent(100 * secs / (secs + launches)));
  }
  return secs + launches;
}

// The share of a step the ranks spend waiting (pipeline bubble and uneven stages) when every compute
// op takes its roofline time on its rank's device and communication is free: one step timed on the
// ideal machine (workloads/timing.h), 1 - busy / step averaged over ranks.
double waiting_fraction(const Workload& w, const Cluster& c) {
  Workload one = w;
  one.steps = 1;
  const core::Program p = compile(one, c);
  const Timing t = time_program(p, [&](int32_t rank, const core::Op& op) {
    return op.kind == core::OpKind::Compute
               ? topo::roofline_seconds(c.ranks[rank].device, op.flops, op.bytes, op.dtype) + op.overhead
               : 0.0;
  });
  double busy = 0;
  for (double b : t.busy) busy += b;
  return t.makespan > 0 ? 1 - busy / (t.makespan * p.world()) : 0;
}

void bubble_section(std::string& out, const Workload& w, const Cluster& c, const Layout& l) {
  if (l.pp <= 1) return;
  if (w.task == Task::Infer) {
    out += fmt::format("\nPipeline: a batch passes the {} stages one after another: each stage idles (p-1)/p = {} of a "
                       "decode step\n",
                       l.pp, core::format_percent(100.0 * (l.pp - 1) / l.pp));
    return;
  }
  const Hybrid plan = model_parallel_plan(w.parallel);
  const PipelineSchedule& p = plan.schedule;
  double b = bubble_fraction(p.kind, l.pp, p.micro_batches, l.virtual_stages);
  if (p.kind == Schedule::Interleaved)
    out += fmt::format("\nPipeline bubble ({}, p = {} stages, m = {} micro-batches, v = {} chunks per rank):\n"
                       "  (p-1)/(v·m+p-1) = {}/({}·{}+{}) = {} of the step idle when the stages take equal time\n",
                       name(p.kind), l.pp, p.micro_batches, l.virtual_stages, l.pp - 1, l.virtual_stages,
                       p.micro_batches, l.pp - 1, core::format_percent(100 * b));
  else
    out += fmt::format("\nPipeline bubble ({}, p = {} stages, m = {} micro-batches):\n"
                       "  (p-1)/(m+p-1) = {}/{} = {} of the step idle when the stages take equal time (more "
                       "micro-batches shrink it)\n",
                       name(p.kind), l.pp, p.micro_batches, l.pp - 1, p.micro_batches + l.pp - 1,
                       core::format_percent(100 * b));
  out += "  layers per stage:";
  for (size_t v = 0; v < l.layers.size(); ++v) out += fmt::format(" {}", l.layers[v]);
  const Split split = plan.split.kind;
  out += fmt::format(" ({})\n", split == Split::Speed    ? "by device speed: balances each stage's modelled time, the "
                                                             "embedding on the first, the LM head and loss on the last"
                                 : split == Split::Memory ? "by memory: balances each device's share of model states and "
                                                            "activations"
                                 : split == Split::Layers ? "as written"
                                                          : "even");
  out += fmt::format("  this split on this cluster: ranks wait {} of the step (bubble and uneven stages; compute "
                     "at each device's roofline, communication left out: `predict` adds it)\n",
                     core::format_percent(100 * waiting_fraction(w, c)));
}

void memory_section(std::string& out, const Workload& w, const core::Program& p, const Cluster& c, int shown) {
  if (p.memory.empty()) return;
  const double params = static_cast<double>(param_count(w.model));
  out += "\nMemory per rank\n";
  if (w.task == Task::Train)
    out += fmt::format("  per parameter: weights w = {}, gradients g = {}, optimizer K = {} B ({}{})\n",
                       format_bytes_of(w.precision.weights), dtype_bytes(w.precision.gradients), optimizer_bytes_per_param(w),
                       w.optimizer == Optimizer::AdamW ? "AdamW: 2 moments" : w.optimizer == Optimizer::Sgd ? "SGD" : "momentum",
                       w.precision.master_weights ? " + fp32 master weights" : "");
  if (w.parallel.strategy() == Strategy::Zero || w.parallel.strategy() == Strategy::Ddp) {
    const char* f[] = {"(w + g + K)·N", "(w + g)·N + K·N/n", "w·N + (g + K)·N/n", "(w + g + K)·N/n"};
    const int stage = data_parallel_plan(w.parallel).stage;
    out += fmt::format("  ZeRO stage {}: model states = {} with N = {} parameters, n = {} ranks\n", stage,
                       f[std::clamp(stage, 0, 3)], count(params), p.world());
  }
  out += fmt::format("  {:>5} {:<12} {:>10} {:>10} {:>10} {:>11} {:>10} {:>10} {:>10} {:>10}\n", "rank", "node", "weights",
                     "gradients", "optimizer", "activations", "KV cache", "buffers", "total", "usable");
  auto row = [&](int r) {
    const core::MemoryUse& m = p.memory[r];
    auto b = [](double v) { return v > 0 ? format_bytes(v) : std::string("-"); };
    std::string verdict = m.capacity <= 0 ? "" : m.total() <= m.capacity ? "ok"
                                                  : fmt::format("OVER by {}", format_bytes(m.total() - m.capacity));
    out += fmt::format("  {:>5} {:<12} {:>10} {:>10} {:>10} {:>11} {:>10} {:>10} {:>10} {:>10}  {}\n", r, c.ranks[r].node,
                       b(m.weights), b(m.gradients), b(m.optimizer), b(m.activations), b(m.kv_cache), b(m.buffers),
                       b(m.total()), b(m.capacity), verdict);
  };
  // every rank on small clusters; else the first few, the shown rank and the worst
  int worst = 0;
  for (int r = 0; r < p.world(); ++r)
    if (p.memory[r].total() - p.memory[r].capacity > p.memory[worst].total() - p.memory[worst].capacity) worst = r;
  std::vector<int> ranks;
  for (int r = 0; r < p.world(); ++r)
    if (p.world() <= 16 || r < 4 || r == shown || r == worst) ranks.push_back(r);
  for (int r : ranks) row(r);
  if (static_cast<int>(ranks.size()) < p.world()) out += fmt::format("  ({} more ranks)\n", p.world() - static_cast<int>(ranks.size()));
  const RankSite& s = c.ranks[0];
  if (s.device.memory > 0)
    out += fmt::format("  usable = device memory x fraction ({} x {:.2f} on rank 0: {})\n", format_bytes(s.device.memory),
                       s.capacity / s.device.memory,
                       w.memory.usable_fraction ? "as the workload says" : "macOS GPU wired limit on Apple devices, 0.9 elsewhere");
}

void ops_section(std::string& out, const core::Program& p, int rank) {
  const auto& ops = p.ranks[rank].ops;
  size_t shown = 0;
  out += fmt::format("\nOps of rank {}, step 0 ({} ops in all steps)\n", rank, ops.size());
  for (size_t i = 0; i < ops.size() && ops[i].step == 0; ++i, ++shown) {
    const core::Op& op = ops[i];
    std::string what;
    switch (op.kind) {
      case core::OpKind::Compute: what = fmt::format("{} {}", flops(op.flops), format_bytes(op.bytes)); break;
      case core::OpKind::Send: what = fmt::format("{} to rank {} (tag {})", format_bytes(op.bytes), op.peer, op.tag); break;
      case core::OpKind::Recv: what = fmt::format("{} from rank {} (tag {})", format_bytes(op.bytes), op.peer, op.tag); break;
      case core::OpKind::Collective:
        what = fmt::format("{} {} of {} over {} ranks", core::name(op.algorithm), core::name(op.collective),
                           format_bytes(op.bytes), p.groups[op.group].size());
        break;
    }
    std::string deps;
    for (uint32_t d : op.deps) deps += (deps.empty() ? "" : ",") + std::to_string(d);
    out += fmt::format("  {:>5}  {:<10} {:<9} {:<28} {:<44} deps [{}]\n", i, core::name(op.kind), core::name(op.phase), op.label,
                       what, deps);
  }
}
}  // namespace

std::string explain(const Workload& wl, const Cluster& c, const ExplainOptions& opt) {
  Workload w = wl;
  w.memory.check = false;
  core::Program p = compile(w, c);
  const int rank = opt.rank.value_or(0);
  if (rank < 0 || rank >= p.world())
    throw core::InputError(fmt::format("--rank: error: rank {} does not exist: the plan has ranks 0 to {}", rank, p.world() - 1));
  Layout l;
  const Strategy s = w.parallel.strategy();
  if (s != Strategy::Ddp && s != Strategy::Zero && s != Strategy::ParameterServer)
    l = layout_for(w, c);
  else
    l.dp = c.world();

  std::string out = fmt::format("'{}' on '{}': {} ranks, {} {}\n\n", w.name, c.name, p.world(),
                                w.task == Task::Train ? "training" : "inference", name(s));
  model_section(out, w);
  out += fmt::format("\nPlan\n  {}\n", strategy_text(w, l));
  if (w.task == Task::Train)
    out += fmt::format("  per step: {} sequences x {} tokens = {} tokens\n", count(p.samples_per_step), w.seq_len,
                       count(p.tokens_per_step));
  if (l.tp > 1) {
    out += "  tensor-parallel groups (placed on the fastest links):";
    for (int g = 0; g < std::min(l.pp * l.dp, 4); ++g) {
      out += " [";
      for (int t = 0; t < l.tp; ++t) out += (t ? " " : "") + c.ranks[l.order[g * l.tp + t]].node;
      out += "]";
    }
    out += l.pp * l.dp > 4 ? " ...\n" : "\n";
  }
  if (w.task == Task::Train) {
    compute_section(out, p, rank, 0, c.ranks[rank], w, "one step");
    collectives_section(out, p, rank, 0);
  } else {
    double prefill = compute_section(out, p, rank, 0, c.ranks[rank], w, "the prefill (step 0)");
    double decode = compute_section(out, p, rank, 1, c.ranks[rank], w, "one decode step");
    out += fmt::format("  compute alone bounds: time to first token >= {}, decode <= {:.1f} tokens/s per replica "
                       "({} sequences / {}{}); `predict` adds the network\n",
                       core::format_seconds(prefill * l.pp), static_cast<double>(w.micro_batch) / (decode * l.pp),
                       w.micro_batch, core::format_seconds(decode),
                       l.pp > 1 ? fmt::format(" x {} stages in turn", l.pp) : "");
    collectives_section(out, p, rank, 1);
    out += "  (in a decode step; the prefill moves prompt-sized activations)\n";
    if (l.tp > 1)
      out += fmt::format("  tensor parallel: 2 all-reduces per layer x {} layers = {} exchanges per token, each paying the "
                         "link's latency and per-message overhead\n",
                         l.layers[0] * l.pp, 2 * l.layers[0] * l.pp);
  }
  bubble_section(out, w, c, l);
  memory_section(out, w, p, c, rank);
  try {
    check_memory(wl, p, c);
  } catch (const core::InputError& e) {
    out += fmt::format("\n{}\n", e.what());
  }
  if (opt.rank) ops_section(out, p, rank);
  return out;
}

}  // namespace clustertwin::work
