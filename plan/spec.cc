#include "plan/spec.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::plan {

namespace {

// Axes that set one workload key: the axis name, the key's path, what the table calls it.
struct KeyAxis {
  const char* axis;
  const char* path;
  const char* label;
};
constexpr KeyAxis kKeyAxes[] = {
    {"micro_batch", "batch.micro_batch", "mb"},      {"micro_batches", "parallel.micro_batches", "acc"},
    {"recompute", "memory.activation_checkpointing", "recompute"},
    {"bucket", "parallel.bucket", "bucket"},          {"allreduce", "parallel.allreduce", "allreduce"},
    {"zero_stage", "parallel.stage", "stage"},        {"schedule", "parallel.schedule", "schedule"},
    {"prefetch", "parallel.prefetch", "prefetch"},    {"dp", "parallel.dp", "dp"},
    {"tp", "parallel.tp", "tp"},                      {"pp", "parallel.pp", "pp"},
    {"ep", "parallel.ep", "ep"},                      {"batch", "batch.size", "batch"},
    {"context", "batch.prompt", "context"},           {"generate", "batch.generate", "generate"},
    {"weights", "precision.weights", "weights"},      {"kv_cache", "precision.kv_cache", "kv"},
    {"split", "parallel.split", "split"},           {"placement", "placement", "placement"},
    {"runtime", "runtime", "runtime"},
};



std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.as<std::string>();
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << n;
  return out.c_str();
}

// The values of an axis: a list, or one value alone.
std::vector<YAML::Node> values_of(const core::YamlDoc& doc, const YAML::Node& n, const std::string& key) {
  std::vector<YAML::Node> out;
  if (n.IsSequence()) {
    for (const auto& v : n) out.push_back(v);
  } else if (n.IsScalar() || n.IsMap()) {
    out.push_back(n);
  }
  if (out.empty()) doc.fail(n, fmt::format("axis '{}' has no values", key), fmt::format("write {}: [a, b, ...]", key));
  return out;
}

AxisValue strategy_value(const core::YamlDoc& doc, const YAML::Node& v) {
  YAML::Node parallel(YAML::NodeType::Map);
  if (v.IsScalar()) {
    parallel["strategy"] = v.as<std::string>();
  } else {
    doc.require_map(v, "a strategy (a name, or the whole 'parallel:' block as a mapping)");
    if (!v["strategy"]) doc.fail(v, "a strategy mapping needs 'strategy:'", "e.g. {strategy: hybrid, tp: 2, pp: 2}");
    parallel = YAML::Clone(v);
  }
  const YAML::Node s = v.IsScalar() ? v : v["strategy"];
  std::vector<std::string> names{"ddp", "fsdp", "zero", "pipeline", "tensor", "hybrid", "parameter-server", "replicas",
                                 "expert"};
  doc.choice(s, names, "parallel strategy");
  std::string label = parallel["strategy"].as<std::string>();
  std::vector<std::string> extra;
  for (const auto& kv : parallel)
    if (kv.first.as<std::string>() != "strategy")
      extra.push_back(fmt::format("{}={}", kv.first.as<std::string>(), scalar_text(kv.second)));
  if (!extra.empty()) label += fmt::format("({})", fmt::join(extra, ","));
  return {label, {SetParallel{parallel}}};
}

AxisValue add_nodes_value(const core::YamlDoc& doc, const YAML::Node& v, const std::string& device) {
  const int count = static_cast<int>(doc.integer(v, "a number of nodes to add", 0, 64));
  std::string label = fmt::format("+{} {}", count, device.empty() ? (count == 1 ? "node" : "nodes") : device);
  return {label, {AddNodes{count, device}}};
}

}  // namespace

std::string_view name(Objective o) {
  switch (o) {
    case Objective::TokensPerSecond: return "tokens/s";
    case Objective::StepTime: return "step-time";
    case Objective::TimeToTrain: return "time-to-train";
    case Objective::JoulesPerToken: return "J/token";
    case Objective::TokensPerDollar: return "tokens/s/$";
  }
  return "?";
}

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names{"tokens/s", "step-time", "time-to-train", "J/token", "tokens/s/$"};
  return names;
}

