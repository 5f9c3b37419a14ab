#include "workloads/builder.h"

#include <algorithm>
#include <cmath>

namespace clustertwin::work {

core::GemmShape gemm_for(double flops, int64_t rows, int64_t k) {
  int64_t m = std::min<int64_t>(rows, 256);
  int64_t count = (rows + m - 1) / m;
  auto n = static_cast<int64_t>(std::llround(flops / (2.0 * static_cast<double>(m * count) * static_cast<double>(k))));
  return {m, std::max<int64_t>(n, 1), k, count};
}

namespace {
thread_local OpBudget* current_budget = nullptr;
}  // namespace

OpBudget::OpBudget(size_t limit) : left_(limit), outer_(current_budget) { current_budget = this; }
OpBudget::~OpBudget() { current_budget = outer_; }

void OpBudget::take() {
  if (left_ == 0) throw ProgramTooLarge();
  --left_;
}

uint32_t RankBuilder::add(core::Op op) {
  if (current_budget) current_budget->take();
  rp.ops.push_back(std::move(op));
  return static_cast<uint32_t>(rp.ops.size() - 1);
}

namespace {
// The fields every op kind has; deps sorted, without duplicates.
core::Op op_of(core::OpKind kind, core::Phase phase, int step, std::string label, double bytes, std::vector<uint32_t> deps) {
  core::Op op;
  op.kind = kind;
  op.phase = phase;
  op.step = step;
  op.label = std::move(label);
  op.bytes = bytes;
  op.deps = std::move(deps);
  std::sort(op.deps.begin(), op.deps.end());
  op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
  return op;
}
}  // namespace

uint32_t RankBuilder::compute(core::Phase phase, int step, std::string label, double flops, double bytes,
                              core::GemmShape g, std::vector<uint32_t> extra) {
  if (last_compute >= 0) extra.push_back(static_cast<uint32_t>(last_compute));
  core::Op op = op_of(core::OpKind::Compute, phase, step, std::move(label), bytes, std::move(extra));
  op.flops = flops;
  op.gemm = g;
  op.dtype = compute_dtype;
  last_compute = static_cast<int>(add(std::move(op)));
  return static_cast<uint32_t>(last_compute);
}

uint32_t RankBuilder::collective(CollectiveCall c) {
  core::Op op = op_of(core::OpKind::Collective, core::Phase::Comm, c.step, std::move(c.label), c.bytes, std::move(c.deps));
  op.collective = c.kind;
  op.algorithm = c.with.algorithm;
  op.dtype = c.dtype;
  op.group = c.group;
  op.tag = c.tag;
  op.local = c.with.algorithm == core::Algorithm::Hierarchical ? c.with.local : 0;
  const bool ring = c.with.algorithm == core::Algorithm::Ring || c.with.algorithm == core::Algorithm::BidirectionalRing;
  op.stripes = ring && c.kind == core::CollectiveKind::AllReduce ? c.with.stripes : 0;
  op.root = c.root;
  return add(std::move(op));
}

namespace {
core::Op message(core::OpKind kind, int32_t peer, int32_t tag, double bytes, int step, std::string label,
                 std::vector<uint32_t> deps, core::Phase phase) {
  core::Op op = op_of(kind, phase, step, std::move(label), bytes, std::move(deps));
  op.peer = peer;
  op.tag = tag;
  return op;
}
}  // namespace

uint32_t RankBuilder::send(int32_t peer, int32_t tag, double bytes, int step, std::string label, std::vector<uint32_t> deps,
                           core::Phase phase) {
  return add(message(core::OpKind::Send, peer, tag, bytes, step, std::move(label), std::move(deps), phase));
}

uint32_t RankBuilder::recv(int32_t peer, int32_t tag, double bytes, int step, std::string label, std::vector<uint32_t> deps,
                           core::Phase phase) {
  return add(message(core::OpKind::Recv, peer, tag, bytes, step, std::move(label), std::move(deps), phase));
}

int32_t Groups::of(const std::vector<int32_t>& ranks) {
  auto [it, fresh] = index_.try_emplace(ranks, static_cast<int32_t>(p_.groups.size()));
  if (fresh) p_.groups.push_back(ranks);
  return it->second;
}

UnitCosts::UnitCosts(const Workload& w, int64_t tokens, int64_t seq, int tp)
    : w_(w), tokens_(tokens), seq_(seq), tp_(tp), act_(core::size_of(w.precision.compute)) {
  if (w.model.moe() && w.model.dense_layers > 0) {
    auto dense = std::make_shared<Workload>(w);
    dense->model = dense_layer_shape(w.model);
    dense_ = std::make_shared<UnitCosts>(*dense, tokens, seq, tp);
    dense_workload_ = std::move(dense);
  }
}

Cost UnitCosts::reading(double flops, const WeightReads& weights, double cache, double traffic, bool split) const {
  double bytes = traffic, extra = 0;
  for (int i = 0; i < kParts; ++i) {
    if (weights[i] == 0) continue;
    const ReadCost r = read_cost(w_.precision.of(static_cast<Part>(i)), weights[i]);
    bytes += r.bytes;
    extra += r.flops;
  }
  const ReadCost cr = read_cost(w_.precision.kv_cache, cache);
  const double share = split ? tp_ : 1;
  return {(flops + extra + cr.flops) / share, (bytes + cr.bytes) / share, gemm_for(flops / share, tokens_, w_.model.hidden)};
}

namespace {
// Stored weights of a layer a micro-batch of `tokens` tokens reads, by part: for MoE, the experts
// its tokens route to (all of them once tokens x experts_per_token exceeds the expert count).
WeightReads attention_reads(const ModelShape& m) {
  WeightReads r{};
  r[static_cast<int>(Part::Attention)] = static_cast<double>(attention_params_per_layer(m));
  return r;
}

WeightReads mlp_reads(const ModelShape& m, int64_t tokens) {
  WeightReads r{};
  r[static_cast<int>(Part::Mlp)] = static_cast<double>(dense_mlp_params_per_layer(m));
  const double used = std::min<double>(static_cast<double>(m.experts), static_cast<double>(tokens * m.experts_per_token));
  r[static_cast<int>(Part::Experts)] = used * static_cast<double>(params_per_expert(m));
  return r;
}

WeightReads layer_reads(const ModelShape& m, int64_t tokens) {
  WeightReads r = mlp_reads(m, tokens);
  r[static_cast<int>(Part::Attention)] = static_cast<double>(attention_params_per_layer(m));
  return r;
}

WeightReads only(Part p, double elements) {
  WeightReads r{};
  r[static_cast<int>(p)] = elements;
  return r;
}

// K and V elements a decode step of `tokens` sequences reads from a cache of `kv_len` positions.
double cached_elements(const ModelShape& m, int64_t tokens, int64_t kv_len) {
  return static_cast<double>(tokens) * static_cast<double>(kv_len) * static_cast<double>(kv_elements_per_token_per_layer(m));
}

double attention_matmul_weights(const ModelShape& m) { return static_cast<double>(attention_matmul_weights_per_layer(m)); }
}  // namespace

Cost UnitCosts::embed_fwd() const {
  const double t = static_cast<double>(tokens_), h = static_cast<double>(w_.model.hidden);
  return {0, 2 * t * h * act_, {}};
}

Cost UnitCosts::layer_fwd() const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_);
  return reading(layer_forward_flops_per_token(m, seq_) * t, layer_reads(m, tokens_), 0,
                 layer_traffic_elements_per_token(m) * t * act_);
}

