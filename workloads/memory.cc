#include "workloads/memory.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/format.h"
#include "workloads/builder.h"
#include "workloads/ddp.h"

namespace clustertwin::work {

double training_activation_bytes(const Workload& w, int64_t layers, bool with_head, int tp) {
  const int64_t tokens = w.micro_batch * w.seq_len;
  const double act = core::size_of(w.precision.compute);
  UnitCosts cost(w, tokens, w.seq_len, tp);
  double bytes = cost.activation_bytes_per_layer() * static_cast<double>(layers);
  if (w.memory.activation_checkpointing) {  // the layer being recomputed holds its full activations
    Workload full = w;
    full.memory.activation_checkpointing = false;
    bytes += UnitCosts(full, tokens, w.seq_len, tp).activation_bytes_per_layer();
  }
  bytes += cost.layer_input_bytes();  // the embedding's output
  if (with_head) bytes += static_cast<double>(tokens) * static_cast<double>(w.model.vocab) * act / tp;  // logits
  return bytes;
}

core::MemoryUse data_parallel_memory_of(const Workload& w, int world) {
  const double params = static_cast<double>(param_count(w.model)), n = world;
  const double wb = w.precision.weights.bytes_per_element(), gb = core::bytes_per_element(w.precision.gradients);
  const Zero plan = data_parallel_plan(w.parallel);
  const int stage = plan.stage;
  core::MemoryUse m;
  m.weights = params * wb / (stage >= 3 ? n : 1);
  m.gradients = params * gb / (stage >= 2 ? n : 1);
  m.optimizer = params * optimizer_bytes_per_param(w) / (stage >= 1 ? n : 1);
  m.activations = training_activation_bytes(w, w.model.layers, true);
  if (stage == 3) {
    // (1 + prefetch) gathered units, and one unit's full gradient before its reduce-scatter
    double reads = 0, own = 0;
    for (const auto& u : units_of(w.model)) reads = std::max(reads, u.reads), own = std::max(own, u.params);
    m.buffers = (1 + plan.prefetch) * reads * wb + own * gb;
  } else if (plan.bucket_bytes > 0 && world > 1) {
    m.buffers = 2 * std::min(plan.bucket_bytes, params * gb);  // two buckets in flight
  }
  return m;
}

std::vector<core::MemoryUse> data_parallel_memory(const Workload& w, const Cluster& c) {
  core::MemoryUse m = data_parallel_memory_of(w, c.world());
  std::vector<core::MemoryUse> out(c.world(), m);
  for (int r = 0; r < c.world(); ++r) out[r].capacity = c.ranks[r].capacity;
  return out;
}

namespace {
std::string breakdown(const core::MemoryUse& m) {
  std::vector<std::string> parts;
  auto add = [&](const char* what, double v) {
    if (v > 0) parts.push_back(fmt::format("{} {}", what, core::format_bytes(v)));
  };
  add("weights", m.weights);
  add("gradients", m.gradients);
  add("optimizer", m.optimizer);
  add("activations", m.activations);
  add("KV cache", m.kv_cache);
  add("buffers", m.buffers);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

// Weight formats with fewer bits than `weights`, as a hint offers them ("" when it is 4-bit already).
std::string smaller_weights(const Format& weights) {
  if (weights.bits > 9) return "8-bit or 4-bit (q8_0, q4_k_m, mlx-4bit: `clustertwin presets` lists them)";
  if (weights.bits > 5) return "4-bit (q4_k_m, mlx-4bit)";
  return "";
}

std::string advice(const Workload& w, const core::MemoryUse& m, int world) {
  if (w.task == Task::Infer) {
    std::string smaller = smaller_weights(w.precision.weights);
    return smaller.empty() ? "more tensor- or pipeline-parallel ranks, or a smaller batch or prompt"
                           : fmt::format("more tensor- or pipeline-parallel ranks, a smaller batch or prompt, or {} weights",
                                         smaller);
  }
  std::string ckpt = w.memory.activation_checkpointing ? "" : ", activation_checkpointing: true";
  std::string half = w.precision.weights.element == core::DType::F32 ? ", bf16 weights and gradients" : "";
  switch (w.parallel.strategy()) {
    case Strategy::Ddp: return fmt::format("sharding the model: strategy: fsdp (ZeRO-3), or zero with stage 1 or 2{}", ckpt);
    case Strategy::Zero: {
      if (std::get<Zero>(w.parallel.options).stage < 3) return fmt::format("a higher ZeRO stage (stage: 3 shards the parameters too){}", ckpt);
      // model states shrink as 1/N; activations and gather buffers do not
      double states = (m.weights + m.gradients + m.optimizer) * world, room = m.capacity - m.activations - m.buffers;
      std::string ranks = room > 0 ? fmt::format("at least {} ranks", static_cast<long long>(std::ceil(states / room))) : "more ranks";
      return fmt::format("{}{}, a smaller micro_batch{}, or pipeline/tensor parallelism", ranks, half, ckpt);
    }
    default: return fmt::format("more pipeline or tensor-parallel ranks, a smaller micro_batch{}{}", half, ckpt);
  }
}
}  // namespace

void check_memory(const Workload& w, const core::Program& p, const Cluster& c) {
  if (!w.memory.check || p.memory.empty()) return;
  int worst = -1, over = 0;
  double worst_short = 0;
  for (int r = 0; r < static_cast<int>(p.memory.size()); ++r) {
    const core::MemoryUse& m = p.memory[r];
    if (m.capacity <= 0 || m.total() <= m.capacity) continue;
    ++over;
    if (m.total() - m.capacity > worst_short) worst = r, worst_short = m.total() - m.capacity;
  }
  if (worst < 0) return;
  const core::MemoryUse& m = p.memory[worst];
  const RankSite& site = c.ranks[worst];
  double fraction = site.device.memory > 0 ? m.capacity / site.device.memory : 0;
  std::string message = fmt::format(
      "the plan does not fit in memory: rank {} (node '{}', {}) needs {} but may use {} ({} x {:.2f}): {} short",
      worst, site.node, site.device.preset, core::format_bytes(m.total()), core::format_bytes(m.capacity),
      core::format_bytes(site.device.memory), fraction, core::format_bytes(worst_short));
  std::string hint = fmt::format("rank {} holds {}; {} of {} ranks are over. Try {} (or raise memory: usable_fraction)",
                                 worst, breakdown(m), over, p.memory.size(), advice(w, m, p.world()));
  fail_at(w.parallel.where, message, hint);
}

}  // namespace clustertwin::work