Objective objective_named(const std::string& n) {
  const Objective all[] = {Objective::TokensPerSecond, Objective::StepTime, Objective::TimeToTrain,
                           Objective::JoulesPerToken, Objective::TokensPerDollar};
  const auto& names = objective_names();
  const auto at = std::find(names.begin(), names.end(), n);
  return at == names.end() ? Objective::TokensPerSecond : all[at - names.begin()];
}

const std::vector<std::string>& axis_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k{"remove_nodes", "add_nodes", "device", "link", "shape", "cluster", "strategy"};
    for (const auto& a : kKeyAxes) k.emplace_back(a.axis);
    return k;
  }();
  return keys;
}

Axis parse_axis(const core::YamlDoc& doc, const std::string& key, const YAML::Node& n) {
  Axis axis{key, {}, doc.pos(n)};
  if (key == "add_nodes" && n.IsMap()) {  // {device: mac-mini-m4, count: [0, 1, 2]}
    doc.check_keys(n, {"device", "count"}, "'add_nodes'");
    std::string device = n["device"] ? doc.choice(n["device"], topo::device_names(), "device preset") : "";
    for (const auto& v : values_of(doc, doc.required(n, "count", "'add_nodes'"), key))
      axis.values.push_back(add_nodes_value(doc, v, device));
    return axis;
  }
  for (const auto& v : values_of(doc, n, key)) {
    if (key == "cluster") {  // several cluster edits as one value: {link: eth-10g, shape: switch}
      doc.require_map(v, "a cluster value ({add_nodes: 1, device: ..., link: ..., shape: ...})");
      doc.check_keys(v, {"remove_nodes", "add_nodes", "device", "link", "shape"}, "a cluster value");
      AxisValue joined;
      for (const auto& kv : v) {
        if (kv.second.IsSequence()) doc.fail(kv.second, "a cluster value takes one value per key", "list the combinations as separate values");
        const Axis one = parse_axis(doc, kv.first.as<std::string>(), kv.second);
        const AxisValue& part = one.values.front();
        joined.label += (joined.label.empty() ? "" : " ") + part.label;
        joined.edits.insert(joined.edits.end(), part.edits.begin(), part.edits.end());
      }
      axis.values.push_back(std::move(joined));
    } else if (key == "remove_nodes") {  // a node name, a list of them, or none
      RemoveNodes r{{}, doc.pos(v)};
      if (v.IsSequence())
        for (const auto& n : v) r.names.push_back(doc.string(n, "a node name"));
      else if (doc.string(v, "a node name") != "none")
        r.names.push_back(v.as<std::string>());
      std::string label = r.names.empty() ? "-none" : "";
      for (const auto& n : r.names) label += (label.empty() ? "-" : " -") + n;
      axis.values.push_back({label, {r}});
    } else if (key == "add_nodes") {
      axis.values.push_back(add_nodes_value(doc, v, ""));
    } else if (key == "device") {
      std::string d = doc.choice(v, topo::device_names(), "device preset");
      axis.values.push_back({d, {ReplaceDevice{d}}});
    } else if (key == "link" && v.IsMap()) {  // {between: [macbook, ap], type: eth-1g}: one cable
      doc.check_keys(v, {"between", "type"}, "a link value");
      const YAML::Node ends = doc.required(v, "between", "a link value");
      if (!ends.IsSequence() || ends.size() != 2) doc.fail(ends, "expected 'between' to name two nodes", "between: [mini1, mini2]");
      const std::string t = doc.choice(doc.required(v, "type", "a link value"), topo::link_type_names(), "link type preset");
      SetLinkType e{t, {doc.string(ends[0], "a node name"), doc.string(ends[1], "a node name")}, doc.pos(ends)};
      axis.values.push_back({fmt::format("{}-{} {}", e.between[0], e.between[1], t), {e}});
    } else if (key == "link") {
      std::string t = doc.choice(v, topo::link_type_names(), "link type preset");
      axis.values.push_back({t, {SetLinkType{t}}});
    } else if (key == "shape") {
      const std::vector<std::string> shapes{"star", "chain", "ring", "mesh", "switch"};
      std::string s = doc.choice(v, shapes, "shape");
      const Shape all[] = {Shape::Star, Shape::Chain, Shape::Ring, Shape::Mesh, Shape::Switch};
      axis.values.push_back({s, {Reshape{all[std::find(shapes.begin(), shapes.end(), s) - shapes.begin()]}}});
    } else if (key == "strategy") {
      axis.values.push_back(strategy_value(doc, v));
    } else if (key.find('.') != std::string::npos) {  // any workload key by its path
      axis.values.push_back({fmt::format("{}={}", key, scalar_text(v)), {SetKey{key, YAML::Clone(v)}}});
    } else {
      const KeyAxis* k = nullptr;
      for (const auto& a : kKeyAxes)
        if (key == a.axis) k = &a;
      if (!k) {
        std::string close = core::closest_name(key, axis_keys());
        doc.fail(n, fmt::format("unknown axis '{}'", key),
                 close.empty() ? fmt::format("axes: {}, or a workload key by its path (parallel.prefetch)",
                                             fmt::join(axis_keys(), ", "))
                               : fmt::format("did you mean '{}'?", close));
      }
      if (!v.IsScalar()) doc.fail(v, fmt::format("expected a value for axis '{}'", key), "write a number, a name or true/false");
      axis.values.push_back({fmt::format("{}={}", k->label, v.as<std::string>()), {SetKey{k->path, YAML::Clone(v)}}});
    }
  }
  return axis;
}