Cost UnitCosts::attention_fwd() const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_), h = static_cast<double>(m.hidden);
  return reading((2 * attention_matmul_weights(m) + attention_flops_per_token(m, seq_)) * t, attention_reads(m), 0,
                 8 * h * t * act_);
}

Cost UnitCosts::mlp_fwd() const {
  const ModelShape& m = w_.model;
  if (m.moe()) {
    const Cost r = router_fwd(), e = experts_fwd(1);
    return {r.flops + e.flops, r.bytes + e.bytes, gemm_for(r.flops + e.flops, tokens_, m.hidden)};
  }
  const double t = static_cast<double>(tokens_), h = static_cast<double>(m.hidden);
  const double flops = 2 * (static_cast<double>(matmul_weights_per_layer(m)) - attention_matmul_weights(m)) * t;
  return reading(flops, mlp_reads(m, tokens_), 0, (layer_traffic_elements_per_token(m) - 8 * h) * t * act_);
}

namespace {
double matrices(const ModelShape& m) { return m.mlp == Mlp::SwiGlu ? 3 : 2; }
}  // namespace

Cost UnitCosts::router_fwd() const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_), h = static_cast<double>(m.hidden);
  const double shared = static_cast<double>(m.shared_experts * m.shared_width());
  const double flops = 2 * (h * static_cast<double>(m.experts) + matrices(m) * h * shared) * t;
  WeightReads r{};
  r[static_cast<int>(Part::Mlp)] = static_cast<double>(dense_mlp_params_per_layer(m));
  return reading(flops, r, 0, (matrices(m) * shared + static_cast<double>(m.experts)) * t * act_);
}

