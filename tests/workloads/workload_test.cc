#include "workloads/workload.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

namespace clustertwin::work {
namespace {

TEST(Workload, ExampleLoads) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/ddp-gpt2.yaml");
  EXPECT_EQ(w.model.name, "gpt2-124m");
  EXPECT_EQ(w.micro_batch, 8);
  EXPECT_EQ(w.seq_len, 1024);
  EXPECT_EQ(w.precision.gradients, core::DType::F32);
  EXPECT_EQ(w.parallel.strategy(), Strategy::Ddp);
  EXPECT_EQ(std::get<Ddp>(w.parallel.options).bucket_bytes, 0);
}

std::string error_of(const std::string& yaml) {
  try {
    parse_workload(yaml, "w.yaml");
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Workload, SequenceLongerThanTheModelsContext) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 4096}\n"
                           "parallel: {strategy: ddp}\n");
  EXPECT_NE(e.find("w.yaml:4:34: error: seq_len 4096 exceeds the 1024 positions of model 'gpt2-124m'"), std::string::npos) << e;
}

TEST(Workload, UnknownModel) {
  std::string e = error_of("name: w\nmodel: gpt-2\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\nparallel: {strategy: ddp}\n");
  EXPECT_NE(e.find("w.yaml:2:8: error: unknown model preset 'gpt-2'"), std::string::npos) << e;
}

TEST(Workload, MissingParallel) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n");
  EXPECT_NE(e.find("error: the workload is missing the key 'parallel'"), std::string::npos) << e;
}

}  // namespace
}  // namespace clustertwin::work

namespace clustertwin::work {
namespace {

TEST(Workload, ExplicitShape) {
  Workload w = parse_workload(
      "name: w\nmodel: {name: tiny-moe, layers: 4, hidden: 256, heads: 8, kv_heads: 2, vocab: 1000, mlp: swiglu,\n"
      "  norm: rmsnorm, bias: false, experts: 8, experts_per_token: 2, expert_ffn: 128, max_seq: 512}\n"
      "task: train\nbatch: {micro_batch: 1, seq_len: 64}\nparallel: {strategy: ddp}\n",
      "w.yaml");
  EXPECT_EQ(w.model.name, "tiny-moe");
  EXPECT_EQ(w.model.kv(), 2);
  EXPECT_TRUE(w.model.moe());
  EXPECT_LT(active_param_count(w.model), param_count(w.model));
  EXPECT_EQ(std::get<Ddp>(w.parallel.options).bucket_bytes, 25e6);  // PyTorch's default when not written
}

TEST(Workload, InconsistentShape) {
  std::string e = error_of("name: w\nmodel: {layers: 4, hidden: 256, heads: 8, kv_heads: 3, ffn: 1024, vocab: 1000}\n"
                           "task: train\nbatch: {micro_batch: 1, seq_len: 64}\nparallel: {strategy: ddp}\n");
  EXPECT_NE(e.find("w.yaml:2:8: error: inconsistent model shape: heads 8 are not a multiple of kv_heads 3"), std::string::npos) << e;
}

TEST(Workload, KeyOfAnotherStrategy) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: ddp, schedule: 1f1b}\n");
  EXPECT_NE(e.find("w.yaml:5:27: error: 'schedule' does not apply to the ddp strategy"), std::string::npos) << e;
}

// The whole diagnostic: position, message, the source line, the caret under the key, the hint.
TEST(Workload, KeyOfAnotherStrategyWholeText) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: ddp, staleness: 2}\n");
  EXPECT_EQ(e,
            "w.yaml:5:27: error: 'staleness' does not apply to the ddp strategy\n"
            "  parallel: {strategy: ddp, staleness: 2}\n"
            "                            ^\n"
            "hint: ddp takes: strategy, allreduce, local, stripes, bucket, micro_batches");
}

// A key no strategy takes is a typo, not a key of another strategy.
TEST(Workload, KeyOfNoStrategyIsAnUnknownKey) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: tensor, tp: 2, tp_allreduc: tree}\n");
  EXPECT_EQ(e,
            "w.yaml:5:37: error: unknown key 'tp_allreduc' in 'parallel'\n"
            "  parallel: {strategy: tensor, tp: 2, tp_allreduc: tree}\n"
            "                                      ^\n"
            "hint: did you mean 'tp_allreduce'?");
}

