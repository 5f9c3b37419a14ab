#include "workloads/model.h"

#include <algorithm>

#include <fmt/format.h>

namespace clustertwin::work {

namespace {
ModelShape gpt2(std::string name, int64_t layers, int64_t hidden, int64_t heads) {
  return {.name = std::move(name), .layers = layers, .hidden = hidden, .heads = heads, .ffn = 4 * hidden,
          .vocab = 50257, .context = 1024};
}

ModelShape llama(std::string name, int64_t layers, int64_t hidden, int64_t heads, int64_t kv_heads, int64_t head_dim,
                 int64_t ffn, bool tied) {
  return {.name = std::move(name), .layers = layers, .hidden = hidden, .heads = heads, .kv_heads = kv_heads,
          .head_dim = head_dim, .ffn = ffn, .vocab = 128256, .tied_embeddings = tied, .mlp = Mlp::SwiGlu,
          .norm = Norm::RmsNorm, .bias = false, .max_seq = 131072};
}

// Published shapes, each from the model's Hugging Face config.json, with the parameter count the
// published checkpoint reports (model.num_parameters()):
//   gpt2 / -medium / -large (Radford et al. 2019): 124,439,808 / 354,823,168 / 774,030,080.
//   meta-llama/Llama-3.2-1B: 1,235,814,400; Llama-3.2-3B: 3,212,749,824 (both tied embeddings).
//   meta-llama/Llama-3.1-8B: 8,030,261,248; Llama-3.1-70B: 70,553,706,496 (untied LM head).
//   Qwen/Qwen3-30B-A3B: 30.5 B total, 3.3 B active (128 experts of width 768, 8 per token,
//   head_dim 128 so q_dim 4096 > hidden 2048, q/k RMSNorm, untied, no shared expert).
//   Qwen/Qwen3-235B-A22B (also the text model of Qwen3-VL-235B-A22B): 235 B total, 22 B active;
//   94 layers, hidden 4096, 64 query / 4 key-value heads of 128, 128 experts of width 1536, 8 per
//   token, every layer MoE, untied, vocabulary 151,936.
//   deepseek-ai/DeepSeek-V3 (and R1, the same shape): 671 B total, 37 B active; 61 layers, hidden
//   7168, 128 heads with latent attention (q_lora_rank 1536, kv_lora_rank 512, qk_nope_head_dim
//   128, qk_rope_head_dim 64, v_head_dim 128), the first 3 layers dense (intermediate 18432), then
//   256 routed experts of 2048 (8 per token) and 1 shared, untied, vocabulary 129,280 (the
//   multi-token-prediction module of the checkpoint's 685 B is not part of the model).
//   openai/gpt-oss-120b: 116.83 B total (model card); 36 layers, hidden 2880, 64 query / 8
//   key-value heads of 64, 128 experts of width 2880, 4 per token, biases on attention and experts,
//   untied, vocabulary 201,088. Not expressed: every other layer attends over a 128-token sliding
//   window, and the attention sinks (both only shrink decode's attention reads).
const std::vector<ModelShape>& presets() {
  static const std::vector<ModelShape> models{
      gpt2("gpt2-124m", 12, 768, 12),
      gpt2("gpt2-355m", 24, 1024, 16),
      gpt2("gpt2-774m", 36, 1280, 20),
      llama("llama-3.2-1b", 16, 2048, 32, 8, 64, 8192, true),
      llama("llama-3.2-3b", 28, 3072, 24, 8, 128, 8192, true),
      llama("llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, false),
      llama("llama-3.1-70b", 80, 8192, 64, 8, 128, 28672, false),
      {.name = "qwen3-30b-a3b", .layers = 48, .hidden = 2048, .heads = 32, .kv_heads = 4, .head_dim = 128,
       .ffn = 6144, .vocab = 151936, .tied_embeddings = false, .mlp = Mlp::SwiGlu, .norm = Norm::RmsNorm,
       .bias = false, .qk_norm = true, .max_seq = 40960, .experts = 128, .experts_per_token = 8, .expert_ffn = 768},
      {.name = "qwen3-235b-a22b", .layers = 94, .hidden = 4096, .heads = 64, .kv_heads = 4, .head_dim = 128,
       .ffn = 12288, .vocab = 151936, .tied_embeddings = false, .mlp = Mlp::SwiGlu, .norm = Norm::RmsNorm,
       .bias = false, .qk_norm = true, .max_seq = 40960, .experts = 128, .experts_per_token = 8, .expert_ffn = 1536},
      {.name = "deepseek-v3-671b", .layers = 61, .hidden = 7168, .heads = 128, .head_dim = 128, .ffn = 18432,
       .vocab = 129280, .tied_embeddings = false, .mlp = Mlp::SwiGlu, .norm = Norm::RmsNorm, .bias = false,
       .max_seq = 163840, .experts = 256, .experts_per_token = 8, .expert_ffn = 2048, .shared_experts = 1,
       .dense_layers = 3, .q_lora_rank = 1536, .kv_lora_rank = 512, .qk_rope_head_dim = 64, .v_head_dim = 128},
      {.name = "gpt-oss-120b", .layers = 36, .hidden = 2880, .heads = 64, .kv_heads = 8, .head_dim = 64,
       .ffn = 2880, .vocab = 201088, .tied_embeddings = false, .mlp = Mlp::SwiGlu, .norm = Norm::RmsNorm,
       .bias = true, .max_seq = 131072, .experts = 128, .experts_per_token = 4, .expert_ffn = 2880},
  };
  return models;
}

int64_t norm_params(const ModelShape& m) { return m.norm == Norm::LayerNorm ? 2 * m.hidden : m.hidden; }
int64_t mlp_matrices(const ModelShape& m) { return m.mlp == Mlp::SwiGlu ? 3 : 2; }

// One MLP of inner width f: its matrices and, with biases, one bias per inner unit per input
// projection plus the output bias.
int64_t mlp_params(const ModelShape& m, int64_t f) {
  int64_t p = mlp_matrices(m) * m.hidden * f;
  if (m.bias) p += (mlp_matrices(m) - 1) * f + m.hidden;
  return p;
}

int64_t attention_params(const ModelShape& m) {
  const int64_t h = m.hidden, q = m.q_dim(), kv = m.kv_dim();
  if (m.mla()) {  // projection matrices + the two latent norms
    return attention_matmul_weights_per_layer(m) + m.q_lora_rank + m.kv_lora_rank;
  }
  int64_t p = h * (q + 2 * kv) + q * h;
  if (m.bias) p += q + 2 * kv + h;
  if (m.qk_norm) p += 2 * m.dhead();
  return p;
}

int64_t mlp_block_params(const ModelShape& m, int64_t experts) {
  return dense_mlp_params_per_layer(m) + experts * params_per_expert(m);
}
}  // namespace

std::string_view name(Part p) {
  switch (p) {
    case Part::Attention: return "attention";
    case Part::Mlp: return "mlp";
    case Part::Experts: return "experts";
    case Part::Embedding: return "embedding";
    case Part::Head: return "head";
  }
  return "?";
}

int64_t attention_params_per_layer(const ModelShape& m) { return attention_params(m) + 2 * norm_params(m); }

int64_t dense_mlp_params_per_layer(const ModelShape& m) {
  if (!m.moe()) return mlp_params(m, m.ffn);
  return m.hidden * m.experts + m.shared_experts * mlp_params(m, m.shared_width());  // router + shared experts
}

int64_t params_per_expert(const ModelShape& m) { return m.moe() ? mlp_params(m, m.expert_ffn) : 0; }

const ModelShape* find_model(const std::string& name) {
  for (const auto& m : presets())
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& m : presets()) out.push_back(m.name);
  return out;
}

std::string check_shape(const ModelShape& m) {
  if (m.layers < 1 || m.hidden < 1 || m.heads < 1 || m.vocab < 1) return "layers, hidden, heads and vocab must be positive";
  if (m.head_dim == 0 && m.hidden % m.heads != 0)
    return fmt::format("hidden {} is not a multiple of heads {} (give head_dim explicitly)", m.hidden, m.heads);
  if (m.heads % m.kv() != 0) return fmt::format("heads {} are not a multiple of kv_heads {}", m.heads, m.kv());
  if (!m.moe() && m.ffn < 1) return "a dense model needs ffn > 0";
  if (!m.moe() && m.shared_experts > 0) return "shared_experts need a mixture of experts (experts > 0)";
  if (m.dense_layers > 0 && (!m.moe() || m.ffn < 1 || m.dense_layers > m.layers))
    return fmt::format("dense_layers needs a mixture of experts, ffn > 0 (their MLP width) and at most {} layers", m.layers);
  if (!m.mla() && (m.q_lora_rank > 0 || m.qk_rope_head_dim > 0 || m.v_head_dim > 0))
    return "q_lora_rank, qk_rope_head_dim and v_head_dim describe latent attention: give kv_lora_rank too";
  if (m.mla() && m.kv_heads > 0 && m.kv_heads != m.heads)
    return "latent attention caches one latent for every head: leave kv_heads out";
  if (m.moe() && (m.experts_per_token < 1 || m.experts_per_token > m.experts || m.expert_ffn < 1))
    return fmt::format("a mixture of experts needs 1 <= experts_per_token <= experts ({}) and expert_ffn > 0", m.experts);
  return "";
}

int64_t params_per_layer(const ModelShape& m) {
  return attention_params(m) + mlp_block_params(m, m.experts) + 2 * norm_params(m);
}

int64_t active_params_per_layer(const ModelShape& m) {
  return attention_params(m) + mlp_block_params(m, m.experts_per_token) + 2 * norm_params(m);
}

int64_t embedding_params(const ModelShape& m) {
  int64_t p = m.vocab * m.hidden + m.context * m.hidden;
  if (!m.tied_embeddings) p += m.vocab * m.hidden;
  return p;
}

ModelShape dense_layer_shape(const ModelShape& m) {
  ModelShape d = m;
  d.experts = d.experts_per_token = d.expert_ffn = d.shared_experts = d.shared_ffn = d.dense_layers = 0;
  return d;
}

int64_t layers_param_count(const ModelShape& m, int64_t first, int64_t count) {
  const int64_t dense = std::clamp<int64_t>(m.moe() ? m.dense_layers - first : 0, 0, count);
  return dense * params_per_layer(dense_layer_shape(m)) + (count - dense) * params_per_layer(m);
}

int64_t param_count(const ModelShape& m) {
  return embedding_params(m) + layers_param_count(m, 0, m.layers) + norm_params(m);  // + final norm
}

int64_t stage_param_count(const ModelShape& m, int64_t first_layer, int64_t layers, bool first, bool last) {
  int64_t p = layers_param_count(m, first_layer, layers);
  if (first) p += m.vocab * m.hidden + m.context * m.hidden;
  if (last) p += norm_params(m) + (m.tied_embeddings && first ? 0 : m.vocab * m.hidden);
  return p;
}

int64_t active_param_count(const ModelShape& m) {
  const int64_t dense = m.moe() ? std::min(m.dense_layers, m.layers) : 0;
  return embedding_params(m) + dense * active_params_per_layer(dense_layer_shape(m)) +
         (m.layers - dense) * active_params_per_layer(m) + norm_params(m);
}

int64_t attention_matmul_weights_per_layer(const ModelShape& m) {
  const int64_t h = m.hidden;
  if (!m.mla()) return h * (m.q_dim() + 2 * m.kv_dim()) + m.q_dim() * h;
  const int64_t q = m.q_lora_rank > 0 ? h * m.q_lora_rank + m.q_lora_rank * m.q_dim() : h * m.q_dim();
  const int64_t kv_down = h * (m.kv_lora_rank + m.qk_rope_head_dim);
  const int64_t kv_up = m.kv_lora_rank * (m.heads * m.dhead() + m.v_dim());
  return q + kv_down + kv_up + m.v_dim() * h;
}

int64_t matmul_weights_per_layer(const ModelShape& m) {
  const int64_t h = m.hidden;
  int64_t attn = attention_matmul_weights_per_layer(m);
  int64_t mlp = m.moe() ? (m.experts_per_token * m.expert_ffn + m.shared_experts * m.shared_width()) * mlp_matrices(m) * h +
                              h * m.experts
                        : mlp_matrices(m) * h * m.ffn;
  return attn + mlp;
}

double attention_flops_per_token(const ModelShape& m, int64_t seq) {
  return static_cast<double>(seq) * static_cast<double>(m.q_dim() + m.v_dim());
}

double decode_attention_flops(const ModelShape& m, int64_t kv_len) {
  if (m.mla())
    return 2.0 * static_cast<double>(kv_len) * static_cast<double>(m.heads * (2 * m.kv_lora_rank + m.qk_rope_head_dim));
  return 4.0 * static_cast<double>(kv_len) * static_cast<double>(m.q_dim());
}

double layer_forward_flops_per_token(const ModelShape& m, int64_t seq) {
  return 2.0 * static_cast<double>(matmul_weights_per_layer(m)) + attention_flops_per_token(m, seq);
}

double head_forward_flops_per_token(const ModelShape& m) {
  return 2.0 * static_cast<double>(m.hidden) * static_cast<double>(m.vocab);
}

double training_flops_per_token(const ModelShape& m, int64_t seq) {
  return 3.0 * (static_cast<double>(m.layers) * layer_forward_flops_per_token(m, seq) + head_forward_flops_per_token(m));
}

namespace {
double inner_elements(const ModelShape& m) {
  const double per = m.mlp == Mlp::SwiGlu ? 3 : 2;
  if (!m.moe()) return per * static_cast<double>(m.ffn);
  return per * static_cast<double>(m.experts_per_token * m.expert_ffn + m.shared_experts * m.shared_width()) +
         static_cast<double>(m.experts);
}
}  // namespace

double layer_traffic_elements_per_token(const ModelShape& m) {
  return 8.0 * static_cast<double>(m.hidden) + inner_elements(m);
}

double layer_activation_elements_per_token(const ModelShape& m) {
  const double h = static_cast<double>(m.hidden), q = static_cast<double>(m.q_dim()), v = static_cast<double>(m.v_dim());
  // K and V as attention reads them (MLA: expanded per head from the latent)
  const double k_and_v = m.mla() ? q + v : 2.0 * static_cast<double>(m.kv_dim());
  // norm inputs (2h), QKV input (h), Q K V, attention output, MLP input (h), MLP inner.
  return 4 * h + (q + k_and_v) + v + inner_elements(m);
}

int64_t kv_elements_per_token_per_layer(const ModelShape& m) {
  return m.mla() ? m.kv_lora_rank + m.qk_rope_head_dim : 2 * m.kv_dim();
}

}  // namespace clustertwin::work
