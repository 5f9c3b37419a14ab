// End-to-end: `clustertwin probe` on loopback writes a calibration overlay that predict, compare
// and the reports take and state; its --help says what it touches.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "temp_dir.h"

namespace {

using clustertwin::cli_test::has;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;

using clustertwin::cli_test::src;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ProbeCli : public test::TempDirTest {};

TEST_F(ProbeCli, LocalQuickWritesACalibrationThatPredictTakes) {
  const std::string topology = src("topologies/examples/local-3.yaml");
  const std::string cal = out("calibration.yaml");
  Result r = run(fmt::format("probe -t {} --local 3 --quick -o {}", topology, cal));
  ASSERT_EQ(r.code, 0) << r.output;
  // Progress on stderr as it goes, a table per pair with the spread, the devices, the file.
  EXPECT_TRUE(has(r, "probe: [")) << r.output;
  EXPECT_TRUE(has(r, "pair 3/3 rank1 <-> rank2 (via switch)")) << r.output;
  EXPECT_TRUE(has(r, "one-way min")) << r.output;
  EXPECT_TRUE(has(r, "rms residual")) << r.output;
  EXPECT_TRUE(has(r, "# device rank2: sgemm")) << r.output;
  EXPECT_TRUE(has(r, fmt::format("wrote {} (6 link directions, 0 forwarders, 3 devices)", cal))) << r.output;
  const std::string text = read(cal);
  EXPECT_EQ(count(text, "  - from: "), 6u) << text;  // each rank's link to the loopback "switch", both ways
  EXPECT_EQ(count(text, "    flops: "), 3u) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("\nmeasured: 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\n"))) << text;
  EXPECT_TRUE(has({0, text}, "how: \"clustertwin probe --quick (3 local worker processes over loopback TCP")) << text;
  if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without the simulator: predict is not there";

  const std::string workload = src("workloads/examples/ddp-gpt2.yaml");
  Result plain = run(fmt::format("predict -t {} -w {} -o {} --steps 1 --micro-batch 1", topology, workload, out("plain")));
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_TRUE(has(plain, "figures     uncalibrated (preset figures)")) << plain.output;
  Result p = run(fmt::format("predict -t {} -w {} -o {} --steps 1 --micro-batch 1 --calibration {}", topology, workload,
                             out("calibrated"), cal));
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_TRUE(has(p, fmt::format("figures     calibrated with {} (measured 20", cal))) << p.output;
  auto summary = nlohmann::json::parse(read(out("calibrated/summary.json")));
  EXPECT_EQ(summary.at("calibration").get<std::string>().rfind("calibrated with " + cal, 0), 0u);
  EXPECT_TRUE(std::filesystem::exists(out("calibrated/calibration.yaml")));
  // compare and the report say which prediction was calibrated, and from when.
  Result c = run(fmt::format("compare {} {} -o {}", out("calibrated"), out("plain"), out("cmp")));
  ASSERT_EQ(c.code, 0) << c.output;
  EXPECT_TRUE(has(c, "(calibrated with " + cal)) << c.output;
  EXPECT_TRUE(has(c, "(uncalibrated (preset figures))")) << c.output;
  const std::string md = read(out("cmp/report.md"));
  EXPECT_TRUE(has({0, md}, "; calibrated with " + cal + " (measured 20")) << md;
  EXPECT_FALSE(has({0, md}, "was not used")) << md;  // the topology copy found its overlay beside it
  EXPECT_TRUE(has({0, read(out("cmp/report.html"))}, "; uncalibrated (preset figures))"));
  EXPECT_TRUE(has({0, read(out("cmp/report.html"))}, "; calibrated with " + cal));
  // bench's predicted column takes it too.
  Result b = run(fmt::format("bench allreduce --local 3 -b 1K -e 1K -n 1 -w 0 -t {} --predict --calibration {}", topology, cal));
  ASSERT_EQ(b.code, 0) << b.output;
  EXPECT_TRUE(has(b, "# predicted figures: calibrated with " + cal)) << b.output;
}

