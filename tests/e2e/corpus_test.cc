// The malformed-input corpus: every case of corpus/cases.tsv, plus mutations generated from every
// example file, run through every command that reads it. Each must exit 2 with a message that names
// file:line:col (or the flag), a hint, and no text of the standard library or of a crash. The
// command line runs in-process (cli::run_command_line, output captured) for speed; a sample of the
// cases also runs through the binary, as a user runs it.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/app.h"
#include "run_cli.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

using clustertwin::cli_test::src;
// An example file of a kind: topologies/examples/NAME or workloads/examples/NAME; a calibration
// overlay lives beside this corpus (tests/e2e/corpus/NAME).
std::string example(const std::string& kind, const std::string& name) {
  if (kind == "calibration") return src("tests/e2e/corpus/" + name);
  return src(fmt::format("{}/examples/{}", kind == "topology" ? "topologies" : "workloads", name));
}

// A topology and a workload every case that changes only the other one uses.
const std::string kTopology = src("topologies/examples/tb4-star-3minis.yaml");
const std::string kWorkloadTopology = src("topologies/examples/mesh-4-studios-tb5-tcp.yaml");
const std::string kWorkload = src("tests/e2e/corpus/tiny-ddp.yaml");

struct Case {
  std::string kind;  // topology | workload | cli
  std::string file;  // example file name, or the command line (cli)
  std::string find, replace;  // the mutation; for cli, `find` is the flag the message must name
  std::string where;          // "cases.tsv:12" or "generated: emptied ddp-gpt2.yaml"
};

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

std::vector<Case> manifest_cases() {
  std::vector<Case> out;
  std::ifstream in(src("tests/e2e/corpus/cases.tsv"));
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, '\t');
    f.resize(4);
    out.push_back({f[0], f[1], unescape(f[2]), unescape(f[3]), fmt::format("cases.tsv:{}", n)});
  }
  return out;
}

// Mutations every example file gets: emptied, a list on top, a misspelt top-level key, a tab in
// the indentation of its first indented line.
std::vector<Case> generated_cases() {
  std::vector<Case> out;
  for (const char* kind : {"topology", "workload"}) {
    for (const auto& e : fs::directory_iterator(fs::path(example(kind, "x")).parent_path())) {
      std::string name = e.path().filename().string(), text = read(e.path().string());
      auto gen = [&](const char* what, std::string find, std::string replace) {
        out.push_back({kind, name, std::move(find), std::move(replace), fmt::format("generated: {} {}", what, name)});
      };
      gen("emptied", text, "");
      gen("list on top of", "name:", "- a\nname:");
      gen("misspelt key in", "name:", "nmae: x\nname:");
      gen("tab indentation in", "\n  ", "\n\t");
    }
  }
  return out;
}

std::vector<Case> all_cases() {
  auto cases = manifest_cases();
  for (auto& c : generated_cases()) cases.push_back(std::move(c));
  return cases;
}

struct Outcome {
  int code = -1;
  std::string output;
};

