#include "interop/measured.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "core/file.h"
#include "interop/json_input.h"

namespace clustertwin::interop {

namespace {
const char* const kFormats =
    "expected one of: llama-bench -o json or -o csv, the text mlx_lm.generate or mlx_lm.benchmark prints, or the JSON "
    "exo's bench.py --output writes";

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

[[noreturn]] void fail(const core::SourcePos& at, const std::string& line, const std::string& message,
                       const std::string& hint) {
  throw core::InputError(core::format_diagnostic(at, line, message, hint));
}

// --- llama-bench ---------------------------------------------------------------------------------

const char* const kLlamaHint = "llama-bench writes these with -o json or -o csv (its tests: -p for prefill, -n for decode)";

// One test row: a prefill test (pp: n_gen 0), a decode test (tg: n_prompt 0), or both (pg).
struct BenchTest {
  long long n_prompt = 0, n_gen = 0;
  double avg_ts = 0, stddev_ts = 0;
  std::string model;  // model_type, e.g. "llama 8B Q4_K - Medium"
  std::string where;  // "row 3", "[2]"
};

std::string test_name(const BenchTest& t) {
  if (t.n_gen == 0) return fmt::format("pp{}", t.n_prompt);
  if (t.n_prompt == 0) return fmt::format("tg{}", t.n_gen);
  return fmt::format("pp{}+tg{}", t.n_prompt, t.n_gen);
}

MeasuredRun from_tests(const std::vector<BenchTest>& tests, const std::string& file, const std::string& format) {
  MeasuredRun r;
  r.tool = "llama-bench";
  const BenchTest *pp = nullptr, *tg = nullptr;
  for (const auto& t : tests) {
    if (t.avg_ts <= 0)
      fail({file, 0, 0}, {}, fmt::format("test {} ({}) has avg_ts {}: expected tokens/s above 0", t.where, test_name(t), t.avg_ts),
           kLlamaHint);
    const bool is_pp = t.n_gen == 0 && t.n_prompt > 0, is_tg = t.n_prompt == 0 && t.n_gen > 0;
    if (is_pp && !pp) pp = &t;
    else if (is_tg && !tg) tg = &t;
    else r.notes.push_back(fmt::format("llama-bench test {} ({}, {:.2f} tokens/s) not imported: {}", t.where, test_name(t), t.avg_ts,
                                       is_pp || is_tg ? "an earlier test of its kind was" : "prefill and decode together"));
  }
  if (!pp && !tg)
    fail({file, 0, 0}, {}, "no prefill test (n_gen 0) and no decode test (n_prompt 0) in the file", kLlamaHint);
  std::vector<std::string> used;
  if (pp) {
    r.prefill_tokens_per_second = pp->avg_ts;
    r.prompt_tokens = static_cast<int>(pp->n_prompt);
    r.time_to_first_token = pp->n_prompt / pp->avg_ts;
    used.push_back(fmt::format("{} {:.1f} ± {:.1f} tokens/s as prefill (time to first token = n_prompt / avg_ts)",
                               test_name(*pp), pp->avg_ts, pp->stddev_ts));
    r.workload = pp->model;
  }
  if (tg) {
    r.decode_tokens_per_second = tg->avg_ts;
    r.generated_tokens = static_cast<int>(tg->n_gen);
    used.push_back(fmt::format("{} {:.1f} ± {:.1f} tokens/s as decode", test_name(*tg), tg->avg_ts, tg->stddev_ts));
    if (r.workload.empty()) r.workload = tg->model;
  }
  r.description = fmt::format("llama-bench {}: {}", format, fmt::join(used, "; "));
  r.notes.push_back("llama-bench runs one sequence (batch 1): its tokens/s compare with a workload of batch size 1");
  return r;
}

MeasuredRun llama_bench_json(const std::string& text, const std::string& file) {
  core::YamlDoc doc = parse_json(text, file, kLlamaHint);
  const YAML::Node& root = doc.root();
  if (!root.IsSequence() || root.size() == 0)
    doc.fail(root, "expected a non-empty JSON list of llama-bench tests ({\"n_prompt\", \"n_gen\", \"avg_ts\", ...})", kLlamaHint);
  std::vector<BenchTest> tests;
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node& n = root[i];
    doc.require_map(n, fmt::format("test [{}]", i));
    BenchTest t;
    t.where = fmt::format("[{}]", i);
    t.n_prompt = doc.integer(doc.required(n, "n_prompt", "a llama-bench test"), "n_prompt", 0, 1LL << 40);
    t.n_gen = doc.integer(doc.required(n, "n_gen", "a llama-bench test"), "n_gen", 0, 1LL << 40);
    t.avg_ts = doc.number(doc.required(n, "avg_ts", "a llama-bench test"), "avg_ts");
    if (n["stddev_ts"]) t.stddev_ts = doc.number(n["stddev_ts"], "stddev_ts");
    if (n["model_type"]) t.model = doc.string(n["model_type"], "model_type");
    tests.push_back(t);
  }
  return from_tests(tests, file, "-o json");
}

// One CSV line's fields (RFC 4180 quoting, as llama-bench writes every value) with their columns.
std::vector<std::pair<std::string, int>> csv_fields(const std::string& line) {
  std::vector<std::pair<std::string, int>> out;
  size_t i = 0;
  while (true) {
    std::string field;
    const int col = static_cast<int>(i) + 1;
    if (i < line.size() && line[i] == '"') {
      for (++i; i < line.size(); ++i) {
        if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
        else if (line[i] == '"') break;
        else field += line[i];
      }
      ++i;  // the closing quote
    }
    while (i < line.size() && line[i] != ',') field += line[i++];
    out.emplace_back(field, col);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return out;
}

MeasuredRun llama_bench_csv(const std::string& text, const std::string& file) {
  const auto lines = split_lines(text);
  const auto header = csv_fields(lines.empty() ? "" : lines[0]);
  std::map<std::string, size_t> column;
  for (size_t c = 0; c < header.size(); ++c) column[header[c].first] = c;
  for (const char* need : {"n_prompt", "n_gen", "avg_ts"})
    if (!column.count(need))
      fail({file, 1, 1}, lines.empty() ? "" : lines[0], fmt::format("the header has no column '{}'", need), kLlamaHint);
  std::vector<BenchTest> tests;
  for (size_t r = 1; r < lines.size(); ++r) {
    if (lines[r].empty()) continue;
    const auto row = csv_fields(lines[r]);
    const int line_no = static_cast<int>(r) + 1;
    auto field = [&](const char* name) -> const std::pair<std::string, int>& {
      const size_t c = column.at(name);
      if (c >= row.size())
        fail({file, line_no, static_cast<int>(lines[r].size()) + 1}, lines[r],
             fmt::format("row {} has {} fields; expected {} as the header names (no '{}')", line_no, row.size(), header.size(), name),
             kLlamaHint);
      return row[c];
    };
    auto number = [&](const char* name) {
      const auto& [text_value, col] = field(name);
      try {
        size_t used = 0;
        const double v = std::stod(text_value, &used);
        if (used == text_value.size()) return v;
      } catch (const std::exception&) {
      }
      fail({file, line_no, col}, lines[r], fmt::format("'{}' is '{}': expected a number", name, text_value), kLlamaHint);
    };
    BenchTest t;
    t.where = fmt::format("row {}", line_no);
    t.n_prompt = static_cast<long long>(number("n_prompt"));
    t.n_gen = static_cast<long long>(number("n_gen"));
    t.avg_ts = number("avg_ts");
    if (column.count("stddev_ts")) t.stddev_ts = number("stddev_ts");
    if (column.count("model_type")) t.model = field("model_type").first;
    tests.push_back(t);
  }
  if (tests.empty()) fail({file, 1, 1}, lines.empty() ? "" : lines[0], "the CSV has a header but no test rows", kLlamaHint);
  return from_tests(tests, file, "-o csv");
}

// --- mlx_lm --------------------------------------------------------------------------------------

const char* const kMlxHint =
    "save what mlx_lm.generate prints (--verbose, the default: the 'Prompt:', 'Generation:' and 'Peak memory:' lines) "
    "or what mlx_lm.benchmark prints (its 'Averages:' line)";

MeasuredRun mlx_lm(const std::string& text, const std::string& file) {
  const auto lines = split_lines(text);
  static const std::regex prompt(R"(^Prompt: (\d+) tokens, ([0-9.]+) tokens-per-sec\s*$)");
  static const std::regex generation(R"(^Generation: (\d+) tokens, ([0-9.]+) tokens-per-sec\s*$)");
  static const std::regex peak(R"(^Peak memory: ([0-9.]+) GB\s*$)");
  static const std::regex timing(R"(^Timing with prompt_tokens=(\d+), generation_tokens=(\d+), batch_size=(\d+)\.?\s*$)");
  static const std::regex averages(R"(^Averages: prompt_tps=([0-9.]+), generation_tps=([0-9.]+), peak_memory=([0-9.]+)\s*$)");
  MeasuredRun r;
  std::optional<size_t> gen_line, avg_line;
  int batch = 1;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    std::smatch m;
    auto malformed = [&](const char* expected) {
      fail({file, static_cast<int>(i) + 1, 1}, l, fmt::format("malformed line: expected '{}'", expected), kMlxHint);
    };
    if (l.rfind("Prompt:", 0) == 0 && !gen_line) {
      if (!std::regex_match(l, m, prompt)) malformed("Prompt: N tokens, X tokens-per-sec");
      r.prompt_tokens = std::stoi(m[1]);
      r.prefill_tokens_per_second = std::stod(m[2]);
    } else if (l.rfind("Generation:", 0) == 0 && !gen_line) {
      if (!std::regex_match(l, m, generation)) malformed("Generation: N tokens, X tokens-per-sec");
      r.generated_tokens = std::stoi(m[1]);
      r.decode_tokens_per_second = std::stod(m[2]);
      gen_line = i;
    } else if (l.rfind("Peak memory:", 0) == 0 && r.peak_memory == 0) {
      if (!std::regex_match(l, m, peak)) malformed("Peak memory: G GB");
      r.peak_memory = std::stod(m[1]) * 1e9;
    } else if (l.rfind("Timing with", 0) == 0) {
      if (!std::regex_match(l, m, timing)) malformed("Timing with prompt_tokens=N, generation_tokens=N, batch_size=N.");
      r.prompt_tokens = std::stoi(m[1]);
      r.generated_tokens = std::stoi(m[2]);
      batch = std::stoi(m[3]);
    } else if (l.rfind("Averages:", 0) == 0) {
      if (!std::regex_match(l, m, averages)) malformed("Averages: prompt_tps=X, generation_tps=X, peak_memory=G");
      r.prefill_tokens_per_second = std::stod(m[1]);
      r.decode_tokens_per_second = std::stod(m[2]);
      r.peak_memory = std::stod(m[3]) * 1e9;  // mlx_lm prints mx.get_peak_memory() / 1e9
      avg_line = i;
    }
  }
  if (avg_line) {
    r.tool = "mlx_lm.benchmark";
    r.description = fmt::format("mlx_lm.benchmark averages (line {}): prompt {} tokens at {:.1f} tokens/s, generation {} tokens at "
                                "{:.1f} tokens/s, batch {}",
                                *avg_line + 1, r.prompt_tokens, r.prefill_tokens_per_second, r.generated_tokens,
                                r.decode_tokens_per_second, batch);
    if (batch != 1) r.notes.push_back(fmt::format("mlx_lm.benchmark ran batch {}: its tokens/s are per sequence", batch));
  } else if (gen_line) {
    r.tool = "mlx_lm.generate";
    r.description = fmt::format("mlx_lm.generate: prompt {} tokens at {:.1f} tokens/s, generation {} tokens at {:.1f} tokens/s",
                                r.prompt_tokens, r.prefill_tokens_per_second, r.generated_tokens, r.decode_tokens_per_second);
  } else {
    fail({file, 0, 0}, {}, "no 'Generation: N tokens, X tokens-per-sec' line and no 'Averages: ...' line", kMlxHint);
  }
  if (r.prefill_tokens_per_second > 0 && r.prompt_tokens > 0)
    r.time_to_first_token = r.prompt_tokens / r.prefill_tokens_per_second;
  return r;
}

// --- exo -----------------------------------------------------------------------------------------

const char* const kExoHint = "import the JSON exo's .github/scripts/bench.py writes with --output (results.stages[])";

MeasuredRun exo(const core::YamlDoc& doc) {
  const YAML::Node& root = doc.root();
  const YAML::Node stages = doc.required(doc.required(root, "results", "exo's benchmark results"), "stages", "results");
  doc.require_seq(stages, "results.stages");
  MeasuredRun r;
  r.tool = "exo bench";
  for (size_t i = 0; i < stages.size(); ++i) {
    const YAML::Node& s = stages[i];
    doc.require_map(s, fmt::format("results.stages[{}]", i));
    if (!s["avg_decode_tps"] || s["avg_decode_tps"].IsNull()) continue;
    const std::string name = s["name"] ? doc.string(s["name"], "name") : fmt::format("{}", i);
    if (r.decode_tokens_per_second > 0) {
      r.notes.push_back(fmt::format("exo stage '{}' not imported: the first stage with a decode rate was", name));
      continue;
    }
    r.decode_tokens_per_second = doc.number(s["avg_decode_tps"], "avg_decode_tps");
    if (s["avg_time_to_first_token"] && !s["avg_time_to_first_token"].IsNull())
      r.time_to_first_token = doc.number(s["avg_time_to_first_token"], "avg_time_to_first_token");
    if (root["configuration"] && root["configuration"]["stages"])
      for (const auto& c : root["configuration"]["stages"])
        if (c["name"] && c["name"].as<std::string>() == name) {
          if (c["prompt_length"]) r.prompt_tokens = static_cast<int>(doc.integer(c["prompt_length"], "prompt_length", 0, 1 << 30));
          if (c["generation_length"])
            r.generated_tokens = static_cast<int>(doc.integer(c["generation_length"], "generation_length", 0, 1 << 30));
        }
    if (r.prompt_tokens > 0 && r.time_to_first_token > 0) {
      r.prefill_tokens_per_second = r.prompt_tokens / r.time_to_first_token;
      r.notes.push_back("exo's prefill tokens/s is derived: prompt_length / avg_time_to_first_token (which also holds the "
                        "request's queueing and its first decode step)");
    }
    r.description = fmt::format("exo bench stage '{}': decode {:.1f} tokens/s, time to first token {:.3f} s", name,
                                r.decode_tokens_per_second, r.time_to_first_token);
  }
  if (r.decode_tokens_per_second <= 0)
    doc.fail(stages, "no stage with an avg_decode_tps (every request failed, or the stages are empty)", kExoHint);
  if (root["cluster"] && root["cluster"]["model_ids"] && root["cluster"]["model_ids"].IsSequence() &&
      root["cluster"]["model_ids"].size() > 0)
    r.workload = doc.string(root["cluster"]["model_ids"][0], "model_ids[0]");
  return r;
}

// --- which tool ----------------------------------------------------------------------------------

std::string infer_format(const std::string& text, const std::string& file) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '[' || text[first] == '{')) {
    core::YamlDoc doc = parse_json(text, file, kFormats);
    if (doc.root().IsSequence()) return "llama-bench-json";
    if (doc.root().IsMap() && doc.root()["results"]) return "exo";
    doc.fail(doc.root(), "a JSON object that is neither llama-bench's test list nor exo's benchmark results", kFormats);
  }
  const std::string head = text.substr(0, text.find('\n'));
  if (head.find("n_prompt") != std::string::npos && head.find(',') != std::string::npos) return "llama-bench-csv";
  if (text.find("tokens-per-sec") != std::string::npos || text.find("generation_tps=") != std::string::npos) return "mlx-lm";
  fail({file, 1, 1}, head, "not a file `import measured` reads (neither JSON, nor a llama-bench CSV header, nor mlx_lm output)",
       std::string(kFormats) + "; --format names it");
}
}  // namespace

