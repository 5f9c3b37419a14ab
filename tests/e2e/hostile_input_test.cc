// Issue 17, items 3-5, through the binary as a user runs it: inputs that were accepted wrongly or
// named wrongly, outputs that clobbered inputs or followed links, and inputs that exhausted memory or
// time. Every refusal exits 2 with file:line:col (or the flag) and a hint, within 2 s and 500 MB.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/run.h"
#include "run_cli.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

using clustertwin::cli_test::Result;
using clustertwin::cli_test::src;

const std::string kTopology = src("topologies/examples/local-3.yaml");
const std::string kWorkload = src("tests/e2e/corpus/tiny-ddp.yaml");

std::string contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The largest resident set of any child this test process waited for, in MB.
double children_peak_mb() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// CPU seconds (user + system) of the children waited for so far: what a refusal costs, unlike wall
// time, which on a shared 2-core machine under a parallel ctest measures the other jobs too.
double children_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

class HostileInput : public test::TempDirTest {
 protected:
  // Runs the binary and checks what every refusal must be: exit 2, under 2 s of CPU and 500 MB, a short
// message with a hint, no library text.
  Result refused(const std::string& args) {
    const double cpu_before = children_cpu_seconds();
    Result r = clustertwin::cli_test::run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output.substr(0, 2000);
    EXPECT_LT(children_cpu_seconds() - cpu_before, 2.0) << args;
    EXPECT_LT(children_peak_mb(), 500.0) << args;
    EXPECT_LT(r.output.size(), 2000u) << r.output.substr(0, 2000);
    for (const char* library : {"json.exception", "filesystem error", "terminate called", "yaml-cpp"})
      EXPECT_EQ(r.output.find(library), std::string::npos) << library << " in\n" << r.output;
    EXPECT_NE(r.output.find("hint: "), std::string::npos) << r.output;
    return r;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return out(name);
  }
  std::string predict(const std::string& topology, const std::string& workload, const std::string& out_dir) {
    return fmt::format("predict -t {} -w {} -o {}", topology, workload, out_dir);
  }
  // local-3 with node rank1 renamed (raw bytes, as a file would hold them).
  std::string topology_naming(const std::string& name) {
    std::string t = contents(kTopology);
    t.replace(t.find("name: rank1"), 11, "name: " + name);
    t.replace(t.find("[rank1, lo]"), 11, "[" + name + ", lo]");
    return write("named.yaml", t);
  }
};

// ---- item 4: wrong acceptance and wrong messages --------------------------------------------

TEST_F(HostileInput, ADirectoryGivenAsAnInputSaysItIsOne) {
  Result t = refused(predict(dir_.string(), kWorkload, out("o")));
  EXPECT_NE(t.output.find(dir_.string() + ": error: this is a directory, expected a file\n"
                                          "hint: check the path given to -t/--topology: name a file in it"),
            std::string::npos)
      << t.output;
  Result w = refused(predict(kTopology, dir_.string(), out("o")));
  EXPECT_NE(w.output.find("hint: check the path given to -w/--workload: name a file in it"), std::string::npos) << w.output;
}

