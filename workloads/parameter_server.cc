#include "workloads/parameter_server.h"

#include <fmt/format.h>

#include "workloads/builder.h"
#include "workloads/ddp.h"
#include "workloads/memory.h"

namespace clustertwin::work {

double push_bytes(double params, core::DType dtype) {
  double b = params * core::bytes_per_element(dtype);
  if (dtype == core::DType::I8) b += params / 256 * 4;
  return b;
}

namespace {
using core::Phase;

struct Ps {
  const Workload& w;
  const ParameterServer& opt;
  int32_t server;
  std::vector<int32_t> workers;
  double params;
  UnitCosts cost;
  bool quantized;

  Ps(const Workload& wl, int world)
      : w(wl), opt(std::get<ParameterServer>(wl.parallel.options)), server(opt.server),
        params(static_cast<double>(param_count(wl.model))), cost(wl, wl.micro_batch * wl.seq_len, wl.seq_len),
        quantized(opt.push == core::DType::I8) {
    for (int32_t r = 0; r < world; ++r)
      if (r != server) workers.push_back(r);
  }
  double push() const { return push_bytes(params, opt.push); }
  double pull() const { return params * w.precision.weights.bytes_per_element(); }
};

void worker_step(const Ps& ps, RankBuilder& b, int s, std::vector<uint32_t>& gate) {
  const auto units = units_of(ps.w.model);
  const size_t n = units.size();
  auto fwd = [&](size_t i) {  // unit i is layer i - 1 between the embedding and the head
    return i == 0 ? ps.cost.embed_fwd() : i + 1 == n ? ps.cost.head_fwd() : ps.cost.layer(static_cast<int64_t>(i) - 1).layer_fwd();
  };
  for (size_t i = 0; i < n; ++i) {
    Cost c = fwd(i);
    b.compute(Phase::Forward, s, units[i].name + ".fwd", c.flops, c.bytes, c.gemm, i == 0 ? gate : std::vector<uint32_t>{});
  }
  for (size_t k = 0; k < n; ++k) {
    Cost c = ps.cost.bwd(fwd(n - 1 - k));
    b.compute(Phase::Backward, s, units[n - 1 - k].name + ".bwd", c.flops, c.bytes, c.gemm);
  }
  uint32_t ready = static_cast<uint32_t>(b.last_compute);
  if (ps.quantized)  // absmax per block, scale, round: read fp gradients, write bytes
    ready = b.compute(Phase::Other, s, "grad.quantize", 3 * ps.params,
                      ps.params * core::bytes_per_element(ps.w.precision.gradients) + ps.push(), {});
  uint32_t sent = b.send(ps.server, s, ps.push(), s, "grad.push", {ready});
  gate = {b.recv(ps.server, s, ps.pull(), s, "param.pull", {sent})};
}

// The server's update of one worker's (or, in sync mode, the summed) gradients.
uint32_t apply(const Ps& ps, RankBuilder& b, int s, const std::string& label, std::vector<uint32_t> deps, bool chained) {
  Cost opt = ps.cost.optimizer(ps.params);
  double flops = opt.flops, bytes = opt.bytes;
  if (ps.quantized) flops += ps.params, bytes += ps.push() + ps.params * core::bytes_per_element(ps.w.precision.gradients);
  if (!chained) b.last_compute = -1;  // async: applies run in arrival order, not one chain
  return b.compute(Phase::Optimizer, s, label, flops, bytes, {}, std::move(deps));
}

void server_sync_step(const Ps& ps, RankBuilder& b, int s) {
  std::vector<uint32_t> got;
  for (int32_t wk : ps.workers) got.push_back(b.recv(wk, s, ps.push(), s, fmt::format("grad.from{}", wk), {}));
  const double g = core::bytes_per_element(ps.w.precision.gradients), k = static_cast<double>(ps.workers.size());
  uint32_t sum = b.compute(Phase::Reduce, s, "grad.sum", ps.params * (k - 1), ps.params * g * (k + 1), {}, got);
  uint32_t upd = apply(ps, b, s, "optimizer", {sum}, true);
  for (int32_t wk : ps.workers) b.send(wk, s, ps.pull(), s, fmt::format("param.to{}", wk), {upd});
}

void server_async_steps(const Ps& ps, const AsyncUpdates& async, RankBuilder& b) {
  const int steps = ps.w.steps, k = async.staleness;
  std::vector<std::vector<uint32_t>> applied(steps);  // [step] -> every worker's apply
  for (int s = 0; s < steps; ++s) {
    for (int32_t wk : ps.workers) {
      uint32_t got = b.recv(wk, s, ps.push(), s, fmt::format("grad.from{}", wk), {});
      applied[s].push_back(apply(ps, b, s, fmt::format("apply.from{}", wk), {got}, false));
    }
    for (size_t i = 0; i < ps.workers.size(); ++i) {
      std::vector<uint32_t> deps{applied[s][i]};
      if (s - k >= 0) deps.insert(deps.end(), applied[s - k].begin(), applied[s - k].end());  // the staleness bound
      b.send(ps.workers[i], s, ps.pull(), s, fmt::format("param.to{}", ps.workers[i]), deps);
    }
  }
}
}  // namespace

core::Program compile_parameter_server(const Workload& w, const Cluster& c) {
  const int world = c.world();
  if (world < 2) fail_at(w.parallel.where, "a parameter server needs at least two ranks: the server and one worker");
  Ps ps(w, world);
  if (ps.server >= world)
    fail_at(w.parallel.where, fmt::format("server rank {} does not exist: topology '{}' has ranks 0 to {}", ps.server,
                                          c.name, world - 1),
            fmt::format("use server: 0 to {}", world - 1));
  core::Program p;
  p.name = w.name;
  p.steps = w.steps;
  p.samples_per_step = static_cast<double>(w.micro_batch) * ps.workers.size();
  p.tokens_per_step = static_cast<double>(w.micro_batch * w.seq_len) * ps.workers.size();
  for (int r = 0; r < world; ++r) {
    p.ranks.push_back({r, {}});
    RankBuilder b{p.ranks.back(), w.precision.compute};
    if (r == ps.server) {
      if (ps.opt.async) server_async_steps(ps, *ps.opt.async, b);
      else
        for (int s = 0; s < w.steps; ++s) server_sync_step(ps, b, s);
    } else {
      std::vector<uint32_t> gate;
      for (int s = 0; s < w.steps; ++s) worker_step(ps, b, s, gate);
    }
  }
  // memory: workers hold the model, its gradients and activations; the server the model, the
  // optimizer and the gradients in flight (one push per worker)
  const double wb = w.precision.weights.bytes_per_element(), gb = core::bytes_per_element(w.precision.gradients);
  for (int r = 0; r < world; ++r) {
    core::MemoryUse m;
    m.weights = ps.params * wb;
    if (r == ps.server) {
      m.optimizer = ps.params * optimizer_bytes_per_param(w);
      m.gradients = ps.params * gb;
      m.buffers = ps.push() * static_cast<double>(ps.workers.size());
    } else {
      m.gradients = ps.params * gb;
      m.activations = training_activation_bytes(w, w.model.layers, true);
      m.buffers = ps.quantized ? ps.push() : 0;
    }
    m.capacity = c.ranks[r].capacity;
    p.memory.push_back(m);
  }
  return p;
}

}  // namespace clustertwin::work
