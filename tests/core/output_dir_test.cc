// The output directory's check: made when missing, refused (naming the flag) when it would destroy
// an input, write through a link, or mix two kinds of outputs.
#include "core/output_dir.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "core/diag.h"
#include "temp_dir.h"

namespace clustertwin::core {
namespace {

namespace fs = std::filesystem;

class OutputDirTest : public test::TempDirTest {
 protected:
  static void put(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string contents(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  }
  std::string prepare(const std::string& path, OutputKind kind, const std::vector<std::string>& inputs = {}) {
    return error_of([&] { prepare_output_dir({path, "-o/--out", kind}, inputs); });
  }
};

TEST_F(OutputDirTest, AMissingDirectoryIsMadeWithItsParents) {
  EXPECT_EQ(prepare(out("a/b/c"), OutputKind::PredictedRun), "(no error)");
  EXPECT_TRUE(fs::is_directory(dir_ / "a/b/c"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "a/b/c"), {}), 0);  // the write probe left nothing
}

TEST_F(OutputDirTest, AFileWhereTheDirectoryGoesNamesTheFlag) {
  put(dir_ / "f", "x");
  EXPECT_EQ(prepare(out("f"), OutputKind::PredictedRun),
            "-o/--out: error: '" + out("f") + "' exists and is not a directory\n"
            "hint: -o/--out takes a directory (created when missing) for the outputs; name another path");
  EXPECT_EQ(prepare(out("f/sub"), OutputKind::PredictedRun),
            "-o/--out: error: cannot create the directory '" + out("f/sub") + "': Not a directory\n"
            "hint: check that its parent exists, is a directory and can be written in");
  EXPECT_EQ(contents(dir_ / "f"), "x");
}

TEST_F(OutputDirTest, ADirectoryThatCannotBeWrittenInIsRefused) {
  // A read-only file system refuses even root, who may write in a directory without write permission.
  const std::string message = prepare("/proc/self", OutputKind::Report);
  EXPECT_EQ(message.rfind("-o/--out: error: cannot write in '/proc/self': ", 0), 0u) << message;
  EXPECT_NE(message.find("hint: name a directory you can write in"), std::string::npos);
}

TEST_F(OutputDirTest, AMeasuredRunIsNotOverwrittenByAPrediction) {
  put(dir_ / "steps.jsonl", "{\"step\":0}\n");
  put(dir_ / "summary.json", "{\"backend\": \"measured\"}\n");
  EXPECT_EQ(prepare(dir_.string(), OutputKind::PredictedRun),
            "-o/--out: error: '" + dir_.string() + "' holds a measured run: a prediction written there would mix with its files\n"
            "hint: write to a new directory, or delete the old one first");
  EXPECT_NE(prepare(dir_.string(), OutputKind::Report).find("holds a measured run: a report written there"), std::string::npos);
  EXPECT_EQ(prepare(dir_.string(), OutputKind::MeasuredRun), "(no error)");  // a run again: its own kind
  EXPECT_EQ(contents(dir_ / "steps.jsonl"), "{\"step\":0}\n");
}

TEST_F(OutputDirTest, APredictionMayBeRepeatedButNotMeasuredOver) {
  put(dir_ / "summary.json", "{\"backend\": \"predicted\", \"x\": 1}\n");
  EXPECT_EQ(kinds_in(dir_.string()), std::vector<OutputKind>{OutputKind::PredictedRun});
  EXPECT_EQ(prepare(dir_.string(), OutputKind::PredictedRun), "(no error)");
  EXPECT_NE(prepare(dir_.string(), OutputKind::MeasuredRun).find("holds a prediction: a measured run written there"),
            std::string::npos);
  put(dir_ / "plan.csv", "");
  EXPECT_NE(prepare(dir_.string(), OutputKind::PredictedRun).find("holds a plan"), std::string::npos);
}

TEST_F(OutputDirTest, AnUnrelatedDirectoryIsFine) {
  put(dir_ / "notes.txt", "mine");
  put(dir_ / "summary.json", "not json");  // someone else's
  EXPECT_TRUE(kinds_in(dir_.string()).empty());
  EXPECT_EQ(prepare(dir_.string(), OutputKind::PredictedRun), "(no error)");
}

TEST_F(OutputDirTest, AnInputUnderAnOutputsNameIsRefused) {
  put(dir_ / "summary.json", "name: w\n");  // a workload saved as summary.json
  EXPECT_EQ(prepare(dir_.string(), OutputKind::PredictedRun, {"t.yaml", out("summary.json")}),
            "-o/--out: error: '" + out("summary.json") + "' would replace the input '" + out("summary.json") + "'\n"
            "hint: write the outputs to another directory, or move the input out of it");
  // Named another way (a relative path with ..), it is the same file.
  put(dir_ / "topology.yaml", "name: t\n");
  const std::string other = (dir_ / "sub" / ".." / "topology.yaml").string();
  fs::create_directory(dir_ / "sub");
  EXPECT_NE(prepare(dir_.string(), OutputKind::MeasuredRun, {other}).find("would replace the input"), std::string::npos);
  EXPECT_EQ(contents(dir_ / "summary.json"), "name: w\n");
}

TEST_F(OutputDirTest, TheInputRunDirectoryIsNotTheOutput) {
  EXPECT_EQ(prepare(dir_.string(), OutputKind::Report, {(dir_ / ".").string()}),
            "-o/--out: error: '" + dir_.string() + "' is the input '" + (dir_ / ".").string() +
                "': the outputs would replace what is read\n"
                "hint: write the outputs to another directory");
}

TEST_F(OutputDirTest, ALinkUnderAnOutputsNameIsNeverWrittenThrough) {
  put(dir_ / "precious", "keep");
  fs::create_directory(dir_ / "run");
  fs::create_symlink(dir_ / "precious", dir_ / "run" / "trace.json");
  EXPECT_EQ(prepare(out("run"), OutputKind::PredictedRun),
            "-o/--out: error: '" + out("run/trace.json") +
                "' is a symbolic link: writing there would overwrite the file it points to\n"
                "hint: remove the link, or name another directory with -o/--out");
  // A dangling link too: writing through it would create its target.
  fs::create_directory(dir_ / "run2");
  fs::create_symlink(dir_ / "nowhere", dir_ / "run2" / "summary.json");
  EXPECT_NE(prepare(out("run2"), OutputKind::PredictedRun).find("is a symbolic link"), std::string::npos);
  EXPECT_EQ(contents(dir_ / "precious"), "keep");
  EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
}

}  // namespace
}  // namespace clustertwin::core