namespace {
Spec spec_of(const core::YamlDoc& doc) {
  const std::string& file_name = doc.name();
  const YAML::Node& root = doc.root();
  doc.check_keys(root, {"name", "description", "topology", "workload", "objective", "train_tokens", "headroom",
                        "global_batch", "sim_steps", "axes"},
                 "the plan");
  Spec s;
  s.file = file_name;
  const auto dir = std::filesystem::path(file_name).parent_path();
  auto path = [&](const char* key) {
    std::string p = doc.string(doc.required(root, key, "the plan"), key);
    return std::filesystem::path(p).is_absolute() ? p : (dir / p).lexically_normal().string();
  };
  s.topology = path("topology");
  s.workload = path("workload");
  if (root["objective"]) {
    s.objective = objective_named(doc.choice(root["objective"], objective_names(), "objective"));
  }
  if (root["train_tokens"]) {
    s.train_tokens = doc.number(root["train_tokens"], "train_tokens");
    if (!(s.train_tokens > 0)) doc.fail(root["train_tokens"], "train_tokens must be positive", "e.g. train_tokens: 1e9");
  }
  if (s.objective == Objective::TimeToTrain && !(s.train_tokens > 0))
    doc.fail(root["objective"], "objective time-to-train needs 'train_tokens'", "add train_tokens: 1e9");
  if (root["headroom"]) {
    std::string h = doc.string(root["headroom"], "headroom");
    double v = 0;
    try {
      v = h.ends_with('%') ? std::stod(h.substr(0, h.size() - 1)) / 100 : std::stod(h);
    } catch (const std::exception&) {
      v = -1;
    }
    if (!(v >= 0 && v < 1)) doc.fail(root["headroom"], fmt::format("headroom '{}' is not a fraction in [0, 1)", h), "e.g. headroom: 10%");
    s.headroom = v;
  }
  if (root["global_batch"]) {
    s.global_batch = doc.integer(root["global_batch"], "global_batch", 1, 1 << 24);
  }
  if (root["sim_steps"]) s.sim_steps = static_cast<int>(doc.integer(root["sim_steps"], "sim_steps", 0, 1000000));
  if (root["axes"]) {
    doc.require_map(root["axes"], "'axes'");
    for (const auto& kv : root["axes"]) s.axes.push_back(parse_axis(doc, doc.string(kv.first, "an axis"), kv.second));
  }
  return s;
}

}  // namespace

Spec parse_spec(const std::string& text, const std::string& file_name) {
  return spec_of(core::YamlDoc::parse(text, file_name));
}

Spec load_spec(const std::string& path) { return spec_of(core::YamlDoc::load(path, "PLAN")); }

}  // namespace clustertwin::plan
