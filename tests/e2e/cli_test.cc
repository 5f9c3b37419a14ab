// End-to-end tests of the clustertwin binary: predict, run --local, compare, and bad input.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/format.h"
#include "run_cli.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;

using clustertwin::cli_test::src;
using clustertwin::cli_test::fixture;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class EndToEnd : public test::TempDirTest {
 protected:
};

TEST_F(EndToEnd, PredictRunCompare) {
  const std::string common = fmt::format("-t {} -w {} --micro-batch 1 --steps 2", fixture("local-3-fast.yaml"),
                                         src("workloads/examples/ddp-gpt2.yaml"));
  Result p = run(fmt::format("predict {} -o {}", common, out("pred")));
  // The executor-only build (-DCLUSTERTWIN_SIM=OFF, for Macs and Pis) has no simulator to compare with.
  if (p.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << p.output;
  ASSERT_EQ(p.code, 0) << p.output;
  Result m = run(fmt::format("run --local 3 --compute modelled {} -o {}", common, out("meas")));
  ASSERT_EQ(m.code, 0) << m.output;
  Result c = run(fmt::format("compare {} {} -o {}", out("pred"), out("meas"), out("cmp")));
  ASSERT_EQ(c.code, 0) << c.output;

  for (const char* run_dir : {"pred", "meas"}) {
    auto summary = read_json(dir_ / run_dir / "summary.json");
    EXPECT_GT(summary.at("step_time_s").at("mean").get<double>(), 0) << run_dir;
    EXPECT_EQ(summary.at("world"), 3);
    EXPECT_EQ(summary.at("step_time_s").at("per_step").size(), 2u);
    auto trace = read_json(dir_ / run_dir / "trace.json");
    ASSERT_TRUE(trace.contains("traceEvents")) << run_dir;
    EXPECT_GT(trace.at("traceEvents").size(), 3u * 2 * 30);  // 3 ranks x 2 steps x ~30 ops
  }
  // Both backends ran the same Program.
  EXPECT_EQ(read_json(dir_ / "pred/summary.json").at("program_hash"), read_json(dir_ / "meas/summary.json").at("program_hash"));
  // The measured run streamed one line per (step, rank).
  std::ifstream steps(dir_ / "meas/steps.jsonl");
  int lines = 0;
  for (std::string l; std::getline(steps, l);) {
    ++lines;
    EXPECT_NO_THROW(nlohmann::json::parse(l)) << l;
  }
  EXPECT_EQ(lines, 2 * 3);

  std::ifstream in(dir_ / "cmp/report.md");
  std::stringstream report;
  report << in.rdbuf();
  auto pred_step = read_json(dir_ / "pred/summary.json").at("step_time_s").at("mean").get<double>();
  EXPECT_NE(report.str().find("| step time (mean) |"), std::string::npos) << report.str();
  EXPECT_NE(report.str().find(fmt::format("{:.2f} ms", pred_step * 1e3)), std::string::npos)
      << "predicted step time missing\n" << report.str();
}

TEST_F(EndToEnd, CorruptedContributionFailsTheRun) {
  Result r = run(fmt::format("run --local 3 --compute modelled -t {} -w {} --micro-batch 1 --steps 1 --corrupt-rank 1 -o {}",
                             fixture("local-3-fast.yaml"), src("workloads/examples/ddp-gpt2.yaml"), out("meas")));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("grad.allreduce"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "meas/summary.json"));
}

TEST_F(EndToEnd, UnknownKeyIsAnInputError) {
  Result r = run(fmt::format("predict -t {} -w {} -o {}", fixture("unknown-key.yaml"), src("workloads/examples/ddp-gpt2.yaml"), out("x")));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, fmt::format("{}:5:5: error: unknown key 'forward' in a node\n"
                                  "      forward: true\n"
                                  "      ^\n"
                                  "hint: did you mean 'forwards'?\n",
                                  fixture("unknown-key.yaml")));
}

TEST_F(EndToEnd, WrongUnitIsAnInputError) {
  Result r = run(fmt::format("predict -t {} -w {} -o {}", fixture("wrong-unit.yaml"), src("workloads/examples/ddp-gpt2.yaml"), out("x")));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output.substr(0, r.output.find('\n')),
            fmt::format("{}:8:16: error: expected bandwidth to be a bandwidth with its unit, like 40Gbps or 2.5GB/s, got 'fast'",
                        fixture("wrong-unit.yaml")));
}

TEST_F(EndToEnd, MissingFileIsAnInputError) {
  Result r = run(fmt::format("predict -t {} -w {} -o {}", out("none.yaml"), src("workloads/examples/ddp-gpt2.yaml"), out("x")));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, fmt::format("{}: error: cannot open file: No such file or directory\n"
                                  "hint: check the path given to -t/--topology\n",
                                  out("none.yaml")));
}

