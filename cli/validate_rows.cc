// Reading tests/validation/rows.yaml: every key checked, every error at file:line:col with a hint.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "cli/validate.h"
#include "core/program.h"
#include "core/yaml_doc.h"

namespace clustertwin::cli {

namespace {
namespace fs = std::filesystem;

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names{"decode_tokens_per_second", "prefill_tokens_per_second",
                                              "allreduce_seconds", "allreduce_busbw_GBps"};
  return names;
}

// The issue-14 mechanisms a row may name as missing (docs/VALIDATION.md explains each).
const std::vector<std::string>& mechanism_names() {
  static const std::vector<std::string> names{
      "runtime-collective-cost", "runtime-pipeline-hop",   "moe-decode-efficiency",    "moe-prefill-efficiency",
      "per-tensor-format",       "bidirectional-ring",     "link-striping",            "expert-parallel",
      "mla-attention",           "sparse-attention",       "shared-experts",           "dense-leading-layers",
      "sliding-window-attention", "device-preset",          "one-shot-allreduce",       "pipelined-prefill-chunks"};
  return names;
}

// The position of the chosen name in `names` (enums list their names in their own order).
size_t choice_index(const core::YamlDoc& doc, const YAML::Node& n, const std::vector<std::string>& names,
                    std::string_view what) {
  const std::string s = doc.choice(n, names, what);
  return static_cast<size_t>(std::find(names.begin(), names.end(), s) - names.begin());
}

std::string path_beside(const std::string& rows_file, const std::string& rel) {
  return (fs::path(rows_file).parent_path() / rel).string();
}

std::vector<std::string> missing_list(const core::YamlDoc& doc, const YAML::Node& n) {
  doc.require_seq(n, "'missing'");
  std::vector<std::string> out;
  for (const auto& m : n) out.push_back(doc.choice(m, mechanism_names(), "mechanism"));
  return out;
}

CollectiveRow collective_row(const core::YamlDoc& doc, const YAML::Node& n) {
  doc.require_map(n, "'collective'");
  doc.check_keys(n, {"bytes", "algorithm", "stripes", "runtime"}, "'collective'");
  CollectiveRow c;
  c.bytes = doc.quantity(doc.required(n, "bytes", "'collective'"), core::Quantity::Bytes, "bytes");
  // All-reduce algorithms of one flat group.
  static const std::vector<std::string> algorithms{"ring", "tree", "direct", "halving-doubling", "bidirectional-ring",
                                                   "one-shot"};
  static const core::Algorithm values[] = {core::Algorithm::Ring, core::Algorithm::Tree, core::Algorithm::Direct,
                                           core::Algorithm::HalvingDoubling, core::Algorithm::BidirectionalRing,
                                           core::Algorithm::OneShot};
  if (n["algorithm"]) c.algorithm = values[choice_index(doc, n["algorithm"], algorithms, "algorithm")];
  if (n["stripes"]) {
    c.stripes = static_cast<int32_t>(doc.integer(n["stripes"], "stripes", 1, 64));
    if (c.stripes > 1 && c.algorithm != core::Algorithm::Ring && c.algorithm != core::Algorithm::BidirectionalRing)
      doc.fail(n["stripes"], "'stripes' applies to ring and bidirectional-ring", "drop it, or use one of those algorithms");
  }
  if (n["runtime"]) c.runtime = work::find_runtime(doc.choice(n["runtime"], work::runtime_names(), "runtime"));
  return c;
}

double tolerance(const core::YamlDoc& doc, const YAML::Node& n) {
  double t = doc.number(n, "tolerance");
  if (!(t > 0 && t < 1)) doc.fail(n, "tolerance must be a fraction between 0 and 1", "write 0.15 for 15 %");
  return t;
}

// The files and the collective a predictable row needs, or the reason it has none.
void prediction_inputs(const core::YamlDoc& doc, const YAML::Node& n, Row& r) {
  if (n["inexpressible"]) {
    r.inexpressible = doc.string(n["inexpressible"], "inexpressible");
    for (const char* key : {"topology", "workload", "collective"})
      if (n[key]) doc.fail(n[key], fmt::format("an inexpressible row takes no '{}'", key), "drop it, or drop 'inexpressible'");
    return;
  }
  r.topology = path_beside(doc.name(), doc.string(doc.required(n, "topology", "a row"), "topology"));
  const bool collective = r.metric == Metric::AllReduceSeconds || r.metric == Metric::AllReduceBusBw;
  if (collective) {
    if (n["workload"]) doc.fail(n["workload"], "an all-reduce row takes 'collective', not 'workload'", "write collective: {bytes: 16MiB}");
    r.collective = collective_row(doc, doc.required(n, "collective", "an all-reduce row"));
  } else {
    if (n["collective"]) doc.fail(n["collective"], "an inference row takes 'workload', not 'collective'", "name a workload file");
    r.workload = path_beside(doc.name(), doc.string(doc.required(n, "workload", "an inference row"), "workload"));
  }
}

Row row(const core::YamlDoc& doc, const YAML::Node& n) {
  doc.require_map(n, "a row");
  doc.check_keys(n,
                 {"id", "source", "hardware", "metric", "published", "tolerance", "gate", "missing", "assumptions",
                  "topology", "workload", "collective", "inexpressible"},
                 "a row");
  Row r;
  r.id = doc.string(doc.required(n, "id", "a row"), "id");
  r.source = doc.string(doc.required(n, "source", "a row"), "source");
  r.hardware = doc.string(doc.required(n, "hardware", "a row"), "hardware");
  r.assumptions = doc.string(doc.required(n, "assumptions", "a row"), "assumptions");
  r.metric = static_cast<Metric>(choice_index(doc, doc.required(n, "metric", "a row"), metric_names(), "metric"));
  r.published = doc.number(doc.required(n, "published", "a row"), "published");
  if (!(r.published > 0)) doc.fail(n["published"], "published must be a positive number", "the source's figure, in the metric's unit");
  if (n["tolerance"]) r.tolerance = tolerance(doc, n["tolerance"]);
  if (n["gate"]) r.gate = doc.boolean(n["gate"], "gate");
  if (n["missing"]) r.missing = missing_list(doc, n["missing"]);
  prediction_inputs(doc, n, r);
  if (r.gate && !r.inexpressible.empty()) doc.fail(n["gate"], "an inexpressible row cannot be gated", "drop 'gate'");
  return r;
}
}  // namespace

std::string_view metric_name(Metric m) { return metric_names()[static_cast<size_t>(m)]; }

std::vector<Row> load_rows(const std::string& path) {
  const auto doc = core::YamlDoc::load(path, "--rows");
  doc.check_keys(doc.root(), {"rows"}, "the rows file");
  const YAML::Node& rows = doc.required(doc.root(), "rows", "the rows file");
  doc.require_seq(rows, "'rows'");
  std::vector<Row> out;
  for (const auto& n : rows) {
    out.push_back(row(doc, n));
    for (size_t i = 0; i + 1 < out.size(); ++i)
      if (out[i].id == out.back().id) doc.fail(n["id"], fmt::format("row id '{}' is used twice", out.back().id), "give every row its own id");
  }
  return out;
}

}  // namespace clustertwin::cli