MeasuredRun read_measured(const std::string& text, const std::string& file, const MeasuredImport& o) {
  const std::string format = o.format.empty() ? infer_format(text, file) : o.format;
  MeasuredRun r;
  if (format == "llama-bench-json") r = llama_bench_json(text, file);
  else if (format == "llama-bench-csv") r = llama_bench_csv(text, file);
  else if (format == "mlx-lm") r = mlx_lm(text, file);
  else if (format == "exo") r = exo(parse_json(text, file, kExoHint));
  else fail({"--format", 0, 0}, {}, fmt::format("unknown format '{}'", format), kFormats);
  r.file = file;
  if (!o.workload.empty()) r.workload = o.workload;
  if (r.workload.empty()) r.workload = "unknown";
  r.topology = o.topology.empty() ? "unknown (not in the file)" : o.topology;
  return r;
}

MeasuredRun load_measured(const std::string& path, const MeasuredImport& o) {
  return read_measured(read_text(path, "FILE"), path, o);
}

void write_measured_run(const std::string& dir, const MeasuredRun& r) {
  std::filesystem::create_directories(dir);
  // A decode step makes one token per sequence: the step time is its inverse.
  const double step = r.decode_tokens_per_second > 0 ? 1 / r.decode_tokens_per_second : 0;
  nlohmann::json j{
      {"backend", "measured"},
      {"topology", r.topology},
      {"workload", r.workload},
      {"detail", fmt::format("imported from {} ({}): step-level figures, no per-op trace", r.tool, r.file)},
      {"world", 0},
      {"steps", r.generated_tokens},
      {"program_hash", ""},
      {"step_time_s", {{"mean", step}, {"p50", step}, {"p95", step}, {"per_step", nlohmann::json::array()}}},
      {"samples_per_s", 0},
      {"tokens_per_s", r.decode_tokens_per_second},
      {"breakdown_s",
       {{"compute", 0}, {"communication", 0}, {"exposed_communication", 0}, {"waiting_for_peers", 0}, {"pipeline_bubble", 0}, {"idle", 0}}},
      {"collectives", nlohmann::json::array()},
      {"time_to_first_token_s", r.time_to_first_token},
      {"decode_tokens_per_s", r.decode_tokens_per_second},
      {"prefill_tokens_per_s", r.prefill_tokens_per_second},
      {"imported",
       {{"tool", r.tool},
        {"file", r.file},
        {"description", r.description},
        {"prompt_tokens", r.prompt_tokens},
        {"generated_tokens", r.generated_tokens},
        {"peak_memory_bytes", r.peak_memory},
        {"notes", r.notes}}}};
  core::write_file((std::filesystem::path(dir) / "summary.json").string(), j.dump(2) + "\n");
}

}  // namespace clustertwin::interop
