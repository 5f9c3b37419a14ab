// Building blocks every strategy compiler shares: the per-rank op builder (one compute stream,
// explicit deps), rank groups stored once, and the cost of each model unit (embedding, block,
// head, optimizer) for a micro-batch, split by the tensor-parallel degree.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/program.h"
#include "workloads/workload.h"

namespace clustertwin::work {

// A GEMM of about `flops` over `rows` token rows of width `k`, cut into row blocks so the
// executor's matrices stay small (<= 256 rows).
core::GemmShape gemm_for(double flops, int64_t rows, int64_t k);

// One collective op of a rank, by name: group, tag and root are all int32_t and would swap silently
// as positional arguments.
struct CollectiveCall {
  core::CollectiveKind kind = core::CollectiveKind::AllReduce;
  CollectiveChoice with{};  // the algorithm, and hierarchical's block size
  int32_t group = -1;     // index into Program::groups
  int32_t tag = 0;        // shared by the group's members: names this instance
  double bytes = 0;       // each rank's buffer
  core::DType dtype = core::DType::F32;
  int step = 0;
  std::string label{};
  std::vector<uint32_t> deps{};
  int32_t root = -1;  // broadcast and reduce
};

// Thrown by RankBuilder::add past the budget of the OpBudget alive on this thread (work::compile
// turns it into an input error).
struct ProgramTooLarge : std::runtime_error {
  ProgramTooLarge() : std::runtime_error("the Program exceeds its op budget") {}
};

// While alive, the RankBuilders on this thread may add at most `limit` ops in all. A scope, not an
// argument, so that every strategy compiler is bounded without passing it through each; per thread,
// so the planner's threads compile independently.
class OpBudget {
 public:
  explicit OpBudget(size_t limit);
  ~OpBudget();
  OpBudget(const OpBudget&) = delete;
  OpBudget& operator=(const OpBudget&) = delete;
  void take();  // one more op; throws ProgramTooLarge past the limit

 private:
  size_t left_;
  OpBudget* outer_;
};

struct RankBuilder {
  core::RankProgram& rp;
  core::DType compute_dtype = core::DType::F32;
  int last_compute = -1;

  uint32_t add(core::Op op);
  // Compute ops form one stream: each waits for the previous one and any extra deps.
  uint32_t compute(core::Phase phase, int step, std::string label, double flops, double bytes, core::GemmShape g,
                   std::vector<uint32_t> extra = {});
  uint32_t collective(CollectiveCall c);
  uint32_t send(int32_t peer, int32_t tag, double bytes, int step, std::string label, std::vector<uint32_t> deps,
                core::Phase phase = core::Phase::Comm);
  uint32_t recv(int32_t peer, int32_t tag, double bytes, int step, std::string label, std::vector<uint32_t> deps,
                core::Phase phase = core::Phase::Comm);
};

// Program::groups without duplicates.
class Groups {
 public:
  explicit Groups(core::Program& p) : p_(p) {}
  int32_t of(const std::vector<int32_t>& ranks);

 private:
  core::Program& p_;
  std::map<std::vector<int32_t>, int32_t> index_;
};

// FLOPs and bytes of memory touched by one op.
struct Cost {
  double flops = 0;
  double bytes = 0;
  core::GemmShape gemm;
};

// Stored weight elements a unit reads, by model part (Part order): each priced in its part's format.
using WeightReads = std::array<double, kParts>;

// Costs of the model's units for one micro-batch of `tokens` tokens at sequence length `seq`
// on a rank holding 1/tp of every layer (Megatron split). Backward is twice the forward;
// with activation checkpointing the backward also recomputes the forward.
class UnitCosts {
 public:
  UnitCosts(const Workload& w, int64_t tokens, int64_t seq, int tp = 1);

  // The costs of block l: these, or for a dense leading layer of an MoE model (model.h's
  // dense_layers) those of the same block with its dense MLP.
  const UnitCosts& layer(int64_t l) const { return dense_ && !w_.model.moe_layer(l) ? *dense_ : *this; }
  const ModelShape& model() const { return w_.model; }

  Cost embed_fwd() const;
  Cost layer_fwd() const;
  Cost attention_fwd() const;  // the attention half of a layer (QKV, scores, output projection)
  Cost mlp_fwd() const;        // the MLP half (MoE: router_fwd + experts_fwd(1))
  // MoE: the router and the shared experts over this micro-batch's tokens.
  Cost router_fwd() const;
  // MoE: the routed experts a rank holding 1/ep of them runs, when ep ranks' micro-batches route
  // to them uniformly (as many rows as its own tokens route, over experts / ep experts).
  Cost experts_fwd(int ep) const;
  double routed_rows() const;  // tokens x experts_per_token
  Cost head_fwd() const;
  Cost bwd(const Cost& fwd) const;       // the whole backward side, with the recompute when checkpointing
  Cost gradient(const Cost& fwd) const;  // the backward pass alone (twice the forward), after a recompute
  bool recomputes() const { return w_.memory.activation_checkpointing; }
  // One decode step of `tokens` new tokens attending to `kv_len` cached positions: the whole
  // layer, and its attention half (the MLP half is mlp_fwd()).
  Cost layer_decode(int64_t kv_len) const;
  Cost attention_decode(int64_t kv_len) const;
  // The optimizer step over `params` parameters held by this rank.
  Cost optimizer(double params) const;

  int64_t tokens() const { return tokens_; }
  double activation_bytes_per_layer() const;  // kept for backward, per micro-batch
  double layer_input_bytes() const;           // one layer's input (checkpointing, pipeline sends)

 private:
  const Workload& w_;
  int64_t tokens_, seq_;
  int tp_;
  double act_;  // bytes per activation element
  // dense leading layers: their workload (the model with a dense MLP) and its costs
  std::shared_ptr<const Workload> dense_workload_;
  std::shared_ptr<const UnitCosts> dense_;

  // `flops` of matrix products that read `weights` stored weights (by part) and `cache` cached K/V elements
  // and move `traffic` other bytes: the reads priced by their formats (bytes and dequantisation),
  // the GEMM shape from the products alone; all over tp_ when `split`.
  Cost reading(double flops, const WeightReads& weights, double cache, double traffic, bool split = true) const;
  Cost scaled(const Cost& fwd, double factor) const;
  double padded_expert_tokens(int ep) const;  // rows a prefill's expert GEMMs compute beyond the routed ones
};

// Bytes of the weights one pipeline stage stores (`layers` blocks, the embedding when `first`, the
// final norm and the LM head when `last`; stage_param_count's parameters), each part in its format.
double stage_weight_bytes(const Workload& w, int64_t first_layer, int64_t layers, bool first, bool last);

// Optimizer-state bytes per parameter (AdamW: two moments; SGD with momentum: one; SGD: none),
// plus the fp32 master copy under mixed precision.
double optimizer_bytes_per_param(const Workload& w);

}  // namespace clustertwin::work