double UnitCosts::routed_rows() const { return static_cast<double>(tokens_ * w_.model.experts_per_token); }

Cost UnitCosts::experts_fwd(int ep) const {
  const ModelShape& m = w_.model;
  const double rows = routed_rows(), h = static_cast<double>(m.hidden), ef = static_cast<double>(m.expert_ffn);
  // Uniform routing: the ep ranks' rows spread over all experts, so each rank's 1/ep of the experts
  // gets ep x (its own rows) / ep = as many rows as its own tokens route.
  const double local = static_cast<double>(m.experts / ep);
  const double flops = 2 * matrices(m) * h * ef * rows + 2 * static_cast<double>(params_per_expert(m)) * padded_expert_tokens(ep);
  WeightReads r{};
  r[static_cast<int>(Part::Experts)] = std::min(local, rows) * static_cast<double>(params_per_expert(m));
  return reading(flops, r, 0, matrices(m) * ef * rows * act_);
}

// A matrix-matrix expert GEMM (a batch at least one tile wide) runs each used expert's share of the
// batch's tokens x experts_per_token rounded up to whole tiles: the padding's tokens compute too.
double UnitCosts::padded_expert_tokens(int ep) const {
  const ModelShape& m = w_.model;
  const int tile = w_.runtime.gemm_tile_tokens;
  if (!m.moe() || tile <= 0 || tokens_ < tile) return 0;
  const double routed = routed_rows();
  const double used = std::min<double>(static_cast<double>(m.experts / ep), routed);
  const double per_expert = routed / used;
  return used * std::ceil(per_expert / tile) * tile - routed;
}

Cost UnitCosts::head_fwd() const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_), h = static_cast<double>(m.hidden);
  return reading(head_forward_flops_per_token(m) * t, only(Part::Head, static_cast<double>(m.vocab) * h), 0,
                 t * static_cast<double>(m.vocab) * act_);
}

Cost UnitCosts::scaled(const Cost& fwd, double f) const {
  return {f * fwd.flops, f * fwd.bytes, fwd.gemm.count > 0 ? gemm_for(f * fwd.flops, tokens_, w_.model.hidden) : fwd.gemm};
}

// Gradients of inputs and of weights: twice the forward. Checkpointing reruns the forward first.
Cost UnitCosts::gradient(const Cost& fwd) const { return scaled(fwd, 2); }

Cost UnitCosts::bwd(const Cost& fwd) const { return scaled(fwd, recomputes() ? 3 : 2); }

