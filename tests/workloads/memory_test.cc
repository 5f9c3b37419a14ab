// Memory per rank against independent formulas, and the capacity check's error.
#include "workloads/memory.h"

#include <gtest/gtest.h>

#include "support.h"
#include "workloads/compile.h"
#include "workloads/ddp.h"

namespace clustertwin::work {
namespace {

// Llama-2-7B (Touvron et al. 2023; HF config): 32 layers, 4096 hidden, 32 heads, SwiGLU 11008,
// vocabulary 32000, untied: 6,738,415,616 parameters.
const char* kSevenB = R"(name: zero3-7b
model: {layers: 32, hidden: 4096, heads: 32, ffn: 11008, vocab: 32000, mlp: swiglu, norm: rmsnorm, bias: false,
        tied_embeddings: false, max_seq: 4096}
task: train
batch: {micro_batch: 1, seq_len: 512}
precision: {compute: bf16, weights: bf16, gradients: bf16, optimizer: fp32}
parallel: {strategy: fsdp, prefetch: 1}
memory: {activation_checkpointing: true}
)";

TEST(Memory, ExplicitSevenBHasThePublishedCount) {
  Workload w = support::parse(kSevenB);
  EXPECT_EQ(param_count(w.model), 6738415616);
}

TEST(Memory, Zero3SevenBOnFourRanksWithinTwoPercentOfTheFormula) {
  // ZeRO (Rajbhandari et al. 2020), mixed-precision Adam: 2 + 2 + K bytes per parameter with
  // K = 12 (fp32 master weights, momentum, variance), divided by N under stage 3:
  // 16 x 6.738e9 / 4 = 26.95 GB per rank.
  Workload w = support::parse(kSevenB);
  const double psi = 6738415616.0, formula = 16 * psi / 4;
  core::Program p = compile(w, support::cluster(4));
  ASSERT_EQ(p.memory.size(), 4u);
  for (const auto& m : p.memory) {
    EXPECT_NEAR(m.weights + m.gradients + m.optimizer, formula, 0.02 * formula);
  }
  // By hand, the extras: 2 gathered blocks of 202,383,360 bf16 parameters and one block's bf16
  // gradient (1.21 GB), 32 checkpointed layer inputs of 512 x 4096 bf16 plus one recomputed
  // layer (4h + q + 2kv + q + 3 ffn = 65,792 elements per token), the embedding output and the
  // logits (512 x 32000 x 2): 0.19 GB.
  const double layer = 202383360.0;
  const double extras = 3 * layer * 2 + 32 * 512 * 4096 * 2.0 + 512 * 65792 * 2.0 + 512 * 4096 * 2.0 + 512 * 32000 * 2.0;
  // the largest gathered unit is the (untied) head or embedding, 131 M: a block is larger
  EXPECT_NEAR(p.memory[0].total() - (p.memory[0].weights + p.memory[0].gradients + p.memory[0].optimizer), extras, 1e-6 * extras);
}

TEST(Memory, DdpHoldsEverythingOnEveryRank) {
  Workload w = support::parse(kSevenB);
  w.parallel.options = Ddp{};
  core::MemoryUse m = data_parallel_memory_of(w, 4);
  const double psi = 6738415616.0;
  EXPECT_DOUBLE_EQ(m.weights + m.gradients + m.optimizer, 16 * psi);
  w.parallel.options = Zero{.stage = 1};
  m = data_parallel_memory_of(w, 4);
  EXPECT_DOUBLE_EQ(m.weights + m.gradients + m.optimizer, 4 * psi + 12 * psi / 4);
  w.parallel.options = Zero{.stage = 2};
  m = data_parallel_memory_of(w, 4);
  EXPECT_DOUBLE_EQ(m.weights + m.gradients + m.optimizer, 2 * psi + 14 * psi / 4);
}

TEST(Memory, Zero3ThatStillDoesNotFitIsOneClearError) {
  // 4 ranks of 16 GB (usable in full): 27 GB each are needed.
  Workload w = support::parse(kSevenB);
  try {
    compile(w, support::cluster(4, 16e9));
    FAIL() << "expected an error";
  } catch (const core::InputError& e) {
    std::string s = e.what();
    EXPECT_NE(s.find("w.yaml:7:11: error: the plan does not fit in memory: rank 0 (node 'rank0', test-device) needs 28.41 GB "
                     "but may use 16.00 GB (16.00 GB x 1.00): 12.41 GB short"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("4 of 4 ranks are over"), std::string::npos) << s;
    EXPECT_NE(s.find("hint: rank 0 holds weights 3.37 GB, gradients 3.37 GB, optimizer 20.22 GB, activations 238.6 MB, "
                     "buffers 1.21 GB; 4 of 4 ranks are over. Try at least 8 ranks, a smaller micro_batch"),
              std::string::npos)
        << s;
  }
}

TEST(Memory, UsableFractionFollowsMacOsWiredLimit) {
  topo::Device mini;
  mini.preset = "mac-mini-m4";
  mini.memory = 16e9;
  EXPECT_DOUBLE_EQ(default_usable_fraction(mini), 2.0 / 3.0);
  mini.memory = 64e9;
  EXPECT_DOUBLE_EQ(default_usable_fraction(mini), 0.75);
  topo::Device pi;
  pi.preset = "raspberry-pi-5";
  pi.memory = 8e9;
  EXPECT_DOUBLE_EQ(default_usable_fraction(pi), 0.9);
}

TEST(Memory, CheckCanBeTurnedOff) {
  Workload w = support::parse(std::string(kSevenB) + "");
  w.memory.check = false;
  EXPECT_NO_THROW(compile(w, support::cluster(4, 16e9)));
}

}  // namespace
}  // namespace clustertwin::work
