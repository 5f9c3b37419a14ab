#include "workloads/workload.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/yaml_doc.h"
#include "workloads/collectives.h"

namespace clustertwin::work {

std::string_view name(Strategy s) {
  constexpr std::string_view names[] = {"ddp", "zero", "pipeline", "tensor", "hybrid", "parameter-server", "replicas"};
  return names[static_cast<int>(s)];
}

std::string_view name(Schedule s) {
  constexpr std::string_view names[] = {"gpipe", "1f1b", "interleaved"};
  return names[static_cast<int>(s)];
}

void fail_at(const Where& w, std::string_view message, std::string_view hint) {
  throw core::InputError(core::format_diagnostic(w.pos, w.line, message, hint));
}

namespace {
const std::vector<std::string> kDTypeNames{"fp32", "bf16", "fp16", "int8", "int4"};
const std::vector<std::string> kAlgorithmNames{"ring", "tree", "direct", "halving-doubling", "hierarchical"};

core::DType dtype(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what,
                  const std::vector<std::string>& allowed = kDTypeNames) {
  std::string s = doc.choice(n, allowed, what);
  return static_cast<core::DType>(std::find(kDTypeNames.begin(), kDTypeNames.end(), s) - kDTypeNames.begin());
}

core::Algorithm algorithm(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what) {
  std::string s = doc.choice(n, kAlgorithmNames, what);
  return static_cast<core::Algorithm>(std::find(kAlgorithmNames.begin(), kAlgorithmNames.end(), s) -
                                      kAlgorithmNames.begin());
}

// The text of the file being read, for Where (YamlDoc keeps its own copy private).
using Lines = std::vector<std::string>;

Where where(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& n) {
  core::SourcePos p = doc.pos(n);
  std::string line;
  if (p.line >= 1 && static_cast<size_t>(p.line) <= lines.size()) line = lines[p.line - 1];
  return {p, line};
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

int64_t positive(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what, int64_t max = int64_t{1} << 40) {
  return doc.integer(n, what, 1, max);
}

// ---- model ------------------------------------------------------------------------------------
ModelShape explicit_model(const core::YamlDoc& doc, const YAML::Node& n) {
  doc.check_keys(n, {"preset", "name", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab", "context",
                     "max_seq", "tied_embeddings", "mlp", "norm", "bias", "qk_norm", "experts", "experts_per_token",
                     "expert_ffn"},
                 "'model'");
  ModelShape m;
  if (n["preset"]) m = *find_model(doc.choice(n["preset"], model_names(), "model preset"));
  else {
    for (const char* key : {"layers", "hidden", "heads", "vocab"}) doc.required(n, key, "an explicit model shape");
    if (!n["ffn"] && !n["experts"]) doc.required(n, "ffn", "an explicit model shape");
    m.name = "custom";
  }
  if (n["name"]) m.name = doc.string(n["name"], "model name");
  auto set = [&](const char* key, int64_t& field, int64_t min) {
    if (n[key]) field = doc.integer(n[key], key, min, int64_t{1} << 40);
  };
  set("layers", m.layers, 1);
  set("hidden", m.hidden, 1);
  set("heads", m.heads, 1);
  set("kv_heads", m.kv_heads, 1);
  set("head_dim", m.head_dim, 1);
  set("ffn", m.ffn, 1);
  set("vocab", m.vocab, 1);
  set("context", m.context, 0);
  set("max_seq", m.max_seq, 0);
  set("experts", m.experts, 0);
  set("experts_per_token", m.experts_per_token, 1);
  set("expert_ffn", m.expert_ffn, 1);
  if (n["tied_embeddings"]) m.tied_embeddings = doc.boolean(n["tied_embeddings"], "tied_embeddings");
  if (n["bias"]) m.bias = doc.boolean(n["bias"], "bias");
  if (n["qk_norm"]) m.qk_norm = doc.boolean(n["qk_norm"], "qk_norm");
  if (n["mlp"]) m.mlp = doc.choice(n["mlp"], {"gelu", "swiglu"}, "MLP kind") == "gelu" ? Mlp::Gelu : Mlp::SwiGlu;
  if (n["norm"]) m.norm = doc.choice(n["norm"], {"layernorm", "rmsnorm"}, "norm kind") == "layernorm" ? Norm::LayerNorm : Norm::RmsNorm;
  if (std::string why = check_shape(m); !why.empty()) doc.fail(n, fmt::format("inconsistent model shape: {}", why));
  return m;
}

ModelShape model(const core::YamlDoc& doc, const YAML::Node& n) {
  if (n.IsMap()) return explicit_model(doc, n);
  return *find_model(doc.choice(n, model_names(), "model preset"));
}

// ---- precision ----------------------------------------------------------------------------------
Precision precision(const core::YamlDoc& doc, const YAML::Node& n, Task task) {
  Precision p;
  if (!n) return p;
  doc.check_keys(n, {"weights", "compute", "gradients", "optimizer", "kv_cache", "master_weights"}, "'precision'");
  const std::vector<std::string> floats{"fp32", "bf16", "fp16"};
  if (n["compute"]) p.compute = dtype(doc, n["compute"], "compute precision", floats);
  p.weights = n["weights"] ? dtype(doc, n["weights"], "weight precision") : p.compute;
  p.gradients = n["gradients"] ? dtype(doc, n["gradients"], "gradient precision", floats) : p.compute;
  if (n["optimizer"]) p.optimizer = dtype(doc, n["optimizer"], "optimizer state precision", floats);
  p.kv_cache = n["kv_cache"] ? dtype(doc, n["kv_cache"], "KV cache precision") : p.compute;
  if (task == Task::Train && (p.weights == core::DType::I8 || p.weights == core::DType::I4))
    doc.fail(n["weights"], "quantized weights are for inference only", "train with fp32, bf16 or fp16 weights");
  p.master_weights = task == Task::Train && p.weights != core::DType::F32;
  if (n["master_weights"]) p.master_weights = doc.boolean(n["master_weights"], "master_weights");
  return p;
}

// ---- parallel -----------------------------------------------------------------------------------
// The keys each strategy understands; any other is an error, so a key never silently does nothing.
std::vector<std::string_view> keys_for(Strategy s, Task task) {
  std::vector<std::string_view> k{"strategy"};
  auto add = [&](std::initializer_list<std::string_view> more) { k.insert(k.end(), more); };
  if (task == Task::Infer) {  // no gradients: no data-parallel collectives, schedules or ZeRO
    if (s == Strategy::Pipeline || s == Strategy::Hybrid) add({"pp", "split"});
    if (s == Strategy::Tensor || s == Strategy::Hybrid) add({"tp", "tp_allreduce", "placement", "local"});
    if (s != Strategy::Replicas) add({"dp"});
    return k;
  }
  switch (s) {
    case Strategy::Ddp: add({"allreduce", "local", "bucket", "micro_batches"}); break;
    case Strategy::Zero: add({"allreduce", "local", "stage", "bucket", "prefetch", "micro_batches"}); break;
    case Strategy::Pipeline:
      add({"allreduce", "local", "pp", "dp", "schedule", "micro_batches", "virtual_stages", "split"});
      break;
    case Strategy::Tensor: add({"allreduce", "local", "tp", "dp", "tp_allreduce", "placement", "micro_batches"}); break;
    case Strategy::Hybrid:
      add({"allreduce", "local", "dp", "tp", "pp", "tp_allreduce", "schedule", "micro_batches", "virtual_stages", "split",
           "placement", "stage"});
      break;
    case Strategy::ParameterServer: add({"mode", "staleness", "server", "push"}); break;
    case Strategy::Replicas: break;
  }
  return k;
}

void check_strategy_keys(const core::YamlDoc& doc, const YAML::Node& par, Strategy s, Task task) {
  auto allowed = keys_for(s, task);
  for (const auto& kv : par) {
    std::string key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    std::string close = core::closest_name(key, names);
    doc.fail(kv.first, fmt::format("'{}' does not apply to the {} strategy", key, name(s)),
             close.empty() ? fmt::format("{} takes: {}", name(s), fmt::join(allowed, ", "))
                           : fmt::format("did you mean '{}'?", close));
  }
}

Strategy strategy(const core::YamlDoc& doc, const YAML::Node& n, Task task, int& zero_stage) {
  std::vector<std::string> names{"ddp", "fsdp", "zero", "pipeline", "tensor", "hybrid", "parameter-server", "replicas"};
  std::string s = doc.choice(n, names, "parallel strategy");
  const std::vector<std::string> train_only{"ddp", "fsdp", "zero", "parameter-server"};
  if (task == Task::Infer && std::find(train_only.begin(), train_only.end(), s) != train_only.end())
    doc.fail(n, fmt::format("'{}' is a training strategy", s), "for inference use replicas, tensor, pipeline or hybrid");
  if (task == Task::Train && s == "replicas")
    doc.fail(n, "'replicas' is an inference strategy", "for training use ddp, fsdp, zero, pipeline, tensor or hybrid");
  if (s == "fsdp") {
    zero_stage = 3;
    return Strategy::Zero;
  }
  const Strategy all[] = {Strategy::Ddp, Strategy::Zero, Strategy::Zero, Strategy::Pipeline, Strategy::Tensor,
                          Strategy::Hybrid, Strategy::ParameterServer, Strategy::Replicas};
  return all[std::find(names.begin(), names.end(), s) - names.begin()];
}

std::vector<int64_t> divisors(int64_t x) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= x && d.size() < 8; ++i)
    if (x % i == 0) d.push_back(i);
  return d;
}

void check_tp(const core::YamlDoc& doc, const YAML::Node& at, const ModelShape& m, int tp) {
  if (tp <= 1) return;
  int64_t g = std::gcd(m.heads, m.kv());
  auto hint = [&](int64_t of) { return fmt::format("tp must divide {}: try tp: {}", of, fmt::join(divisors(of), ", ")); };
  if (m.heads % tp != 0)
    doc.fail(at, fmt::format("tensor parallel degree {} does not divide the {} attention heads of '{}'", tp, m.heads, m.name),
             hint(g));
  if (m.kv() % tp != 0)
    doc.fail(at, fmt::format("tensor parallel degree {} does not divide the {} key/value heads of '{}'", tp, m.kv(), m.name),
             hint(g));
  int64_t f = m.moe() ? m.expert_ffn : m.ffn;
  if (f % tp != 0)
    doc.fail(at, fmt::format("tensor parallel degree {} does not divide the MLP width {} of '{}'", tp, f, m.name),
             hint(std::gcd(g, f)));
}

void check_pp(const core::YamlDoc& doc, const YAML::Node& at, const ModelShape& m, int pp, int virtual_stages) {
  if (pp * virtual_stages > m.layers)
    doc.fail(at, fmt::format("{} pipeline stages{} but '{}' has {} layers: every stage needs at least one", pp * virtual_stages,
                             virtual_stages > 1 ? fmt::format(" ({} x {} virtual)", pp, virtual_stages) : "", m.name, m.layers),
             fmt::format("use pp: {} or fewer", m.layers / virtual_stages));
}

Parallel parallel(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& par, const Workload& w) {
  Parallel p;
  doc.require_map(par, "'parallel'");
  p.where = where(doc, lines, par);
  p.strategy = strategy(doc, doc.required(par, "strategy", "'parallel'"), w.task, p.zero_stage);
  check_strategy_keys(doc, par, p.strategy, w.task);
  auto degree = [&](const char* key, int& field, Where& at) {
    if (!par[key]) return;
    field = static_cast<int>(doc.integer(par[key], key, 1, 1 << 20));
    at = where(doc, lines, par[key]);
  };
  degree("dp", p.dp, p.dp_where);
  degree("tp", p.tp, p.tp_where);
  degree("pp", p.pp, p.pp_where);
  if (p.strategy == Strategy::Pipeline && !par["pp"]) p.pp = 0;  // all ranks, resolved at compile
  if (p.strategy == Strategy::Tensor && !par["tp"]) p.tp = 0;
  if (par["allreduce"]) p.allreduce = algorithm(doc, par["allreduce"], "all-reduce algorithm");
  if (par["tp_allreduce"]) p.tp_algorithm = algorithm(doc, par["tp_allreduce"], "tensor-parallel all-reduce algorithm");
  if (par["local"]) p.hierarchical_local = static_cast<int32_t>(positive(doc, par["local"], "local", 1 << 20));
  if (par["bucket"]) {
    const YAML::Node& b = par["bucket"];
    p.bucket_bytes = doc.string(b, "bucket") == "all" ? 0 : doc.quantity(b, core::Quantity::Bytes, "bucket");
  } else if (p.strategy == Strategy::Ddp || p.strategy == Strategy::Zero || p.strategy == Strategy::Hybrid) {
    p.bucket_bytes = 25e6;  // PyTorch DDP's default bucket_cap_mb = 25
  }
  if (par["stage"]) {
    if (p.zero_stage == 3) doc.fail(par["stage"], "fsdp is ZeRO stage 3", "write 'strategy: zero' to choose another stage");
    int most = p.strategy == Strategy::Hybrid ? 1 : 3;  // with pipelines, only the optimizer state is sharded
    p.zero_stage = static_cast<int>(doc.integer(par["stage"], "ZeRO stage", p.strategy == Strategy::Zero ? 1 : 0, most));
  } else if (p.strategy == Strategy::Zero && p.zero_stage == 0) {
    doc.fail(par, "the zero strategy needs its stage", "add 'stage: 1', 2 or 3 (or write strategy: fsdp for stage 3)");
  }
  if (p.zero_stage == 3 && par["bucket"])
    doc.fail(par["bucket"], "'bucket' does not apply to ZeRO stage 3: each unit's gradient is reduce-scattered on its own");
  if (p.zero_stage < 3 && par["prefetch"])
    doc.fail(par["prefetch"], "'prefetch' applies to ZeRO stage 3 (fsdp): the stage that gathers parameters");
  if (par["prefetch"]) p.prefetch = static_cast<int>(doc.integer(par["prefetch"], "prefetch", 0, 64));
  if (par["schedule"]) {
    std::string s = doc.choice(par["schedule"], {"gpipe", "1f1b", "interleaved"}, "pipeline schedule");
    p.schedule = s == "gpipe" ? Schedule::GPipe : s == "1f1b" ? Schedule::OneFOneB : Schedule::Interleaved;
  }
  if (par["micro_batches"]) p.micro_batches = static_cast<int>(doc.integer(par["micro_batches"], "micro_batches", 1, 1 << 16));
  if (par["virtual_stages"]) {
    p.virtual_stages = static_cast<int>(doc.integer(par["virtual_stages"], "virtual_stages", 1, 64));
    if (p.virtual_stages > 1 && p.schedule != Schedule::Interleaved)
      doc.fail(par["virtual_stages"], "virtual_stages needs the interleaved schedule", "add 'schedule: interleaved'");
  } else if (p.schedule == Schedule::Interleaved) {
    p.virtual_stages = 2;
  }
  if (const YAML::Node& s = par["split"]) {
    if (s.IsSequence()) {
      p.split = Split::Layers;
      for (const auto& e : s) p.stage_layers.push_back(positive(doc, e, "layers of a stage"));
      int64_t sum = std::accumulate(p.stage_layers.begin(), p.stage_layers.end(), int64_t{0});
      if (sum != w.model.layers)
        doc.fail(s, fmt::format("the stages hold {} layers but '{}' has {}", sum, w.model.name, w.model.layers));
      if (par["pp"] && static_cast<int>(p.stage_layers.size()) != p.pp)
        doc.fail(s, fmt::format("{} stage sizes for pp: {}", p.stage_layers.size(), p.pp));
      p.pp = static_cast<int>(p.stage_layers.size());
    } else {
      std::string v = doc.choice(s, {"even", "speed", "memory"}, "stage split");
      p.split = v == "even" ? Split::Even : v == "speed" ? Split::Speed : Split::Memory;
    }
  }
  if (par["placement"])
    p.tp_inside_fast_links = doc.choice(par["placement"], {"fast-links", "file-order"}, "placement") == "fast-links";
  if (par["mode"]) p.async = doc.choice(par["mode"], {"sync", "async"}, "parameter-server mode") == "async";
  if (par["staleness"]) {
    if (!p.async) doc.fail(par["staleness"], "a staleness bound applies to 'mode: async' only");
    p.staleness = static_cast<int>(doc.integer(par["staleness"], "staleness", 0, 1000));
  }
  if (par["server"]) p.server = static_cast<int32_t>(doc.integer(par["server"], "server rank", 0, 1 << 20));
  if (par["push"]) p.push_dtype = dtype(doc, par["push"], "gradient push precision", {"fp32", "bf16", "fp16", "int8"});

  for (const char* key : {"allreduce", "tp_allreduce"}) {
    if (!par[key] || doc.string(par[key], key) != "hierarchical" || par["local"]) continue;
    doc.fail(par[key], "the hierarchical algorithm needs its block size", "add 'local: N' (ranks per block, e.g. per machine)");
  }
  if (par["allreduce"]) {
    bool shards = p.zero_stage >= 1;  // reduce-scatter and all-gather instead of all-reduce
    for (auto kind : {core::CollectiveKind::AllReduce, core::CollectiveKind::ReduceScatter, core::CollectiveKind::AllGather}) {
      if (!shards && kind != core::CollectiveKind::AllReduce) continue;
      if (shards && kind == core::CollectiveKind::AllReduce) continue;
      if (std::string why = unsupported(kind, p.allreduce); !why.empty())
        doc.fail(par["allreduce"], why.substr(0, why.find(" (")),
                 "ZeRO reduce-scatters the gradients and all-gathers the parameters: use ring, halving-doubling, "
                 "hierarchical or direct");
    }
  }
  if (par["tp"]) check_tp(doc, par["tp"], w.model, p.tp);
  if (par["pp"]) check_pp(doc, par["pp"], w.model, p.pp, p.virtual_stages);
  if (p.strategy == Strategy::Pipeline || p.strategy == Strategy::Hybrid) {
    if (p.schedule == Schedule::Interleaved && p.micro_batches % std::max(p.pp, 1) != 0 && p.pp > 0)
      doc.fail(par["micro_batches"] ? par["micro_batches"] : par,
               fmt::format("the interleaved schedule needs micro_batches to be a multiple of pp ({})", p.pp));
  }
  return p;
}

MemoryRules memory(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& n) {
  MemoryRules m;
  if (!n) return m;
  doc.check_keys(n, {"usable_fraction", "check", "activation_checkpointing"}, "'memory'");
  m.where = where(doc, lines, n);
  if (n["usable_fraction"]) {
    double f = doc.number(n["usable_fraction"], "usable_fraction");
    if (f <= 0 || f > 1) doc.fail(n["usable_fraction"], fmt::format("usable_fraction must be in (0, 1], got {}", f));
    m.usable_fraction = f;
  }
  if (n["check"]) m.check = doc.boolean(n["check"], "memory check");
  if (n["activation_checkpointing"]) m.activation_checkpointing = doc.boolean(n["activation_checkpointing"], "activation_checkpointing");
  return m;
}

void batch(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& b, Workload& w) {
  w.batch_where = where(doc, lines, b);
  if (w.task == Task::Train) {
    doc.check_keys(b, {"micro_batch", "seq_len"}, "'batch'");
    w.micro_batch = doc.integer(doc.required(b, "micro_batch", "'batch'"), "micro_batch", 1, 1 << 20);
    w.seq_len = doc.integer(doc.required(b, "seq_len", "'batch'"), "seq_len", 1, 1 << 24);
  } else {
    doc.check_keys(b, {"size", "prompt", "generate"}, "'batch' (inference)");
    w.micro_batch = doc.integer(doc.required(b, "size", "'batch'"), "batch size", 1, 1 << 20);
    w.prompt = doc.integer(doc.required(b, "prompt", "'batch'"), "prompt", 1, 1 << 24);
    w.generate = doc.integer(doc.required(b, "generate", "'batch'"), "generate", 1, 1 << 20);
    w.seq_len = w.prompt + w.generate;
  }
  const int64_t longest = w.model.longest_sequence();
  if (longest > 0 && w.seq_len > longest) {
    const YAML::Node& at = w.task == Task::Train ? b["seq_len"] : b["generate"];
    std::string what = w.task == Task::Train ? fmt::format("seq_len {}", w.seq_len)
                                             : fmt::format("prompt + generate = {}", w.seq_len);
    doc.fail(at, fmt::format("{} exceeds the {} positions of model '{}'", what, longest, w.model.name),
             fmt::format("use {} or less", longest));
  }
}

Workload build(const core::YamlDoc& doc, const Lines& lines) {
  const YAML::Node& root = doc.root();
  doc.check_keys(root, {"name", "description", "model", "task", "batch", "precision", "optimizer", "parallel", "memory", "steps"},
                 "a workload");
  Workload w;
  w.file = doc.name();
  w.name = doc.string(doc.required(root, "name", "the workload"), "name");
  const YAML::Node& m = doc.required(root, "model", "the workload");
  w.model = model(doc, m);
  w.model_where = where(doc, lines, m);
  w.task = doc.choice(doc.required(root, "task", "the workload"), {"train", "infer"}, "task") == "train" ? Task::Train : Task::Infer;
  batch(doc, lines, doc.required(root, "batch", "the workload"), w);
  w.precision = precision(doc, root["precision"], w.task);
  if (root["optimizer"]) {
    if (w.task == Task::Infer) doc.fail(root["optimizer"], "inference has no optimizer");
    std::string o = doc.choice(root["optimizer"], {"adamw", "sgd", "sgd-momentum"}, "optimizer");
    w.optimizer = o == "adamw" ? Optimizer::AdamW : o == "sgd" ? Optimizer::Sgd : Optimizer::SgdMomentum;
  }
  w.parallel = parallel(doc, lines, doc.required(root, "parallel", "the workload"), w);
  w.memory = memory(doc, lines, root["memory"]);
  if (root["steps"]) w.steps = static_cast<int32_t>(doc.integer(root["steps"], "steps", 1, 1000000));
  if (w.task == Task::Infer) w.steps = static_cast<int32_t>(1 + w.generate);  // prefill, then one step per token
  return w;
}
}  // namespace

Workload load_workload(const std::string& path, const std::string& origin) {
  core::YamlDoc doc = core::YamlDoc::load(path, origin);  // reports a file it cannot open
  std::ifstream in(path);
  return build(doc, split_lines(std::string(std::istreambuf_iterator<char>(in), {})));
}

Workload parse_workload(const std::string& yaml_text, const std::string& file_name) {
  return build(core::YamlDoc::parse(yaml_text, file_name), split_lines(yaml_text));
}

}  // namespace clustertwin::work
