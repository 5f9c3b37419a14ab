// import / export as a user runs them: an MLX hostfile in (and `check` on what it wrote), a
// topology out, and a llama-bench result compared with a prediction.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;
using clustertwin::cli_test::src;

std::string fixture(const std::string& name) { return src("tests/interop/fixtures/" + name); }

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class InteropCli : public test::TempDirTest {};

TEST_F(InteropCli, HostfileWithoutAnRdmaPairImportsAndCheckNamesThePair) {
  Result imp = run(fmt::format("import mlx-hostfile {} --device mac-studio-m3-ultra -o {}",
                               fixture("mlx-jaccl-missing-pair.json"), out("cluster.yaml")));
  EXPECT_EQ(imp.code, 0) << imp.output;
  EXPECT_NE(imp.output.find("wrote " + out("cluster.yaml") + " (4 nodes, 5 links); `clustertwin check` finds 1 error"),
            std::string::npos)
      << imp.output;
  Result check = run("check " + out("cluster.yaml"));
  EXPECT_NE(check.code, 0) << check.output;
  EXPECT_NE(check.output.find("[T003 rdma-not-direct] 'm3-ultra-1' and 'm3-ultra-3' (ranks 0 and 2) exchange data"),
            std::string::npos)
      << check.output;
}

TEST_F(InteropCli, ExportRefusesJacclOnThunderbolt4) {
  Result r = run("export mlx-hostfile " + src("topologies/examples/tb4-star-3minis.yaml") + " --backend jaccl");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'mini1' and 'mini2' have a 'tb4' link (TCP, not RDMA)"), std::string::npos) << r.output;
  Result ok = run("export mlx-hostfile " + src("topologies/examples/mesh-4-studios-rdma.yaml") + " -o " + out("h.json"));
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_EQ(nlohmann::json::parse(read(out("h.json")))["hosts"].size(), 4u);
}

