// Measured results of other tools as a measured run directory that `compare` and `report` read:
// step-level figures only (decode and prefill tokens/s, time to first token, the decode step,
// peak memory), no per-op trace. Formats followed (interop/README.md has the details):
//  - llama-bench `-o json` (a list of test objects) and `-o csv` (the same fields as columns), as
//    llama.cpp's tools/llama-bench writes them since 2024 (fields n_prompt, n_gen, avg_ts, stddev_ts,
//    model_type, model_size, model_n_params, n_threads); a test with n_gen 0 is prefill (pp), with
//    n_prompt 0 decode (tg);
//  - mlx_lm: `mlx_lm.generate` text ("Prompt: N tokens, X tokens-per-sec", "Generation: ...",
//    "Peak memory: G GB") and `mlx_lm.benchmark` text ("Timing with prompt_tokens=..., ...",
//    "Averages: prompt_tps=..., generation_tps=..., peak_memory=...");
//  - exo's benchmark JSON (.github/scripts/bench.py --output: configuration.stages[] and
//    results.stages[] with avg_time_to_first_token, avg_decode_tps).
#pragma once

#include <string>
#include <vector>

namespace clustertwin::interop {

// What the command line adds: the format when not inferred, and names for the report.
struct MeasuredImport {
  std::string format;    // "" (infer), llama-bench-json, llama-bench-csv, mlx-lm, exo
  std::string topology;  // "" = what the tool says it ran on, else "unknown"
  std::string workload;  // "" = the model the tool names
};

struct MeasuredRun {
  std::string tool;         // "llama-bench", "mlx_lm.generate", "mlx_lm.benchmark", "exo bench"
  std::string file;         // the file imported
  std::string description;  // one line: which test rows became which figures
  std::string topology, workload;
  int prompt_tokens = 0, generated_tokens = 0;
  double decode_tokens_per_second = 0;   // 0 = the file has none
  double prefill_tokens_per_second = 0;  // 0 = the file has none
  double time_to_first_token = 0;        // seconds; 0 = none
  double peak_memory = 0;                // bytes; 0 = none
  std::vector<std::string> notes;        // what was skipped or derived, said in the report
};

// Reads FILE's text. `file` names it in errors, which give line:col (or the CSV row and column,
// or the JSON path), what was expected and a hint; an unknown format names the four it reads.
// Throws core::InputError.
MeasuredRun read_measured(const std::string& text, const std::string& file, const MeasuredImport& o);
MeasuredRun load_measured(const std::string& path, const MeasuredImport& o);

// DIR/summary.json, in the form reports/run_view.h reads, marked as imported (its "imported" key)
// so reports compare only the step-level figures. Throws std::runtime_error on I/O errors.
void write_measured_run(const std::string& dir, const MeasuredRun& run);

}  // namespace clustertwin::interop
