// A plan: a base topology and workload, and axes whose values are edits of them. Every candidate is
// the base plus one value of each axis (the cartesian product); `clustertwin plan` evaluates them
// all. Written as a small YAML file (plans/README.md has the schema) or with flags for the common
// axes; both build the same Spec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/diag.h"
#include "core/yaml_doc.h"

namespace clustertwin::plan {

// Cluster edits (plan/edits.h applies them to the topology's YAML).
struct RemoveNodes {
  std::vector<std::string> names;  // nodes of the base, removed with their links
  core::SourcePos pos;             // where the plan names them (checked against the base)
};
struct AddNodes {
  int count = 0;
  std::string device;  // a device preset; "" = the base's first compute node's
};
struct ReplaceDevice {
  std::string device;  // every compute node gets this preset (and loses its per-node figure overrides)
};
struct SetLinkType {
  std::string type;  // the links take this preset (and lose their per-link figure overrides)
  // Only the links between these two nodes (either direction); empty: every link.
  std::vector<std::string> between{};
  core::SourcePos pos{};  // where the plan names them (checked against the base)
};
enum class Shape { Star, Chain, Ring, Mesh, Switch };
struct Reshape {
  Shape shape = Shape::Star;
};
// Workload edits.
struct SetParallel {
  YAML::Node parallel;  // replaces `parallel:`; keys other axes set are applied after it
};
// One key by its path ("parallel.bucket", "batch.micro_batch", "precision.weights"). Under
// `parallel.` a key the final strategy does not take is dropped (a bucket means nothing to a
// pipeline), so the candidate becomes a duplicate rather than an error.
struct SetKey {
  std::string path;
  YAML::Node value;
};
// In the order they apply (plan/edits.h): the topology's, then the workload's.
using Edit = std::variant<RemoveNodes, AddNodes, ReplaceDevice, SetLinkType, Reshape, SetParallel, SetKey>;

std::string_view name(Shape);

struct AxisValue {
  std::string label;  // as the table prints it: "tb5", "fsdp", "mb=4"
  std::vector<Edit> edits;
};
struct Axis {
  std::string name;
  std::vector<AxisValue> values;
  core::SourcePos pos;
};

// Higher tokens/s first; the others lower first. JoulesPerToken: the compute nodes' devices at
// their preset power (watts at the wall under load) over tokens/s; unknown power ranks last.
// TokensPerDollar: tokens/s over the devices' list prices (higher first; unknown prices last).
enum class Objective { TokensPerSecond, StepTime, TimeToTrain, JoulesPerToken, TokensPerDollar };
std::string_view name(Objective);
const std::vector<std::string>& objective_names();  // as plan files and --objective write them
Objective objective_named(const std::string& name);  // one of objective_names()

struct Spec {
  std::string file;  // the plan file ("" from flags only)
  std::string topology, workload;  // base paths (a plan file's are relative to it)
  std::vector<Axis> axes;
  Objective objective = Objective::TokensPerSecond;
  double train_tokens = 0;  // TimeToTrain: tokens to train
  double headroom = 0;      // fraction of each rank's usable memory kept free
  // Training: the global batch (sequences per step, all replicas) held fixed while micro-batch and
  // degrees vary; gradient accumulation (`micro_batches`) makes up the rest. nullopt: not fixed.
  std::optional<int64_t> global_batch;
  // Training steps simulated per candidate (0: the workload's). Synchronous training repeats one
  // step exactly once the first is done (per-step times agree to 1e-9), so 2 rank candidates as
  // the workload's 10 would, at a fifth of the simulation; the written winner keeps its steps.
  // Inference (prefill then decode with a growing cache) and the asynchronous parameter server
  // (steps overlap) always run the workload's steps.
  int sim_steps = 2;
};

// Throws core::InputError naming file:line:col.
Spec load_spec(const std::string& path);
Spec parse_spec(const std::string& text, const std::string& file_name);

// One axis from its key and YAML value: the plan file's `axes:` entries, and the flags, whose
// values are parsed as YAML named after the flag (so errors point at "--link:1:6").
Axis parse_axis(const core::YamlDoc& doc, const std::string& key, const YAML::Node& values);

// The axis keys a plan understands, for did-you-mean hints and the README.
const std::vector<std::string>& axis_keys();

}  // namespace clustertwin::plan