// A required key that is missing next to a key spelt like it: the error points at the misspelling.
TEST(Workload, MisspeltRequiredKeyIsNamed) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel:\n  stratgy: ddp\n");
  EXPECT_EQ(e,
            "w.yaml:6:3: error: 'parallel' is missing the key 'strategy'\n"
            "    stratgy: ddp\n"
            "    ^\n"
            "hint: did you mean 'strategy' instead of 'stratgy'?");
}

TEST(Workload, TrainingKeyOnAnInferencePlan) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: infer\nbatch: {size: 1, prompt: 8, generate: 4}\n"
                           "parallel: {strategy: pipeline, schedule: gpipe}\n");
  EXPECT_EQ(e,
            "w.yaml:5:32: error: 'schedule' does not apply to the pipeline strategy\n"
            "  parallel: {strategy: pipeline, schedule: gpipe}\n"
            "                                 ^\n"
            "hint: pipeline takes: strategy, pp, split, dp");
}

TEST(Workload, LocalWithoutTheHierarchicalAlgorithm) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: tensor, tp: 2, allreduce: ring, local: 2}\n");
  EXPECT_EQ(e,
            "w.yaml:5:61: error: 'local' is the block size of the hierarchical algorithm, which this plan does not use\n"
            "  parallel: {strategy: tensor, tp: 2, allreduce: ring, local: 2}\n"
            "                                                              ^\n"
            "hint: remove it, or set allreduce or tp_allreduce to hierarchical");
  EXPECT_EQ(error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                     "parallel: {strategy: tensor, tp: 2, tp_allreduce: hierarchical, local: 2}\n"),
            "(no error)");
}

TEST(Workload, StripesWithoutARingAlgorithm) {
  EXPECT_EQ(error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                     "parallel: {strategy: ddp, allreduce: tree, stripes: 2}\n"),
            "w.yaml:5:53: error: 'stripes' splits ring and bidirectional-ring all-reduces, which this plan does not use\n"
            "  parallel: {strategy: ddp, allreduce: tree, stripes: 2}\n"
            "                                                      ^\n"
            "hint: remove it, or set allreduce to ring or bidirectional-ring");
  EXPECT_EQ(error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                     "parallel: {strategy: ddp, allreduce: bidirectional-ring, stripes: 3}\n"),
            "(no error)");
}

TEST(Workload, EachStrategyGetsItsOwnOptions) {
  auto parallel_of = [](const std::string& par) {
    return parse_workload("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\nparallel: " + par +
                              "\n",
                          "w.yaml")
        .parallel;
  };
  Parallel ps = parallel_of("{strategy: parameter-server, mode: async, staleness: 3, push: int8}");
  const auto& server = std::get<ParameterServer>(ps.options);
  ASSERT_TRUE(server.async);
  EXPECT_EQ(server.async->staleness, 3);
  EXPECT_EQ(server.push, core::DType::I8);
  EXPECT_FALSE(std::get<ParameterServer>(parallel_of("{strategy: parameter-server}").options).async);
  Zero fsdp = std::get<Zero>(parallel_of("{strategy: fsdp, prefetch: 2}").options);
  EXPECT_EQ(fsdp.stage, 3);
  EXPECT_EQ(fsdp.prefetch, 2);
  Hybrid pipe = model_parallel_plan(parallel_of("{strategy: pipeline, pp: 2, schedule: interleaved, micro_batches: 4}"));
  EXPECT_EQ(pipe.pp, 2);
  EXPECT_EQ(pipe.tp, 1);
  EXPECT_EQ(pipe.schedule.kind, Schedule::Interleaved);
  EXPECT_EQ(pipe.schedule.virtual_stages, 2);
  Hybrid tensor = model_parallel_plan(parallel_of("{strategy: tensor, tp_allreduce: hierarchical, local: 2}"));
  EXPECT_EQ(tensor.tp, 0);  // all ranks, resolved at compile time
  EXPECT_EQ(tensor.tensor.allreduce.algorithm, core::Algorithm::Hierarchical);
  EXPECT_EQ(tensor.tensor.allreduce.local, 2);
  EXPECT_EQ(tensor.gradients.algorithm, core::Algorithm::Ring);
  Ddp biring = std::get<Ddp>(parallel_of("{strategy: ddp, allreduce: bidirectional-ring, stripes: 3}").options);
  EXPECT_EQ(biring.gradients.algorithm, core::Algorithm::BidirectionalRing);
  EXPECT_EQ(biring.gradients.stripes, 3);
}