// A calibration written by hand: every hop of local-3 (rank -> the loopback "switch" -> rank) at
// 1 MB/s and 1 ms. bench predicts with it, and beside it with the presets.
TEST_F(ProbeCli, BenchPredictsWithTheCalibrationAndBesideItWithThePresets) {
  if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without the simulator";
  const std::string cal = out("slow.yaml");
  std::string links;
  for (const char* r : {"rank0", "rank1", "rank2"})
    links += fmt::format("  - {{from: {0}, to: lo, goodput: 1MB/s, latency: 1ms, overhead: 0us}}\n"
                         "  - {{from: lo, to: {0}, goodput: 1MB/s, latency: 1ms, overhead: 0us}}\n", r);
  std::ofstream(cal) << "calibration: 1\ntopology: local-3\nmeasured: 2026-12-03T12:00:00Z\nhow: by hand\nlinks:\n" << links;
  const std::string json = out("bench.json");
  Result b = run(fmt::format("bench allreduce --local 3 -b 1K -e 1K -n 1 -w 0 -t {} --predict --calibration {} --json {}",
                             src("topologies/examples/local-3.yaml"), cal, json));
  ASSERT_EQ(b.code, 0) << b.output;
  EXPECT_TRUE(has(b, "# presets: the same prediction on the preset figures, without the calibration")) << b.output;
  auto row = nlohmann::json::parse(read(json))["rows"][0];
  // Ring of 3 over 1 KiB (256 floats in chunks of 86, 85, 85): 2 x 2 steps, each 2 hops of 1 ms
  // and its largest chunk, 344 B, at 1 MB/s.
  EXPECT_NEAR(row["predicted_time_us"].get<double>(), 4 * (2000 + 344), 0.01 * 4 * 2344) << row.dump();
  // The presets' loopback is 6.9 Gb/s and 10 us a hop: two orders of magnitude faster.
  EXPECT_LT(row["presets_time_us"].get<double>(), 200) << row.dump();
}

// run --calibration: modelled compute sleeps for the calibrated device figures (here a tenth of
// the preset's FLOP/s), as predict --calibration models them, and the run records it.
TEST_F(ProbeCli, RunModelsComputeWithTheCalibratedDevices) {
  if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without the simulator";
  const std::string cal = out("devices.yaml");
  std::ofstream(cal) << "calibration: 1\ntopology: local-3\nmeasured: 2026-12-03T12:00:00Z\nhow: by hand\ndevices:\n"
                        "  - {node: rank0, flops: 10GFLOP/s}\n  - {node: rank1, flops: 10GFLOP/s}\n"
                        "  - {node: rank2, flops: 10GFLOP/s}\n";
  const std::string t = src("topologies/examples/local-3.yaml"), w = src("tests/fidelity/ddp.yaml");
  auto compute = [&](const std::string& dir) {
    return nlohmann::json::parse(read(dir + "/summary.json"))["breakdown_s"]["compute"].get<double>();
  };
  Result slow = run(fmt::format("run --local 3 -t {} -w {} --compute modelled --steps 1 --calibration {} -o {}", t, w, cal,
                                out("slow")));
  ASSERT_EQ(slow.code, 0) << slow.output;
  EXPECT_TRUE(has(slow, "figures     calibrated with " + cal)) << slow.output;
  Result plain = run(fmt::format("run --local 3 -t {} -w {} --compute modelled --steps 1 -o {}", t, w, out("plain")));
  ASSERT_EQ(plain.code, 0) << plain.output;
  Result pred = run(fmt::format("predict -t {} -w {} --steps 1 --calibration {} -o {}", t, w, cal, out("pred")));
  ASSERT_EQ(pred.code, 0) << pred.output;
  EXPECT_GT(compute(out("slow")), 5 * compute(out("plain")));
  EXPECT_NEAR(compute(out("slow")), compute(out("pred")), 0.1 * compute(out("pred")));
}

TEST_F(ProbeCli, HelpSaysPortsTimeAndWhatItLeaves) {
  Result r = run("probe --help");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* flag : {"-t,--topology", "-o,--out", "--quick", "--local", "--emulated", "--ssh-command", "--budget"})
    EXPECT_TRUE(has(r, flag)) << flag << "\n" << r.output;
  EXPECT_TRUE(has(r, "Ports:")) << r.output;
  EXPECT_TRUE(has(r, "Leaves behind: nothing")) << r.output;
}

TEST_F(ProbeCli, LocalCountMustBeTheTopologysRanks) {
  Result r = run(fmt::format("probe -t {} --local 2 --quick", src("topologies/examples/local-3.yaml")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, "--local: error: topology 'local-3' runs 3 ranks, but --local starts 2")) << r.output;
  EXPECT_TRUE(has(r, "hint: --local 3")) << r.output;
}

}  // namespace