Cost UnitCosts::layer_decode(int64_t kv_len) const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_);
  return reading((2.0 * static_cast<double>(matmul_weights_per_layer(m)) + decode_attention_flops(m, kv_len)) * t,
                 layer_reads(m, tokens_), cached_elements(m, tokens_, kv_len),
                 layer_traffic_elements_per_token(m) * t * act_);
}

Cost UnitCosts::attention_decode(int64_t kv_len) const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_), h = static_cast<double>(m.hidden);
  return reading((2 * attention_matmul_weights(m) + decode_attention_flops(m, kv_len)) * t, attention_reads(m),
                 cached_elements(m, tokens_, kv_len), 8 * h * t * act_);
}

double stage_weight_bytes(const Workload& w, int64_t first_layer, int64_t layers, bool first, bool last) {
  const ModelShape& m = w.model;
  auto bytes = [&](Part p, double params) { return params * w.precision.of(p).bytes_per_element(); };
  const double h = static_cast<double>(m.hidden), vocab = static_cast<double>(m.vocab);
  double out = 0;
  for (int64_t l = first_layer; l < first_layer + layers; ++l) {
    const ModelShape& s = m.moe_layer(l) ? m : dense_layer_shape(m);
    out += bytes(Part::Attention, static_cast<double>(attention_params_per_layer(s))) +
           bytes(Part::Mlp, static_cast<double>(dense_mlp_params_per_layer(s))) +
           bytes(Part::Experts, static_cast<double>(s.experts * params_per_expert(s)));
  }
  double embed = 0, head = 0;
  if (first) embed = vocab * h + static_cast<double>(m.context) * h;
  if (last && !(m.tied_embeddings && first)) head = vocab * h;
  out += bytes(Part::Embedding, embed) + bytes(Part::Head, head);
  // the final norm: whatever stage_param_count holds beyond the blocks, the embedding and the head
  const double rest = static_cast<double>(stage_param_count(m, first_layer, layers, first, last) -
                                          layers_param_count(m, first_layer, layers)) - embed - head;
  return out + bytes(Part::Attention, rest);
}

double optimizer_bytes_per_param(const Workload& w) {
  const double o = core::size_of(w.precision.optimizer);
  double moments = w.optimizer == Optimizer::AdamW ? 2 : w.optimizer == Optimizer::SgdMomentum ? 1 : 0;
  return moments * o + (w.precision.master_weights ? 4 : 0);
}

Cost UnitCosts::optimizer(double params) const {
  const double wb = w_.precision.weights.bytes_per_element(), g = core::bytes_per_element(w_.precision.gradients);
  const double o = core::size_of(w_.precision.optimizer), master = w_.precision.master_weights ? 8 : 0;
  // Reads weights, gradients and state; writes weights and state (AdamW: ~12 FLOPs per parameter).
  switch (w_.optimizer) {
    case Optimizer::AdamW: return {params * 12, params * (2 * wb + g + 4 * o + master), {}};
    case Optimizer::SgdMomentum: return {params * 3, params * (2 * wb + g + 2 * o + master), {}};
    case Optimizer::Sgd: break;
  }
  return {params * 2, params * (2 * wb + g + master), {}};
}

double UnitCosts::activation_bytes_per_layer() const {
  const ModelShape& m = w_.model;
  const double t = static_cast<double>(tokens_), h = static_cast<double>(m.hidden);
  if (w_.memory.activation_checkpointing) return t * h * act_;
  // The hidden-width tensors (norm inputs, QKV and MLP inputs: 4h) stay whole under tensor
  // parallelism; Q, K, V, the attention output and the MLP inner tensors are split.
  const double full = layer_activation_elements_per_token(m);
  return t * act_ * (4 * h + (full - 4 * h) / tp_);
}

double UnitCosts::layer_input_bytes() const {
  return static_cast<double>(tokens_) * static_cast<double>(w_.model.hidden) * act_;
}

}  // namespace clustertwin::work
