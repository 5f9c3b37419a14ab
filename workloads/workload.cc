#include "workloads/workload.h"

#include <fmt/format.h>

#include "core/yaml_doc.h"
#include "workloads/ddp.h"

namespace clustertwin::work {

namespace {
core::DType dtype(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what) {
  std::string s = doc.choice(n, {"fp32", "bf16", "fp16"}, what);
  return s == "fp32" ? core::DType::F32 : s == "bf16" ? core::DType::BF16 : core::DType::F16;
}

Workload build(const core::YamlDoc& doc) {
  const YAML::Node& root = doc.root();
  doc.check_keys(root, {"name", "description", "model", "task", "batch", "precision", "parallel", "steps"}, "a workload");
  Workload w;
  w.file = doc.name();
  w.name = doc.string(doc.required(root, "name", "the workload"), "name");
  w.model = *find_model(doc.choice(doc.required(root, "model", "the workload"), model_names(), "model preset"));
  doc.choice(doc.required(root, "task", "the workload"), {"train"}, "task");

  const YAML::Node& batch = doc.required(root, "batch", "the workload");
  doc.check_keys(batch, {"micro_batch", "seq_len"}, "'batch'");
  w.micro_batch = doc.integer(doc.required(batch, "micro_batch", "'batch'"), "micro_batch", 1, 1 << 20);
  w.seq_len = doc.integer(doc.required(batch, "seq_len", "'batch'"), "seq_len", 1, 1 << 24);
  if (w.model.context > 0 && w.seq_len > w.model.context)
    doc.fail(batch["seq_len"], fmt::format("seq_len {} exceeds the {} positions of model '{}'", w.seq_len, w.model.context, w.model.name),
             fmt::format("use seq_len: {} or less", w.model.context));

  if (const YAML::Node& prec = root["precision"]) {
    doc.check_keys(prec, {"compute", "gradients"}, "'precision'");
    if (prec["compute"]) w.compute_dtype = dtype(doc, prec["compute"], "compute precision");
    if (prec["gradients"]) w.grad_dtype = dtype(doc, prec["gradients"], "gradient precision");
  }

  const YAML::Node& par = doc.required(root, "parallel", "the workload");
  doc.check_keys(par, {"strategy", "allreduce"}, "'parallel'");
  w.strategy = doc.choice(doc.required(par, "strategy", "'parallel'"), {"ddp"}, "parallel strategy");
  if (par["allreduce"]) doc.choice(par["allreduce"], {"ring"}, "all-reduce algorithm");

  if (root["steps"]) w.steps = static_cast<int32_t>(doc.integer(root["steps"], "steps", 1, 1000000));
  return w;
}
}  // namespace

Workload load_workload(const std::string& path, const std::string& origin) {
  return build(core::YamlDoc::load(path, origin));
}

Workload parse_workload(const std::string& yaml_text, const std::string& file_name) {
  return build(core::YamlDoc::parse(yaml_text, file_name));
}

core::Program compile(const Workload& w, const topo::Topology& t) {
  int world = static_cast<int>(t.compute_nodes().size());
  return compile_ddp(w, world);
}

}  // namespace clustertwin::work
