// The fidelity loop, as a user with a cluster runs it: `emulate up --delay` builds the topology
// as network namespaces with shaped, delayed links; `probe` measures it into a calibration;
// `predict --calibration` and `bench --predict --calibration` predict each case; `run` and
// `bench` measure it on the same emulation; `compare --max-error` judges. The prediction from the
// preset figures is made beside it, so the table shows what probing buys. Needs root (skipped
// with a message otherwise); every namespace carries this process's prefix and is removed after
// each topology, also when an assertion failed.
//
// Cases: all-reduce per size (ring, tree, halving-doubling), DDP with buckets, a 1F1B pipeline,
// tensor-parallel decode, on a mesh of 4, a chain of 3 with a software forwarder, seed 000's
// Thunderbolt star and seed 001's hybrid with Pis behind forwarding minis.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "run_cli.h"
#include "temp_dir.h"

namespace clustertwin {
namespace {
using cli_test::has;
using cli_test::Result;
using cli_test::src;

// The bar for calibrated predictions: every case within 5 %, their mean within 2 %.
constexpr double kWorstPercent = 5, kMeanPercent = 2;

struct Case {
  std::string topology, name;
  double measured_s = 0, calibrated_s = 0, presets_s = 0;
  double calibrated_error() const { return 100 * (calibrated_s - measured_s) / measured_s; }
  double presets_error() const { return 100 * (presets_s - measured_s) / measured_s; }
};

std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

std::string table(const std::vector<Case>& all) {
  std::string out = fmt::format("# {:<11} {:<34} {:>11} {:>11} {:>8} {:>11} {:>8}\n", "topology", "case", "measured",
                                "calibrated", "error", "presets", "error");
  for (const auto& c : all)
    out += fmt::format("  {:<11} {:<34} {:>9.3f}ms {:>9.3f}ms {:>+7.1f}% {:>9.3f}ms {:>+7.1f}%\n", c.topology, c.name,
                       c.measured_s * 1e3, c.calibrated_s * 1e3, c.calibrated_error(), c.presets_s * 1e3,
                       c.presets_error());
  return out;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

double step_mean(const std::string& run_dir) {
  auto j = read_json(run_dir + "/summary.json");
  return j.is_discarded() ? 0 : j["step_time_s"]["mean"].get<double>();
}

class Fidelity : public test::TempDirTest {
 protected:
  void SetUp() override {
    test::TempDirTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "fidelity: skipped: emulated clusters need root (network namespaces)";
    prefix_ = fmt::format("ct-f{}-", ::getpid());
  }
  void TearDown() override {
    if (!topology_.empty()) cli_test::run(fmt::format("emulate down {} --prefix {}", topology_, prefix_));
    test::TempDirTest::TearDown();
  }

  // Brings the topology up with its delays and probes it into calibration.yaml.
  void up_and_probe(const std::string& file) {
    topology_ = src("tests/fidelity/" + file);
    name_ = file.substr(0, file.find('.'));
    Result up = cli_test::run(fmt::format("emulate up --delay {} --prefix {}", topology_, prefix_));
    ASSERT_EQ(up.code, 0) << up.output;
    std::cout << up.output;
    calibration_ = out("calibration.yaml");
    Result probe = cli_test::run(
        fmt::format("probe --emulated --prefix {} -t {} --quick -o {}", prefix_, topology_, calibration_));
    ASSERT_EQ(probe.code, 0) << probe.output;
    std::cout << probe.output.substr(probe.output.rfind("wrote"));
  }

  // bench allreduce with both predictions; every size is a case.
  void bench(const std::string& algorithm, const std::string& max = "1M") {
    const std::string json = out("bench-" + algorithm + ".json");
    Result r = cli_test::run(fmt::format(
        "bench allreduce --emulated --prefix {} -t {} --algorithm {} -b 64 -e {} -f 16 -n 5 -w 1 --predict "
        "--calibration {} --json {}",
        prefix_, topology_, algorithm, max, calibration_, json));
    ASSERT_EQ(r.code, 0) << r.output;
    std::cout << r.output;
    auto j = read_json(json);
    ASSERT_FALSE(j.is_discarded()) << json;
    for (const auto& row : j["rows"]) {
      ASSERT_TRUE(row.contains("predicted_time_us") && row.contains("presets_time_us")) << row.dump();
      cases().push_back({name_, fmt::format("allreduce {} {}", algorithm, row["size_bytes"].get<uint64_t>()),
                         row["time_us"].get<double>() * 1e-6, row["predicted_time_us"].get<double>() * 1e-6,
                         row["presets_time_us"].get<double>() * 1e-6});
    }
  }

  // A workload: predicted with and without the calibration, run with modelled compute (the
  // calibration's device figures), compared with --max-error.
  void workload(const std::string& file) {
    const std::string w = src("tests/fidelity/" + file), stem = file.substr(0, file.find('.'));
    const std::string cal = out(stem + "-calibrated"), pre = out(stem + "-presets"), meas = out(stem + "-measured");
    Result p1 = cli_test::run(fmt::format("predict -t {} -w {} --calibration {} -o {}", topology_, w, calibration_, cal));
    ASSERT_EQ(p1.code, 0) << p1.output;
    Result p2 = cli_test::run(fmt::format("predict -t {} -w {} -o {}", topology_, w, pre));
    ASSERT_EQ(p2.code, 0) << p2.output;
    Result m = cli_test::run(fmt::format("run --emulated --prefix {} -t {} -w {} --compute modelled --calibration {} -o {}",
                                         prefix_, topology_, w, calibration_, meas));
    ASSERT_EQ(m.code, 0) << m.output;
    Case c{name_, stem, step_mean(meas), step_mean(cal), step_mean(pre)};
    cases().push_back(c);
    Result cmp = cli_test::run(fmt::format("compare {} {} -o {} --max-error {}", cal, meas, out(stem + "-compare"), kWorstPercent));
    std::cout << cmp.output;
    EXPECT_TRUE(has(cmp, "(calibrated with")) << cmp.output;
    EXPECT_EQ(cmp.code, 0) << stem << " on " << name_ << ": " << cmp.output;
  }

  std::string topology_, name_, prefix_, calibration_;
};

TEST_F(Fidelity, MeshOfFour) {
  ASSERT_NO_FATAL_FAILURE(up_and_probe("mesh4.yaml"));
  for (const char* a : {"ring", "tree", "halving-doubling"}) ASSERT_NO_FATAL_FAILURE(bench(a));
  ASSERT_NO_FATAL_FAILURE(workload("ddp.yaml"));
}

TEST_F(Fidelity, ChainOfThreeWithAForwarder) {
  ASSERT_NO_FATAL_FAILURE(up_and_probe("chain3.yaml"));
  ASSERT_NO_FATAL_FAILURE(bench("ring"));
  ASSERT_NO_FATAL_FAILURE(workload("pipeline.yaml"));
}

TEST_F(Fidelity, ThunderboltStarOfThree) {
  ASSERT_NO_FATAL_FAILURE(up_and_probe("star3.yaml"));
  ASSERT_NO_FATAL_FAILURE(workload("tensor-decode.yaml"));
  ASSERT_NO_FATAL_FAILURE(workload("ddp.yaml"));
}

TEST_F(Fidelity, HybridWithPisBehindForwardingMinis) {
  ASSERT_NO_FATAL_FAILURE(up_and_probe("hybrid.yaml"));
  ASSERT_NO_FATAL_FAILURE(bench("ring", "256K"));
  ASSERT_NO_FATAL_FAILURE(workload("ddp.yaml"));
}

// After every topology: the table, and the bar over all cases.
class Summary : public ::testing::Environment {
 public:
  void TearDown() override {
    const auto& all = cases();
    if (all.empty()) return;
    double worst = 0, sum = 0, worst_presets = 0, sum_presets = 0;
    for (const auto& c : all) {
      worst = std::max(worst, std::abs(c.calibrated_error()));
      sum += std::abs(c.calibrated_error());
      worst_presets = std::max(worst_presets, std::abs(c.presets_error()));
      sum_presets += std::abs(c.presets_error());
    }
    const double mean = sum / static_cast<double>(all.size());
    std::cout << "\n# fidelity: predicted vs measured on emulated clusters, calibrated by probe (and from presets)\n"
              << table(all)
              << fmt::format("# {} cases: calibrated |error| mean {:.1f} %, worst {:.1f} %; presets mean {:.1f} %, worst {:.1f} %\n",
                             all.size(), mean, worst, sum_presets / static_cast<double>(all.size()), worst_presets);
    EXPECT_LE(worst, kWorstPercent) << "a calibrated case is off by more than " << kWorstPercent << " %";
    EXPECT_LE(mean, kMeanPercent) << "the calibrated cases are off by more than " << kMeanPercent << " % on average";
  }
};
const auto* const kSummary = ::testing::AddGlobalTestEnvironment(new Summary);

}  // namespace
}  // namespace clustertwin
