#include "workloads/model.h"

#include <gtest/gtest.h>

namespace clustertwin::work {
namespace {

TEST(Model, Gpt2SmallParameterCountIsThePublishedOne) {
  // Hugging Face "gpt2": model.num_parameters() == 124,439,808 (tied LM head).
  EXPECT_EQ(param_count(*find_model("gpt2-124m")), 124439808);
}

TEST(Model, Gpt2MediumAndLargeWithinHalfAPercent) {
  // Published: gpt2-medium 354,823,168; gpt2-large 774,030,080.
  EXPECT_NEAR(param_count(*find_model("gpt2-355m")), 354823168, 0.005 * 354823168);
  EXPECT_NEAR(param_count(*find_model("gpt2-774m")), 774030080, 0.005 * 774030080);
}

TEST(Model, ForwardFlopsPerTokenMatchKaplan) {
  // Kaplan et al. 2020: C_forward = 2 N + 2 n_layer n_ctx d_attn per token, N the non-embedding
  // weights. GPT-2 small: per layer 4*768^2 + 2*768*3072 = 7,077,888 weights; attention term
  // 2 * 1024 * 768 = 1,572,864 per layer at n_ctx = 1024; LM head 2 * 768 * 50257.
  const ModelShape& m = *find_model("gpt2-124m");
  EXPECT_DOUBLE_EQ(layer_forward_flops_per_token(m, 1024), 2.0 * 7077888 + 1572864);
  EXPECT_DOUBLE_EQ(head_forward_flops_per_token(m), 2.0 * 768 * 50257);
}

}  // namespace
}  // namespace clustertwin::work