TEST_F(EndToEnd, MissingFlagIsAUsageError) {
  Result r = run("predict -t x.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--workload is required"), std::string::npos) << r.output;
}

TEST_F(EndToEnd, InterleavedMicroBatchesThatDoNotFitTheStagesAreAnInputErrorInEveryCommand) {
  const std::string inputs = fmt::format("-t {} -w {}", fixture("local-3-fast.yaml"), fixture("interleaved-4-on-3.yaml"));
  for (const std::string& command : {fmt::format("predict {} -o {}", inputs, out("x")), "explain " + inputs,
                                     fmt::format("check {} {}", fixture("local-3-fast.yaml"), fixture("interleaved-4-on-3.yaml"))}) {
    Result r = run(command);
    EXPECT_EQ(r.code, 2) << command << "\n" << r.output;
    EXPECT_NE(r.output.find(fmt::format("{}:7:11: error: the interleaved schedule needs micro_batches to be a multiple of pp (3)",
                                        fixture("interleaved-4-on-3.yaml"))),
              std::string::npos)
        << command << "\n" << r.output;
    EXPECT_EQ(r.output.find("map::at"), std::string::npos) << r.output;
  }
}

TEST_F(EndToEnd, InferencePredictionPrintsDecodeAndPrefillRatesApart) {
  Result p = run(fmt::format("predict -t {} -w {} -o {}", fixture("local-3-fast.yaml"), fixture("infer-llama-1b-replicas.yaml"),
                             out("pred")));
  if (p.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << p.output;
  ASSERT_EQ(p.code, 0) << p.output;
  // from the per-step times: the prefill step processes 3 replicas x 2 prompts x 64 tokens; each of
  // the 3 decode steps one token per sequence (6)
  auto steps = read_json(dir_ / "pred/summary.json").at("step_time_s").at("per_step").get<std::vector<double>>();
  ASSERT_EQ(steps.size(), 4u);
  const double decode = steps[1] + steps[2] + steps[3];
  EXPECT_NE(p.output.find(fmt::format("throughput  decode {:.1f} tokens/s, prefill {:.0f} tokens/s, time to first token {}\n",
                                      6 * 3 / decode, 3 * 2 * 64 / steps[0], clustertwin::core::format_seconds(steps[0]))),
            std::string::npos)
      << p.output;
}

// Every prediction states its energy from the device presets: two Mac minis M4 at their preset's
// 42 W under load (presets.yaml) draw 84 W, so a step costs 84 W x its mean time.
TEST_F(EndToEnd, PredictionStatesEnergyFromDevicePower) {
  Result p = run(fmt::format("predict -t {} -w {} --micro-batch 1 --steps 1 -o {}", src("topologies/examples/two-minis-1gbe.yaml"),
                             src("workloads/examples/ddp-gpt2.yaml"), out("pred")));
  if (p.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << p.output;
  ASSERT_EQ(p.code, 0) << p.output;
  const auto summary = read_json(dir_ / "pred/summary.json");
  const double step = summary.at("step_time_s").at("mean").get<double>();
  const auto& energy = summary.at("energy");
  EXPECT_DOUBLE_EQ(energy.at("watts").get<double>(), 2 * 42.0);
  EXPECT_NEAR(energy.at("joules_per_step").get<double>(), 84 * step, 1e-9 * step);
  EXPECT_NEAR(energy.at("joules_per_token").get<double>(), 84 / summary.at("tokens_per_s").get<double>(), 1e-9);
  EXPECT_NE(p.output.find("energy      84 W at the wall"), std::string::npos) << p.output;
  std::ifstream html(dir_ / "pred/report.html");
  const std::string report{std::istreambuf_iterator<char>(html), {}};
  EXPECT_NE(report.find("</b> energy: 84 W at the wall"), std::string::npos);
}

// Expert parallel runs on both backends: the executor moves and checks the all-to-alls' real bytes.
TEST_F(EndToEnd, ExpertParallelInferenceRunsOnTheExecutorAndTheSimulator) {
  const std::string topo = fixture("local-3-fast.yaml"), work = fixture("infer-tiny-moe-expert.yaml");
  Result r = run(fmt::format("run --local 3 -t {} -w {} -o {}", topo, work, out("run")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_json(dir_ / "run/summary.json").at("step_time_s").at("per_step").size(), 4u);
  Result p = run(fmt::format("predict -t {} -w {} -o {}", topo, work, out("pred")));
  if (p.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << p.output;
  ASSERT_EQ(p.code, 0) << p.output;
}

TEST_F(EndToEnd, LocalWorkerCountMustMatchTopology) {
  Result r = run(fmt::format("run --local 2 -t {} -w {} -o {}", fixture("local-3-fast.yaml"),
                             src("workloads/examples/ddp-gpt2.yaml"), out("x")));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--local: error: 2 local workers requested, but topology 'local-3-fast' has 3"), std::string::npos)
      << r.output;
}

}  // namespace
