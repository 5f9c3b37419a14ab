// Transformer model shapes (presets and explicit) and their math: parameter counts and the FLOPs
// and bytes of each layer's forward pass per token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clustertwin::work {

struct ModelShape {
  std::string name;
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t ffn = 0;       // MLP inner width
  int64_t vocab = 0;
  int64_t context = 0;   // learned positional embeddings (0 for rotary models)
  bool tied_embeddings = true;  // the LM head reuses the token embedding
};

const ModelShape* find_model(const std::string& name);
std::vector<std::string> model_names();

// GPT-style block: attention (QKV + output projection, with biases), MLP (two projections with
// biases), two LayerNorms (scale and bias).
int64_t params_per_layer(const ModelShape& m);
int64_t embedding_params(const ModelShape& m);  // token + positional (+ untied LM head)
int64_t param_count(const ModelShape& m);

// Forward FLOPs of one layer for one token at sequence length `seq`: 2 per weight (multiply-add)
// plus causal attention scores and weighted sum, 2·seq·hidden (QK^T and AV each cost 2·seq·hidden
// for a full sequence, halved by the causal mask). Backward costs twice the forward.
double layer_forward_flops_per_token(const ModelShape& m, int64_t seq);
// LM head forward FLOPs per token: 2·hidden·vocab.
double head_forward_flops_per_token(const ModelShape& m);

}  // namespace clustertwin::work