TEST(Workload, ZeroNeedsItsStage) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: zero}\n");
  EXPECT_NE(e.find("error: the zero strategy needs its stage"), std::string::npos) << e;
}

TEST(Workload, EveryExampleLoads) {
  for (const auto& entry : std::filesystem::directory_iterator(CLUSTERTWIN_SOURCE_DIR "/workloads/examples")) {
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(load_workload(entry.path().string()));
  }
}

}  // namespace
}  // namespace clustertwin::work

#include "support.h"
#include "workloads/compile.h"

namespace clustertwin::work {
namespace {

TEST(Workload, EveryExampleCompilesAndRuns) {
  // ranks each example is written for (the 70B hybrid at 128 of its 1024: dp 2)
  const std::map<std::string, int> world{
      {"ddp-gpt2", 3},         {"ddp-buckets-gpt2", 3},  {"zero2-gpt2-355m", 4},
      {"fsdp-llama-3.2-1b", 4}, {"pipeline-llama-3.2-3b", 4}, {"tensor-llama-3.2-1b", 2},
      {"hybrid-llama-3.1-70b", 128}, {"ps-sync-gpt2", 4}, {"ps-async-gpt2", 5},
      {"infer-tensor-llama-3.1-70b", 4}, {"infer-pipeline-llama-3.1-70b", 4}, {"infer-qwen3-30b-a3b", 2}};
  for (const auto& entry : std::filesystem::directory_iterator(CLUSTERTWIN_SOURCE_DIR "/workloads/examples")) {
    Workload w = load_workload(entry.path().string());
    SCOPED_TRACE(w.name);
    ASSERT_TRUE(world.count(w.name)) << "add the example to this test";
    core::Program p = compile(w, support::cluster(world.at(w.name)));
    EXPECT_TRUE(support::runnable(p));
  }
}

}  // namespace
}  // namespace clustertwin::work

namespace clustertwin::work {
namespace {

TEST(Workload, AlgorithmMustImplementTheStrategysCollectives) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: fsdp, allreduce: tree}\n");
  EXPECT_NE(e.find("w.yaml:5:39: error: algorithm 'tree' does not implement reducescatter"), std::string::npos) << e;
}

TEST(Workload, HierarchicalNeedsItsBlockSize) {
  std::string e = error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                           "parallel: {strategy: ddp, allreduce: hierarchical}\n");
  EXPECT_NE(e.find("w.yaml:5:38: error: the hierarchical algorithm needs its block size"), std::string::npos) << e;
  Workload w = parse_workload("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                              "parallel: {strategy: ddp, allreduce: hierarchical, local: 2}\n",
                              "w.yaml");
  EXPECT_TRUE(support::runnable(compile(w, support::cluster(4))));
  try {
    compile(w, support::cluster(3));
    FAIL();
  } catch (const core::InputError& err) {
    EXPECT_NE(std::string(err.what()).find("hierarchical gradient collectives over 3 ranks cannot be cut into blocks of local: 2"),
              std::string::npos)
        << err.what();
  }
}

TEST(Workload, KeysThatDoNothingAreErrors) {
  EXPECT_NE(error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                     "parallel: {strategy: fsdp, bucket: 25MB}\n")
                .find("'bucket' does not apply to ZeRO stage 3"),
            std::string::npos);
  EXPECT_NE(error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                     "parallel: {strategy: zero, stage: 2, prefetch: 2}\n")
                .find("'prefetch' applies to ZeRO stage 3"),
            std::string::npos);
  EXPECT_NE(error_of("name: w\nmodel: gpt2-124m\ntask: infer\nbatch: {size: 1, prompt: 8, generate: 8}\n"
                     "parallel: {strategy: tensor, tp: 2, schedule: 1f1b}\n")
                .find("'schedule' does not apply to the tensor strategy"),
            std::string::npos);
  EXPECT_NE(error_of("name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
                     "parallel: {strategy: hybrid, tp: 2, stage: 2}\n")
                .find("expected ZeRO stage between 0 and 1, got 2"),
            std::string::npos);
}

}  // namespace
}  // namespace clustertwin::work