TEST_F(InteropCli, CompareWithLlamaBenchHasDecodeAndPrefillRowsAndNoPerOpSections) {
  if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without SimGrid (-DCLUSTERTWIN_SIM=OFF): nothing to predict";
  std::ofstream(out("one.yaml")) << "name: one-mini\nnodes:\n  - {name: mini, device: mac-mini-m4-pro}\n";
  Result pred = run(fmt::format("predict -t {} -w {} -o {}", out("one.yaml"),
                                src("workloads/examples/infer-qwen3-30b-a3b.yaml"), out("pred")));
  ASSERT_EQ(pred.code, 0) << pred.output;
  Result imp = run(fmt::format("import measured {} -o {} -t one-mini", fixture("llama-bench.json"), out("meas")));
  ASSERT_EQ(imp.code, 0) << imp.output;
  Result cmp = run(fmt::format("compare {} {} -o {}", out("pred"), out("meas"), out("cmp")));
  ASSERT_EQ(cmp.code, 0) << cmp.output;

  // --max-error against a tool's figures gates on the decode rate it measured.
  Result gate = run(fmt::format("compare {} {} -o {} --max-error 1", out("pred"), out("meas"), out("cmp-gate")));
  EXPECT_EQ(gate.code, 1) << gate.output;
  EXPECT_NE(gate.output.find("compare: the decode tokens/s error"), std::string::npos) << gate.output;

  const auto predicted = nlohmann::json::parse(read(out("pred/summary.json")));
  const double decode = predicted["decode_tokens_per_s"], prefill = predicted["prefill_tokens_per_s"];
  const std::string md = read(out("cmp/report.md"));
  // Measured: the tg128 test's 80 tokens/s and the pp512 test's 500; the error against them.
  EXPECT_NE(md.find(fmt::format("| decode tokens/s | {:.2f} | 80.00 | {:+.2f} | {:+.1f} % |", decode, decode - 80,
                                (decode - 80) / 80 * 100)),
            std::string::npos)
      << md;
  EXPECT_NE(md.find(fmt::format("| prefill tokens/s | {:.2f} | 500.00 | {:+.2f} | {:+.1f} % |", prefill, prefill - 500,
                                (prefill - 500) / 500 * 100)),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| time to first token |"), std::string::npos) << md;
  for (const char* section : {"## Per phase", "## Per collective", "## Per rank", "## Per route", "## Worst offenders"})
    EXPECT_EQ(md.find(section), std::string::npos) << section << " in\n" << md;
  EXPECT_NE(md.find("## Not compared"), std::string::npos) << md;
  EXPECT_EQ(md.find("| step | predicted"), std::string::npos) << md;  // no per-step series in a tool's summary
  EXPECT_NE(md.find("| samples/s | "), std::string::npos) << md;
  EXPECT_NE(md.find(" | - | - | not in run measured |"), std::string::npos) << md;  // samples/s: llama-bench has none
  EXPECT_EQ(md.find("different Programs"), std::string::npos) << md;

  const std::string csv = read(out("cmp/summary.csv"));
  EXPECT_NE(csv.find(fmt::format("run,all,decode_tokens_per_s,1/s,{:.9g},80,", decode)), std::string::npos) << csv;
  EXPECT_EQ(csv.find("step,0,time"), std::string::npos) << csv;

  // The imported run alone: its own figures, still no per-op sections.
  Result alone = run(fmt::format("report {} -o {}", out("meas"), out("alone")));
  ASSERT_EQ(alone.code, 0) << alone.output;
  const std::string single = read(out("alone/report.md"));
  EXPECT_NE(single.find("| decode tokens/s | 80.00 |"), std::string::npos) << single;
  EXPECT_EQ(single.find("## Per phase"), std::string::npos) << single;
  EXPECT_EQ(single.find("0 ranks"), std::string::npos) << single;

  const std::string html = read(out("cmp/report.html"));
  EXPECT_NE(html.find("<td>decode tokens/s</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>80.00</td>"), std::string::npos);
  for (const char* section : {"Step time breakdown", "Per-rank timelines", "Worst offenders"})
    EXPECT_EQ(html.find(section), std::string::npos) << section;
}

TEST_F(InteropCli, UnknownOrMalformedMeasurementsExitTwoNamingWhatWasExpected) {
  Result unknown = run(fmt::format("import measured {} -o {}", fixture("unknown.csv"), out("x")));
  EXPECT_EQ(unknown.code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("hint: expected one of: llama-bench -o json or -o csv"), std::string::npos) << unknown.output;
  Result bad = run(fmt::format("import measured {} -o {}", fixture("llama-bench-bad.csv"), out("y")));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("llama-bench-bad.csv:3:"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("error: 'avg_ts' is 'fast': expected a number"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(out("x")));
}

TEST_F(InteropCli, SmolclusterConfigsImportIntoWhatPredictAndRunAccept) {
  for (const char* algorithm : {"classicdp", "edp", "fsdp", "pipeline"}) {
    SCOPED_TRACE(algorithm);
    const std::string dir = out(algorithm);
    Result imp = run(fmt::format("import smolcluster {} -o {}", fixture(std::string("smolcluster/") + algorithm), dir));
    ASSERT_EQ(imp.code, 0) << imp.output;
    EXPECT_NE(imp.output.find("3 ranks"), std::string::npos) << imp.output;
    if (!CLUSTERTWIN_HAS_SIM) continue;  // the executor-only build has no simulator; `run` below still checks the files
    Result pred = run(fmt::format("predict -t {0}/topology.yaml -w {0}/workload.yaml -o {0}/pred", dir));
    EXPECT_EQ(pred.code, 0) << pred.output;
  }
  for (const char* algorithm : {"classicdp", "edp", "fsdp", "pipeline"}) {
    SCOPED_TRACE(algorithm);
    Result r = run(fmt::format("run --local 3 -t {0}/topology.yaml -w {0}/workload.yaml --compute modelled --steps 2 -o {0}/run",
                               out(algorithm)));
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(out(algorithm) + "/run/summary.json"));
  }
}

}  // namespace
