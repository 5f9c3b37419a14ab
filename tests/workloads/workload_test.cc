#include "workloads/workload.h"

#include <gtest/gtest.h>

namespace clustertwin::work {
namespace {

TEST(Workload, ExampleLoads) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/ddp-gpt2.yaml");
  EXPECT_EQ(w.model.name, "gpt2-124m");
  EXPECT_EQ(w.micro_batch, 8);
  EXPECT_EQ(w.seq_len, 1024);
  EXPECT_EQ(w.precision.gradients, core::DType::F32);
  EXPECT_EQ(w.parallel.strategy, Strategy::Ddp);
  EXPECT_EQ(w.parallel.bucket_bytes, 0);
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
