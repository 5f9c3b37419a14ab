// Other tools' measurements: fixtures in fixtures/ are hand-written in the formats interop/measured.h
// names, with round figures so the expectations are read off the files (512 prompt tokens at 500
// tokens/s is 1.024 s to the first token).
#include "interop/measured.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "temp_dir.h"

namespace clustertwin::interop {
namespace {

const std::string kDir = std::string(CLUSTERTWIN_SOURCE_DIR) + "/tests/interop/fixtures/";

MeasuredImport named(const std::string& topology, const std::string& workload = "") {
  MeasuredImport o;
  o.topology = topology;
  o.workload = workload;
  return o;
}

MeasuredImport as(const std::string& format) {
  MeasuredImport o;
  o.format = format;
  return o;
}

MeasuredRun load(const std::string& fixture, const MeasuredImport& o = {}) { return load_measured(kDir + fixture, o); }

std::string error_of(const std::string& fixture, const MeasuredImport& o = {}) {
  try {
    load(fixture, o);
  } catch (const core::InputError& e) {
    std::string s = e.what();
    for (auto at = s.find(kDir); at != std::string::npos; at = s.find(kDir)) s.replace(at, kDir.size(), "");
    return s;
  }
  return "no error";
}

TEST(Measured, LlamaBenchJsonAndCsvGiveTheSameFigures) {
  for (const char* f : {"llama-bench.json", "llama-bench.csv"}) {
    SCOPED_TRACE(f);
    const MeasuredRun r = load(f);
    EXPECT_EQ(r.tool, "llama-bench");
    EXPECT_DOUBLE_EQ(r.decode_tokens_per_second, 80.0);    // the tg128 test's avg_ts
    EXPECT_DOUBLE_EQ(r.prefill_tokens_per_second, 500.0);  // the pp512 test's avg_ts
    EXPECT_DOUBLE_EQ(r.time_to_first_token, 512 / 500.0);
    EXPECT_EQ(r.prompt_tokens, 512);
    EXPECT_EQ(r.generated_tokens, 128);
    EXPECT_EQ(r.workload, "qwen3moe 30B.A3B Q4_K - Medium");
    ASSERT_EQ(r.notes.size(), 1u);  // llama-bench runs batch 1, said so
    EXPECT_NE(r.notes[0].find("batch 1"), std::string::npos);
  }
  EXPECT_EQ(load("llama-bench.json", named("mini", "infer-qwen3")).workload, "infer-qwen3");
}

TEST(Measured, MlxLmGenerateAndBenchmark) {
  const MeasuredRun g = load("mlx-lm-generate.txt");
  EXPECT_EQ(g.tool, "mlx_lm.generate");
  EXPECT_DOUBLE_EQ(g.decode_tokens_per_second, 64.0);
  EXPECT_DOUBLE_EQ(g.prefill_tokens_per_second, 640.0);
  EXPECT_DOUBLE_EQ(g.time_to_first_token, 0.8);
  EXPECT_DOUBLE_EQ(g.peak_memory, 17.5e9);
  const MeasuredRun b = load("mlx-lm-benchmark.txt");
  EXPECT_EQ(b.tool, "mlx_lm.benchmark");
  EXPECT_DOUBLE_EQ(b.decode_tokens_per_second, 70.0);  // the Averages line, not a trial
  EXPECT_DOUBLE_EQ(b.prefill_tokens_per_second, 1020.0);
  EXPECT_DOUBLE_EQ(b.peak_memory, 17.41e9);
  EXPECT_EQ(b.generated_tokens, 128);
}

TEST(Measured, ExoStage) {
  const MeasuredRun r = load("exo-bench.json");
  EXPECT_EQ(r.tool, "exo bench");
  EXPECT_DOUBLE_EQ(r.decode_tokens_per_second, 53.33);
  EXPECT_DOUBLE_EQ(r.time_to_first_token, 0.8);
  EXPECT_DOUBLE_EQ(r.prefill_tokens_per_second, 512 / 0.8);  // derived, and said so
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.workload, "mlx-community/Qwen3-30B-A3B-4bit");
}

TEST(Measured, RunDirectoryHoldsStepLevelFigures) {
  test::TempDir dir;
  write_measured_run(dir.out("run"), load("llama-bench.json", named("mini")));
  std::ifstream in(dir.out("run/summary.json"));
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["backend"], "measured");
  EXPECT_EQ(j["topology"], "mini");
  EXPECT_DOUBLE_EQ(j["decode_tokens_per_s"], 80.0);
  EXPECT_DOUBLE_EQ(j["step_time_s"]["mean"], 1 / 80.0);  // one decode step per token
  EXPECT_EQ(j["imported"]["tool"], "llama-bench");
  EXPECT_FALSE(std::filesystem::exists(dir.out("run/trace.json")));
}

TEST(Measured, BadInputSaysWhereAndWhatWasExpected) {
  EXPECT_EQ(error_of("llama-bench-bad.csv"),
            "llama-bench-bad.csv:3:55: error: 'avg_ts' is 'fast': expected a number\n"
            "  \"3f1ae2e3\",\"qwen3moe 30B.A3B Q4_K - Medium\",\"0\",\"128\",\"fast\",\"0.625000\"\n"
            "                                                        ^\n"
            "hint: llama-bench writes these with -o json or -o csv (its tests: -p for prefill, -n for decode)");
  EXPECT_EQ(error_of("mlx-lm-malformed.txt"),
            "mlx-lm-malformed.txt:2:1: error: malformed line: expected 'Generation: N tokens, X tokens-per-sec'\n"
            "  Generation: 128 tokens, lots tokens-per-sec\n"
            "  ^\n"
            "hint: save what mlx_lm.generate prints (--verbose, the default: the 'Prompt:', 'Generation:' and 'Peak "
            "memory:' lines) or what mlx_lm.benchmark prints (its 'Averages:' line)");
  const std::string unknown = error_of("unknown.csv");
  EXPECT_EQ(unknown.substr(0, unknown.find('\n')),
            "unknown.csv:1:1: error: not a file `import measured` reads (neither JSON, nor a llama-bench CSV header, nor "
            "mlx_lm output)");
  EXPECT_NE(unknown.find("hint: expected one of: llama-bench -o json or -o csv"), std::string::npos) << unknown;
  const std::string wrong_json = error_of("mlx-jaccl-4-studios.json");  // JSON, but an MLX hostfile
  EXPECT_NE(wrong_json.find("mlx-jaccl-4-studios.json:1:1: error: a JSON object that is neither llama-bench's test list "
                            "nor exo's benchmark results"),
            std::string::npos)
      << wrong_json;
  const std::string missing = error_of("mlx-ethernet.json", as("llama-bench-json"));
  EXPECT_NE(missing.find("mlx-ethernet.json:2:5: error:"), std::string::npos) << missing;
  EXPECT_NE(missing.find("n_prompt"), std::string::npos) << missing;
}

}  // namespace
}  // namespace clustertwin::interop