// The command line in this process, its stdout and stderr captured into one file.
Outcome run_in_process(const std::string& args, const fs::path& capture) {
  std::vector<std::string> words{"clustertwin"};
  for (auto& w : split(args, ' '))
    if (!w.empty()) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  std::fflush(nullptr);
  std::cout.flush();
  int fd = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int saved_out = ::dup(1), saved_err = ::dup(2);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  Outcome o;
  o.code = clustertwin::cli::run_command_line(static_cast<int>(argv.size()), argv.data());
  std::fflush(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  ::close(saved_out);
  ::close(saved_err);
  ::close(fd);
  o.output = read(capture.string());
  return o;
}

// The command lines that read a case's file (written at `path`).
std::vector<std::string> commands_for(const Case& c, const std::string& path, const std::string& out) {
  if (c.kind == "cli") {
    std::string args = c.file;
    for (auto [key, value] : {std::pair{"{topo}", kTopology}, {"{work}", kWorkload}, {"{out}", out}})
      for (size_t at; (at = args.find(key)) != std::string::npos;) args.replace(at, std::string(key).size(), value);
    return {args};
  }
  if (c.kind == "calibration")  // an overlay of kTopology (tb4-star-3minis)
    return {fmt::format("predict -t {} -w {} -o {} --calibration {}", kTopology, kWorkload, out, path),
            fmt::format("explain -t {} -w {} --calibration {}", kTopology, kWorkload, path)};
  // `run --local 64` refuses its worker count only after the files load, so nothing starts.
  if (c.kind == "topology")
    return {"check " + path, "topology show " + path, fmt::format("predict -t {} -w {} -o {}", path, kWorkload, out),
            fmt::format("explain -t {} -w {}", path, kWorkload),
            fmt::format("run --local 64 -t {} -w {} -o {}", path, kWorkload, out)};
  return {fmt::format("check {} {}", kWorkloadTopology, path),
          fmt::format("predict -t {} -w {} -o {}", kWorkloadTopology, path, out),
          fmt::format("explain -t {} -w {}", kWorkloadTopology, path),
          fmt::format("run --local 64 -t {} -w {} -o {}", kWorkloadTopology, path, out)};
}

// Writes the mutated example into `dir` under its own name; "" when the mutation does not apply.
std::string write_case(const Case& c, const fs::path& dir) {
  std::string text = read(example(c.kind, c.file));
  size_t at = text.find(c.find);
  if (at == std::string::npos) return "";
  text.replace(at, c.find.size(), c.replace);
  fs::path path = dir / c.file;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

const char* const kInternal[] = {"map::at", "vector::", "basic_string", "stoi", "stod", "stoll", "bad_variant_access",
                                 "bad_optional_access", "std::", "terminate", "Segmentation", "Aborted", "yaml-cpp",
                                 "bad conversion", "what():"};

// Every problem with one command's outcome, "" when none.
std::string problems(const Case& c, const std::string& path, const Outcome& o) {
  std::string p;
  if (o.code != 2) p += fmt::format("exit code {}, not 2; ", o.code);
  if (c.kind == "cli") {
    if (o.output.find(c.find) == std::string::npos) p += fmt::format("the message does not name {}; ", c.find);
  } else {
    std::regex position(fmt::format("(^|\\n){}:[0-9]+:[0-9]+: error: ", std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)")));
    if (!std::regex_search(o.output, position)) p += "no file:line:col: error: ; ";
    if (o.output.find("\nhint: ") == std::string::npos) p += "no hint; ";
  }
  for (const char* bad : kInternal)
    if (o.output.find(bad) != std::string::npos) p += fmt::format("internal text '{}'; ", bad);
  return p;
}

class Corpus : public test::TempDirTest {
 protected:
  // Runs every command of the case; returns how many ran.
  template <typename Run>
  int check_case(const Case& c, Run run) {
    fs::path dir = dir_ / "case";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::string path = c.kind == "cli" ? "" : write_case(c, dir);
    if (c.kind != "cli" && path.empty()) {
      ADD_FAILURE() << c.where << ": '" << c.find << "' is not in " << c.file;
      return 0;
    }
    int ran = 0;
    for (const auto& cmd : commands_for(c, path, (dir / "out").string())) {
      Outcome o = run(cmd);
      ++ran;
      std::string p = problems(c, path, o);
      EXPECT_TRUE(p.empty()) << c.where << ": clustertwin " << cmd << "\n  " << p << "\n" << o.output;
    }
    return ran;
  }
};

TEST_F(Corpus, HasAtLeastAHundredCases) { EXPECT_GE(all_cases().size(), 100u); }

// Every example the manifest mutates is valid as it stands, so its case fails for its mutation.
TEST_F(Corpus, TheExamplesItMutatesAreValid) {
  std::set<std::pair<std::string, std::string>> bases;
  for (const auto& c : manifest_cases())
    if (c.kind != "cli") bases.insert({c.kind, c.file});
  for (const auto& [kind, file] : bases) {
    std::string path = example(kind, file);
    std::string cmd = kind == "topology"      ? fmt::format("explain -t {} -w {}", path, kWorkload)
                      : kind == "calibration" ? fmt::format("explain -t {} -w {} --calibration {}", kTopology, kWorkload, path)
                                              : fmt::format("explain -t {} -w {}", kWorkloadTopology, path);
    Outcome o = run_in_process(cmd, dir_ / "capture.txt");
    EXPECT_EQ(o.code, 0) << cmd << "\n" << o.output;
  }
}

TEST_F(Corpus, EveryCaseInEveryCommandExitsTwoWithPositionHintAndNoInternalText) {
  int ran = 0;
  for (const auto& c : all_cases()) {
    bool spawn_only = c.kind == "cli" && (c.file.rfind("run", 0) == 0 || c.file.rfind("bench", 0) == 0 ||
                                          c.file.rfind("emulate", 0) == 0);  // could start processes here
    ran += check_case(c, [&](const std::string& cmd) {
      if (spawn_only) {
        auto r = clustertwin::cli_test::run(cmd);
        return Outcome{r.code, r.output};
      }
      return run_in_process(cmd, dir_ / "capture.txt");
    });
  }
  EXPECT_GT(ran, 500);
}

// A sample through the binary: the same texts and exit codes as a user gets them.
TEST_F(Corpus, ASampleThroughTheBinary) {
  auto cases = all_cases();
  for (size_t i = 0; i < cases.size(); i += 40)
    check_case(cases[i], [](const std::string& cmd) {
      auto r = clustertwin::cli_test::run(cmd);
      return Outcome{r.code, r.output};
    });
}

}  // namespace