TEST_F(HostileInput, InvalidUtf8InANameIsRefusedAtLoadAndNothingIsWritten) {
  Result r = refused(predict(topology_naming("rank\xff" "1"), kWorkload, out("o")));
  EXPECT_NE(r.output.find(out("named.yaml") + ":8:16: error: the file holds invalid UTF-8 (byte 0xff)"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(HostileInput, ControlAndBidiCharactersInNamesNeverReachTheTerminalRaw) {
  for (const std::string& name : {std::string("rank\xe2\x80\xae" "1"), std::string("rank\x1b[2J"), std::string("rank\0b", 6)}) {
    Result r = refused(predict(topology_naming(name), kWorkload, out("o")));
    EXPECT_NE(r.output.find(":8:16: error: the file holds "), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(name), std::string::npos) << "raw name echoed";
    for (char c : r.output) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << int(c);
  }
  // The same characters written as YAML escapes, in a quoted name.
  Result r = refused(predict(topology_naming("\"rank\\u202e1\""), kWorkload, out("o")));
  EXPECT_NE(r.output.find(":8:12: error: this value holds a bidirectional-text control (U+202E)"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("\xe2\x80\xae"), std::string::npos);
}

TEST_F(HostileInput, ZeroMemoryIsRefusedNotLeftUnchecked) {
  std::string t = contents(kTopology);
  t.replace(t.find("device: this-machine,"), 21, "device: this-machine, memory: 0GB,");
  Result r = refused(predict(write("t.yaml", t), kWorkload, out("o")));
  EXPECT_NE(r.output.find("error: expected memory between 1MB and 1000TB, got '0GB'"), std::string::npos) << r.output;
}

TEST_F(HostileInput, ADuplicateKeyNamesBothLines) {
  Result r = refused(predict(kTopology, write("w.yaml", contents(kWorkload) + "steps: 3\n"), out("o")));
  EXPECT_NE(r.output.find(out("w.yaml") + ":8:1: error: duplicate key 'steps': it is also at line 7"), std::string::npos)
      << r.output;
}

TEST_F(HostileInput, ADeeplyNestedFileGivesOneShortError) {
  Result r = refused(predict(write("deep.yaml", "name: " + std::string(100000, '[') + "\n"), kWorkload, out("o")));
  EXPECT_NE(r.output.find("error: invalid YAML: nested too deeply"), std::string::npos) << r.output.substr(0, 500);
}

// ---- item 5: outputs ---------------------------------------------------------------------------

TEST_F(HostileInput, AnOutputPathThatIsAFileNamesTheFlag) {
  const std::string file = write("existing", "keep");
  Result r = refused(predict(kTopology, kWorkload, file));
  EXPECT_NE(r.output.find("-o/--out: error: '" + file + "' exists and is not a directory"), std::string::npos) << r.output;
  Result under = refused(predict(kTopology, kWorkload, file + "/sub"));
  EXPECT_NE(under.output.find("-o/--out: error: cannot create the directory '" + file + "/sub': Not a directory"),
            std::string::npos)
      << under.output;
  EXPECT_EQ(contents(file), "keep");
}

TEST_F(HostileInput, AnOutputDirectoryThatCannotBeWrittenInNamesTheFlag) {
  Result r = refused(predict(kTopology, kWorkload, "/proc/self"));  // read-only even for root
  EXPECT_NE(r.output.find("-o/--out: error: cannot write in '/proc/self': "), std::string::npos) << r.output;
}

TEST_F(HostileInput, TheWorkloadInTheOutputDirectoryIsNotOverwritten) {
  const std::string workload = write("summary.json", contents(kWorkload));
  Result r = refused(predict(kTopology, workload, dir_.string()));
  EXPECT_NE(r.output.find("-o/--out: error: '" + workload + "' would replace the input"), std::string::npos) << r.output;
  EXPECT_EQ(contents(workload), contents(kWorkload));
}

TEST_F(HostileInput, ALinkInTheOutputDirectoryIsNotWrittenThrough) {
  const std::string target = write("precious", "keep");
  fs::create_directory(dir_ / "run");
  fs::create_symlink(target, dir_ / "run" / "trace.json");
  Result r = refused(predict(kTopology, kWorkload, out("run")));
  EXPECT_NE(r.output.find("-o/--out: error: '" + out("run/trace.json") + "' is a symbolic link"), std::string::npos)
      << r.output;
  EXPECT_EQ(contents(target), "keep");
}

TEST_F(HostileInput, APredictionIsNotWrittenIntoAMeasuredRun) {
  fs::create_directory(dir_ / "run");
  const std::string steps = "{\"step\":0,\"rank\":0,\"ops\":[]}\n";
  std::ofstream(dir_ / "run" / "steps.jsonl") << steps;
  Result r = refused(predict(kTopology, kWorkload, out("run")));
  EXPECT_NE(r.output.find("-o/--out: error: '" + out("run") + "' holds a measured run: a prediction written there would mix"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(contents(dir_ / "run" / "steps.jsonl"), steps);
  EXPECT_FALSE(fs::exists(dir_ / "run" / "summary.json"));
}

// A failed run keeps summary.json and trace.json of its finished steps: steps.jsonl as the coordinator
// streams it, with steps 0 and 1 finished on every rank and step 2 on one rank only.
TEST_F(HostileInput, AFailedRunSummarisesItsFinishedSteps) {
  namespace cli = clustertwin::cli;
  namespace core = clustertwin::core;
  cli::Overrides three;
  three.steps = 3;
  const cli::Loaded l = cli::load(kTopology, kWorkload, three);
  std::ofstream steps(dir_ / "steps.jsonl");
  double t = 0;
  for (int32_t step = 0; step < 3; ++step)
    for (const auto& rp : l.program.ranks) {
      if (step == 2 && rp.rank > 0) continue;
      nlohmann::json line{{"step", step}, {"rank", rp.rank}, {"ops", nlohmann::json::array()}};
      for (uint32_t op = 0; op < rp.ops.size(); ++op)
        if (rp.ops[op].step == step) line["ops"].push_back({op, t, t + 0.001}), t += 0.001;
      steps << line.dump() << "\n";
    }
  steps.close();
  core::RunInfo info{"measured", "local-3", "tiny-ddp", "3 local workers", ""};
  EXPECT_EQ(cli::write_finished_steps(dir_.string(), info, l.program),
            fmt::format("\n  summary.json and trace.json in {} hold the 2 of 3 steps that finished", dir_.string()));
  const auto summary = nlohmann::json::parse(contents(dir_ / "summary.json"));
  EXPECT_EQ(summary["backend"], "measured");
  EXPECT_NE(summary.dump().find("failed: the 2 of 3 steps every rank finished"), std::string::npos);
  EXPECT_EQ(summary["step_time_s"]["per_step"].size(), 2u) << summary.dump().substr(0, 500);
  EXPECT_TRUE(nlohmann::json::parse(contents(dir_ / "trace.json")).contains("traceEvents"));
  // Nothing finished on every rank: nothing to summarise, and it says so.
  fs::remove(dir_ / "summary.json");
  std::ofstream(dir_ / "steps.jsonl") << "{\"step\":0,\"rank\":0,\"ops\":[]}\n";
  EXPECT_EQ(cli::write_finished_steps(dir_.string(), info, l.program),
            "\n  no step finished on every rank: no summary.json was written");
  EXPECT_FALSE(fs::exists(dir_ / "summary.json"));
}

// ---- item 3: inputs that exhaust memory or time --------------------------------------------------

TEST_F(HostileInput, AnEndlessFileIsRefusedAtTheCap) {
  Result r = refused(predict("/dev/zero", kWorkload, out("o")));
  EXPECT_NE(r.output.find("/dev/zero: error: the file is larger than 16 MiB, the most clustertwin reads of such a file"),
            std::string::npos)
      << r.output;
}

TEST_F(HostileInput, ABillionLayersIsRefusedAtTheKey) {
  const std::string w = write("w.yaml", "name: w\nmodel: {name: big, layers: 1000000000, hidden: 64, heads: 4, ffn: 256, "
                                        "vocab: 1000, context: 128}\ntask: train\nbatch: {micro_batch: 1, seq_len: 128}\n"
                                        "parallel: {strategy: ddp}\n");
  Result r = refused(predict(kTopology, w, out("o")));
  EXPECT_NE(r.output.find(w + ":2:28: error: expected layers between 1 and 1024, got 1000000000"), std::string::npos)
      << r.output;
}

TEST_F(HostileInput, AMillionStepsIsRefusedBeforeTheProgramIsBuilt) {
  std::string text = contents(kWorkload);
  text.replace(text.find("steps: 1"), 8, "steps: 1000000");
  Result r = refused(predict(kTopology, write("w.yaml", text), out("o")));
  EXPECT_NE(r.output.find(out("w.yaml") + ":7:8: error: 1000000 steps make a Program of about"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("hint: use steps: "), std::string::npos) << r.output;
  Result flag = refused(predict(kTopology, kWorkload, out("o")) + " --steps 1000000");
  EXPECT_NE(flag.output.find("--steps: error: 1000000 steps make a Program of about"), std::string::npos) << flag.output;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(HostileInput, TraceStepsCapsTheTraceNotTheSummary) {
#if !CLUSTERTWIN_HAS_SIM
  GTEST_SKIP() << "built without the simulator";
#endif
  Result r = clustertwin::cli_test::run(predict(kTopology, kWorkload, out("o")) + " --steps 3 --trace-steps 1");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto summary = nlohmann::json::parse(contents(dir_ / "o" / "summary.json"));
  EXPECT_EQ(summary["step_time_s"]["per_step"].size(), 3u);
  EXPECT_EQ(summary["steps"], 3);
  EXPECT_NE(summary.dump().find("trace.json: the first 1 of 3 steps"), std::string::npos);
  const auto trace = nlohmann::json::parse(contents(dir_ / "o" / "trace.json"));
  int events = 0;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X") {
      ++events;
      EXPECT_EQ(e["args"]["step"], 0) << e.dump();
    }
  EXPECT_GT(events, 0);
}

TEST_F(HostileInput, FiveThousandNodesAreRefusedAtLoad) {
  std::string t = "name: big\nnodes:\n";
  for (int i = 0; i < 5000; ++i) t += fmt::format("  - {{name: n{}, device: mac-mini-m4}}\n", i);
  Result r = refused(predict(write("big.yaml", t), kWorkload, out("o")));
  EXPECT_NE(r.output.find(out("big.yaml") + ":3:3: error: the topology has 5000 nodes; clustertwin models at most 1024"),
            std::string::npos)
      << r.output;
}

}  // namespace
