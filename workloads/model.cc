#include "workloads/model.h"

namespace clustertwin::work {

namespace {
// Published shapes: GPT-2 (Radford et al. 2019, HF config "gpt2"): 12 layers, 768 hidden, 12 heads,
// 3072 MLP, 50257 vocabulary, 1024 positions; 124,439,808 parameters.
const std::vector<ModelShape>& presets() {
  static const std::vector<ModelShape> models{
      {"gpt2-124m", 12, 768, 12, 3072, 50257, 1024, true},
      {"gpt2-355m", 24, 1024, 16, 4096, 50257, 1024, true},
      {"gpt2-774m", 36, 1280, 20, 5120, 50257, 1024, true},
  };
  return models;
}
}  // namespace

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

int64_t params_per_layer(const ModelShape& m) {
  const int64_t h = m.hidden, f = m.ffn;
  int64_t attention = 3 * h * h + 3 * h + h * h + h;
  int64_t mlp = h * f + f + f * h + h;
  int64_t norms = 2 * 2 * h;
  return attention + mlp + norms;
}

int64_t embedding_params(const ModelShape& m) {
  int64_t p = m.vocab * m.hidden + m.context * m.hidden;
  if (!m.tied_embeddings) p += m.vocab * m.hidden;
  return p;
}

int64_t param_count(const ModelShape& m) {
  return embedding_params(m) + m.layers * params_per_layer(m) + 2 * m.hidden;  // + final LayerNorm
}

double layer_forward_flops_per_token(const ModelShape& m, int64_t seq) {
  const double h = static_cast<double>(m.hidden), f = static_cast<double>(m.ffn);
  double weights = 4 * h * h + 2 * h * f;  // matrix weights only; biases and norms are negligible
  return 2 * weights + 2.0 * static_cast<double>(seq) * h;
}

double head_forward_flops_per_token(const ModelShape& m) {
  return 2.0 * static_cast<double>(m.hidden) * static_cast<double>(m.vocab);
}

}  // namespace clustertwin::work
