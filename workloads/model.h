// Transformer model shapes (presets and the explicit form) and their math: parameter counts
// (total and active per token for mixture-of-experts), FLOPs and bytes of each layer's forward
// pass per token, activation memory kept for backward, and KV-cache size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clustertwin::work {

enum class Mlp : uint8_t { Gelu, SwiGlu };        // 2 matrices (up, down) or 3 (gate, up, down)
enum class Norm : uint8_t { LayerNorm, RmsNorm };  // scale and bias, or scale only

struct ModelShape {
  std::string name;
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t heads = 0;     // query heads
  int64_t kv_heads = 0;  // key/value heads (grouped-query attention); 0 = heads
  int64_t head_dim = 0;  // 0 = hidden / heads
  int64_t ffn = 0;       // MLP inner width (dense layers)
  int64_t vocab = 0;
  int64_t context = 0;   // learned positional embeddings (0 for rotary models)
  bool tied_embeddings = true;  // the LM head reuses the token embedding
  Mlp mlp = Mlp::Gelu;
  Norm norm = Norm::LayerNorm;
  bool bias = true;      // the linear layers carry biases (GPT-2), or not (Llama, Qwen3)
  bool qk_norm = false;  // an RMSNorm over each query and key head (Qwen3)
  int64_t max_seq = 0;   // longest sequence the model supports (0 = context)
  // Mixture of experts: every layer's MLP is `experts` experts of width `expert_ffn`, of which
  // `experts_per_token` run per token, chosen by a router (hidden x experts), plus
  // `shared_experts` MLPs of width `shared_ffn` (0 = expert_ffn) every token runs (DeepSeek V2/V3,
  // Qwen2-MoE). 0 experts = dense.
  int64_t experts = 0;
  int64_t experts_per_token = 0;
  int64_t expert_ffn = 0;
  int64_t shared_experts = 0;
  int64_t shared_ffn = 0;
  // The first `dense_layers` layers have a dense MLP of width `ffn` instead (DeepSeek V3: 3).
  int64_t dense_layers = 0;
  // Multi-head latent attention (DeepSeek V2/V3, `kv_lora_rank` > 0): keys and values are cached as
  // one latent of kv_lora_rank plus a shared rotary key of qk_rope_head_dim per token, expanded per
  // head (head_dim = qk_nope_head_dim, values v_head_dim); queries through a q_lora_rank bottleneck
  // (0 = a direct projection).
  int64_t q_lora_rank = 0;
  int64_t kv_lora_rank = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;

  int64_t kv() const { return kv_heads > 0 ? kv_heads : heads; }
  int64_t dhead() const { return head_dim > 0 ? head_dim : hidden / heads; }
  bool mla() const { return kv_lora_rank > 0; }
  // query (and key) width: per head the head_dim, plus MLA's rotary part
  int64_t q_dim() const { return heads * (dhead() + (mla() ? qk_rope_head_dim : 0)); }
  int64_t v_dim() const { return mla() ? heads * (v_head_dim > 0 ? v_head_dim : dhead()) : q_dim(); }
  int64_t kv_dim() const { return kv() * dhead(); }
  bool moe() const { return experts > 0; }
  int64_t shared_width() const { return shared_ffn > 0 ? shared_ffn : expert_ffn; }
  bool moe_layer(int64_t l) const { return moe() && l >= dense_layers; }
  int64_t longest_sequence() const { return max_seq > 0 ? max_seq : context; }
};

const ModelShape* find_model(const std::string& name);
std::vector<std::string> model_names();

// Returns "" when the shape is consistent, else what is wrong ("heads 12 do not divide ...").
std::string check_shape(const ModelShape& m);

// The parts of a model whose weights a workload may store in their own formats
// (`precision: {weights: {default: ..., experts: ...}}`): attention (with the block's norms), the
// dense MLP (for MoE: the router and the shared experts), the routed experts, the token embedding,
// the LM head.
enum class Part : uint8_t { Attention, Mlp, Experts, Embedding, Head };
inline constexpr int kParts = 5;
std::string_view name(Part p);

// A block's parameters by part: attention + norms, dense MLP (MoE: router + shared experts), and
// one routed expert (0 when dense).
int64_t attention_params_per_layer(const ModelShape& m);
int64_t dense_mlp_params_per_layer(const ModelShape& m);
int64_t params_per_expert(const ModelShape& m);

