// `clustertwin validate`: published measurements of real clusters (tests/validation/rows.yaml),
// each predicted in its own simulation and compared with what was measured. The rows file is the
// schema documented in tests/validation/README.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/program.h"
#include "workloads/runtimes.h"

namespace clustertwin::cli {

// What a row compares: a Run summary's figure (inference workloads) or a collective's time.
enum class Metric { DecodeTokensPerSecond, PrefillTokensPerSecond, AllReduceSeconds, AllReduceBusBw };

// An all-reduce row: one collective over every rank of the topology (the bench Program).
struct CollectiveRow {
  double bytes = 0;
  core::Algorithm algorithm = core::Algorithm::Ring;
  int32_t stripes = 0;  // connections per neighbour the runtime stripes over (core::Op::stripes)
  const work::Runtime* runtime = nullptr;  // the stack that ran it (its per-call cost); nullptr = none
};

struct Row {
  std::string id, source, hardware, assumptions;
  Metric metric = Metric::DecodeTokensPerSecond;
  double published = 0;
  double tolerance = 0.15;  // |predicted / published - 1| allowed
  bool gate = false;        // within tolerance today: the test fails when it leaves it
  std::vector<std::string> missing;  // issue-14 mechanisms the row needs and the model lacks
  std::string topology, workload;    // paths, resolved against the rows file's folder
  std::optional<CollectiveRow> collective;
  std::string inexpressible;  // why the row cannot be predicted at all ("" when it can)
};

std::string_view metric_name(Metric m);  // as the rows file writes it

// Throws core::InputError (file:line:col, the line, a hint) for a malformed rows file.
std::vector<Row> load_rows(const std::string& path);

struct ValidateArgs {
  std::string rows = "tests/validation/rows.yaml";
  std::string json;  // also write the results here
};

// Predicts every expressible row, prints the table (row, metric, published, predicted, error %,
// within tolerance, missing mechanisms), the mean and worst |error|; returns the number of gated
// rows outside their tolerance.
int validate(const ValidateArgs& a);

}  // namespace clustertwin::cli
