// The directory a command writes its outputs into (predict, run, compare, report, plan), checked once
// before anything is computed, so a bad -o costs nothing and never costs data: it is created, it must
// take new files, and it must not hold what the outputs would destroy: the command's own input, a
// symbolic link where an output goes (written through, it would overwrite its target), or outputs of
// another kind (a prediction written over a measured run would leave a directory of both).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace clustertwin::core {

enum class OutputKind { PredictedRun, MeasuredRun, Report, Plan };

// "a prediction", "a measured run", "a report", "a plan": for messages.
std::string_view describe(OutputKind kind);

// The names a command of `kind` writes in its directory: the one list the check guards.
const std::vector<std::string>& output_names(OutputKind kind);

// The kind of outputs `dir` holds already, as its files tell (steps.jsonl or clocks.json: measured;
// summary.json says which run; summary.csv or report.md: a report; plan.csv or plan.json: a plan);
// none when it holds nothing of ours.
std::vector<OutputKind> kinds_in(const std::string& dir);

struct OutputDir {
  std::string path;
  std::string flag;  // how the user gave it: "-o/--out"
  OutputKind kind;
};

// Creates `out.path` (and its parents) and makes sure the command can write its outputs there. Throws
// InputError naming the flag when the path is a file, cannot be created or written in, holds outputs of
// another kind, holds a symbolic link under an output's name, or is (or holds, under an output's name)
// one of `inputs`: the files and directories the command reads.
void prepare_output_dir(const OutputDir& out, const std::vector<std::string>& inputs);

}  // namespace clustertwin::core