// Parameters of one transformer block: attention (Q, K, V, output projections, with biases when
// `bias`), MLP (2 or 3 projections; for MoE every expert plus the router), norms.
int64_t params_per_layer(const ModelShape& m);
// The parameters one token uses in a block: for MoE only its experts_per_token experts.
int64_t active_params_per_layer(const ModelShape& m);
int64_t embedding_params(const ModelShape& m);  // token + positional (+ untied LM head)
int64_t param_count(const ModelShape& m);       // every parameter (MoE: all experts)
// The shape of a model's dense leading layers: the same attention, a dense MLP of width ffn.
ModelShape dense_layer_shape(const ModelShape& m);
// Parameters of layers [first, first + count), each as its kind (dense leading or MoE).
int64_t layers_param_count(const ModelShape& m, int64_t first, int64_t count);
// Parameters one pipeline stage holds: `layers` blocks, the token (and positional) embedding when
// `first`, the final norm and the LM head when `last`. A tied head is the embedding's matrix when
// one stage holds both (so the whole model, first and last, is param_count), and a copy on the last
// stage otherwise (Megatron keeps both and all-reduces their gradients).
// `first_layer` is the index of the stage's first block (dense leading layers differ).
int64_t stage_param_count(const ModelShape& m, int64_t first_layer, int64_t layers, bool first, bool last);
int64_t active_param_count(const ModelShape& m);  // used per token (= param_count when dense)
// Weights of the matrix products one token runs in a block (no biases or norms): the N of
// Kaplan's C = 2N per token. The LM head's are hidden x vocab.
int64_t matmul_weights_per_layer(const ModelShape& m);
// Those of the attention alone (Q, K, V, output; MLA: its down and up projections).
int64_t attention_matmul_weights_per_layer(const ModelShape& m);

// Causal self-attention FLOPs of one layer per token of a training sequence of length `seq`:
// QK^T and AV each cost 2·seq·q_dim (2·seq·v_dim) per token for a full square, halved by the
// causal mask: 2·seq·q_dim in all (seq·(q_dim + v_dim) with MLA's own value width).
double attention_flops_per_token(const ModelShape& m, int64_t seq);
// The same for one new token attending to `kv_len` cached keys (decode): 4·kv_len·q_dim. MLA
// decodes with the up-projections absorbed (llama.cpp, MLX): scores and values over the cached
// latent, 2·kv_len·heads·(2·kv_lora_rank + qk_rope_head_dim).
double decode_attention_flops(const ModelShape& m, int64_t kv_len);
// Forward FLOPs of one layer for one token at sequence length `seq`: 2 per active matmul weight
// (multiply-add) plus causal attention. Backward costs twice the forward.
double layer_forward_flops_per_token(const ModelShape& m, int64_t seq);
// LM head forward FLOPs per token: 2·hidden·vocab.
double head_forward_flops_per_token(const ModelShape& m);
// Training FLOPs per token of the whole model at sequence length `seq`: 3 × forward
// = 6·N_matmul + 6·layers·seq·q_dim (Kaplan et al. 2020's C ≈ 6N plus the attention term).
double training_flops_per_token(const ModelShape& m, int64_t seq);

// Elements per token that cross memory in a block's forward pass besides the weights (inputs and
// outputs of the projections, attention, MLP inner activations, norms, residuals): 8·hidden plus
// 2 (GeLU) or 3 (SwiGLU) inner-width tensors. GPT-2: 16·hidden.
double layer_traffic_elements_per_token(const ModelShape& m);
// Activation elements per token one block keeps for its backward pass, with memory-efficient
// (flash) attention so no seq² scores are stored: the two norm inputs, the QKV input, Q, K, V,
// the attention output, the MLP input, and the MLP inner tensors (2·ffn GeLU, 3·ffn SwiGLU; MoE:
// per active expert, plus router logits). GPT-2: 16·hidden (Korthikanti et al. 2022's 34·s·b·h
// bytes at 2 bytes per element, without dropout masks and the 5·a·s² attention term).
double layer_activation_elements_per_token(const ModelShape& m);
// Key and value elements cached per token per layer: 2·kv_heads·head_dim (MLA: the latent and the
// rotary key, kv_lora_rank + qk_rope_head_dim, shared by every head).
int64_t kv_elements_per_token_per_layer(const ModelShape& m);

}  // namespace clustertwin::work
