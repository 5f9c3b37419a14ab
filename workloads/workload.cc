#include "workloads/workload.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/yaml_doc.h"
#include "workloads/collectives.h"

namespace clustertwin::work {

std::string_view name(Strategy s) {
  constexpr std::string_view names[] = {"ddp", "zero", "pipeline", "tensor", "hybrid", "parameter-server", "replicas", "expert"};
  return names[static_cast<int>(s)];
}

std::string_view name(Schedule s) {
  constexpr std::string_view names[] = {"gpipe", "1f1b", "interleaved"};
  return names[static_cast<int>(s)];
}

void fail_at(const Where& w, std::string_view message, std::string_view hint) {
  throw core::InputError(core::format_diagnostic(w.pos, w.line, message, hint));
}

std::optional<Misfit> interleaved_misfit(int micro_batches, int pp) {
  if (micro_batches % pp == 0) return std::nullopt;
  const int below = pp * (micro_batches / pp), above = below + pp;
  return Misfit{fmt::format("the interleaved schedule needs micro_batches to be a multiple of pp ({})", pp),
                below > 0 ? fmt::format("use micro_batches: {} or {}, or schedule: 1f1b", below, above)
                          : fmt::format("use micro_batches: {}, or schedule: 1f1b", above)};
}

Zero data_parallel_plan(const Parallel& p) {
  if (const auto* z = std::get_if<Zero>(&p.options)) return *z;
  if (const auto* d = std::get_if<Ddp>(&p.options)) {
    Zero z;
    z.stage = 0;
    z.gradients = d->gradients;
    z.bucket_bytes = d->bucket_bytes;
    z.micro_batches = d->micro_batches;
    return z;
  }
  throw std::logic_error(fmt::format("data_parallel_plan: the {} strategy is not data parallel", name(p.strategy())));
}

Hybrid model_parallel_plan(const Parallel& p) {
  if (const auto* h = std::get_if<Hybrid>(&p.options)) return *h;
  Hybrid h;  // tp = pp = 1: every rank a replica unless one degree is set below
  if (const auto* pl = std::get_if<Pipeline>(&p.options)) {
    h.dp = pl->dp;
    h.pp = pl->pp;
    h.schedule = pl->schedule;
    h.split = pl->split;
    h.gradients = pl->gradients;
  } else if (const auto* e = std::get_if<Expert>(&p.options)) {
    h.ep = e->ep;  // every rank a replica of the non-expert weights
  } else if (const auto* t = std::get_if<Tensor>(&p.options)) {
    h.dp = t->dp;
    h.tp = t->tp;
    h.tensor = t->tensor;
    h.schedule.micro_batches = t->micro_batches;
    h.gradients = t->gradients;
  }
  return h;
}

namespace {
const std::vector<std::string> kDTypeNames{"fp32", "bf16", "fp16", "int8", "int4"};
const std::vector<std::string> kAlgorithmNames{"ring", "tree", "direct", "halving-doubling", "hierarchical",
                                               "bidirectional-ring", "one-shot"};

core::DType dtype(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what,
                  const std::vector<std::string>& allowed = kDTypeNames) {
  std::string s = doc.choice(n, allowed, what);
  return static_cast<core::DType>(std::find(kDTypeNames.begin(), kDTypeNames.end(), s) - kDTypeNames.begin());
}

const Format& format(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what) {
  return *find_format(doc.choice(n, format_names(), what));
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
                     "expert_ffn", "shared_experts", "shared_ffn", "dense_layers", "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim",
                     "v_head_dim"},
                 "'model'");
  ModelShape m;
  if (n["preset"]) m = *find_model(doc.choice(n["preset"], model_names(), "model preset"));
  else {
    for (const char* key : {"layers", "hidden", "heads", "vocab"}) doc.required(n, key, "an explicit model shape");
    if (!n["ffn"] && !n["experts"]) doc.required(n, "ffn", "an explicit model shape");
    m.name = "custom";
  }
  if (n["name"]) m.name = doc.string(n["name"], "model name");
  // Counts of things the compilers build ops for are capped where a real model stays far below (the
  // deepest have ~160 layers, the widest ~256 experts): a typo (layers: 1000000000) is refused here,
  // not found after minutes and gigabytes of building.
  auto set = [&](const char* key, int64_t& field, int64_t min, int64_t max = int64_t{1} << 40) {
    if (n[key]) field = doc.integer(n[key], key, min, max);
  };
  set("layers", m.layers, 1, 1024);
  set("hidden", m.hidden, 1);
  set("heads", m.heads, 1);
  set("kv_heads", m.kv_heads, 1);
  set("head_dim", m.head_dim, 1);
  set("ffn", m.ffn, 1);
  set("vocab", m.vocab, 1);
  set("context", m.context, 0);
  set("max_seq", m.max_seq, 0);
  set("experts", m.experts, 0, 4096);
  set("experts_per_token", m.experts_per_token, 1);
  set("expert_ffn", m.expert_ffn, 1);
  set("shared_experts", m.shared_experts, 0);
  set("shared_ffn", m.shared_ffn, 1);
  set("dense_layers", m.dense_layers, 0, 1024);
  set("q_lora_rank", m.q_lora_rank, 1);
  set("kv_lora_rank", m.kv_lora_rank, 1);
  set("qk_rope_head_dim", m.qk_rope_head_dim, 1);
  set("v_head_dim", m.v_head_dim, 1);
  if (n["tied_embeddings"]) m.tied_embeddings = doc.boolean(n["tied_embeddings"], "tied_embeddings");
  if (n["bias"]) m.bias = doc.boolean(n["bias"], "bias");
  if (n["qk_norm"]) m.qk_norm = doc.boolean(n["qk_norm"], "qk_norm");
  if (n["mlp"]) m.mlp = doc.choice(n["mlp"], {"gelu", "swiglu"}, "MLP kind") == "gelu" ? Mlp::Gelu : Mlp::SwiGlu;
  if (n["norm"]) m.norm = doc.choice(n["norm"], {"layernorm", "rmsnorm"}, "norm kind") == "layernorm" ? Norm::LayerNorm : Norm::RmsNorm;
  if (std::string why = check_shape(m); !why.empty()) doc.fail(n, fmt::format("inconsistent model shape: {}", why),
                                                                        "check the figures against the model's config.json");
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
  p.weights = exact_format(p.compute);
  if (n["weights"] && n["weights"].IsMap()) {
    // One format per model part: `default` for the parts not named.
    const YAML::Node& wn = n["weights"];
    doc.check_keys(wn, {"default", "attention", "mlp", "experts", "embedding", "head"}, "'precision.weights'");
    doc.required(wn, "default", "'precision.weights' given per model part");
    p.weights = format(doc, wn["default"], "weight format");
    for (int i = 0; i < kParts; ++i)
      if (const YAML::Node& f = wn[std::string(name(static_cast<Part>(i)))])
        p.parts[i] = &format(doc, f, fmt::format("{} weight format", name(static_cast<Part>(i))));
  } else if (n["weights"]) {
    p.weights = format(doc, n["weights"], "weight format");
  }
  p.gradients = n["gradients"] ? dtype(doc, n["gradients"], "gradient precision", floats) : p.compute;
  if (n["optimizer"]) p.optimizer = dtype(doc, n["optimizer"], "optimizer state precision", floats);
  p.kv_cache = n["kv_cache"] ? format(doc, n["kv_cache"], "KV cache format") : exact_format(p.compute);
  if (task == Task::Train && !p.uniform())
    doc.fail(n["weights"], "weights per model part are for inference only", "train with one weight format");
  if (task == Task::Train && p.weights.quantized())
    doc.fail(n["weights"], "quantized weights are for inference only", "train with fp32, bf16 or fp16 weights");
  p.master_weights = task == Task::Train && p.weights.element != core::DType::F32;
  if (n["master_weights"]) p.master_weights = doc.boolean(n["master_weights"], "master_weights");
  return p;
}

// ---- parallel -----------------------------------------------------------------------------------
}  // namespace

std::vector<std::string_view> parallel_keys(Strategy s, Task task) {
  std::vector<std::string_view> k{"strategy"};
  auto add = [&](std::initializer_list<std::string_view> more) { k.insert(k.end(), more); };
  if (task == Task::Infer) {  // no gradients: no data-parallel collectives, schedules or ZeRO
    if (s == Strategy::Pipeline || s == Strategy::Hybrid) add({"pp", "split"});
    if (s == Strategy::Tensor || s == Strategy::Hybrid) add({"tp", "tp_allreduce", "placement", "local", "stripes"});
    if (s == Strategy::Expert) add({"ep"});
    else if (s != Strategy::Replicas) add({"dp"});
    return k;
  }
  switch (s) {
    case Strategy::Ddp: add({"allreduce", "local", "stripes", "bucket", "micro_batches"}); break;
    case Strategy::Zero: add({"allreduce", "local", "stage", "bucket", "prefetch", "micro_batches"}); break;
    case Strategy::Pipeline:
      add({"allreduce", "local", "stripes", "pp", "dp", "schedule", "micro_batches", "virtual_stages", "split"});
      break;
    case Strategy::Tensor:
      add({"allreduce", "local", "stripes", "tp", "dp", "tp_allreduce", "placement", "micro_batches"});
      break;
    case Strategy::Hybrid:
      add({"allreduce", "local", "stripes", "dp", "tp", "pp", "tp_allreduce", "schedule", "micro_batches", "virtual_stages", "split",
           "placement", "stage"});
      break;
    case Strategy::ParameterServer: add({"mode", "staleness", "server", "push"}); break;
    case Strategy::Replicas: break;
    case Strategy::Expert: break;
  }
  return k;
}

std::optional<Strategy> strategy_named(std::string_view name) {
  static const std::pair<std::string_view, Strategy> names[] = {
      {"ddp", Strategy::Ddp},         {"fsdp", Strategy::Zero},   {"zero", Strategy::Zero},
      {"pipeline", Strategy::Pipeline}, {"tensor", Strategy::Tensor}, {"hybrid", Strategy::Hybrid},
      {"parameter-server", Strategy::ParameterServer}, {"replicas", Strategy::Replicas}, {"expert", Strategy::Expert}};
  for (const auto& [n, s] : names)
    if (n == name) return s;
  return std::nullopt;
}

namespace {

// Whether any strategy, for either task, takes the key.
bool some_strategy_takes(std::string_view key) {
  for (Task task : {Task::Train, Task::Infer})
    for (Strategy s : {Strategy::Ddp, Strategy::Zero, Strategy::Pipeline, Strategy::Tensor, Strategy::Hybrid,
                       Strategy::ParameterServer, Strategy::Replicas, Strategy::Expert}) {
      auto k = parallel_keys(s, task);
      if (std::find(k.begin(), k.end(), key) != k.end()) return true;
    }
  return false;
}

void check_strategy_keys(const core::YamlDoc& doc, const YAML::Node& par, Strategy s, Task task) {
  auto allowed = parallel_keys(s, task);
  for (const auto& kv : par) {
    std::string key = doc.string(kv.first, "a key");
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    std::string close = core::closest_name(key, names);
    if (!some_strategy_takes(key))
      doc.fail(kv.first, fmt::format("unknown key '{}' in 'parallel'", key), core::suggest(key, names));
    doc.fail(kv.first, fmt::format("'{}' does not apply to the {} strategy", key, name(s)),
             close.empty() ? fmt::format("{} takes: {}", name(s), fmt::join(allowed, ", "))
                           : fmt::format("did you mean '{}'?", close));
  }
}

Strategy strategy(const core::YamlDoc& doc, const YAML::Node& n, Task task, bool& fsdp) {
  std::vector<std::string> names{"ddp", "fsdp", "zero", "pipeline", "tensor", "hybrid", "parameter-server", "replicas",
                                 "expert"};
  std::string s = doc.choice(n, names, "parallel strategy");
  const std::vector<std::string> train_only{"ddp", "fsdp", "zero", "parameter-server"};
  if (task == Task::Infer && std::find(train_only.begin(), train_only.end(), s) != train_only.end())
    doc.fail(n, fmt::format("'{}' is a training strategy", s), "for inference use replicas, tensor, pipeline, hybrid or expert");
  if (task == Task::Train && (s == "replicas" || s == "expert"))
    doc.fail(n, fmt::format("'{}' is an inference strategy", s), "for training use ddp, fsdp, zero, pipeline, tensor or hybrid");
  fsdp = s == "fsdp";
  const Strategy all[] = {Strategy::Ddp, Strategy::Zero, Strategy::Zero, Strategy::Pipeline, Strategy::Tensor,
                          Strategy::Hybrid, Strategy::ParameterServer, Strategy::Replicas, Strategy::Expert};
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

// The `parallel:` map of one workload; check_strategy_keys has already rejected every key that
// does not apply to the strategy and task, so each reader below sees only keys it may read.
struct ParallelKeys {
  const core::YamlDoc& doc;
  const YAML::Node& par;
  const Workload& w;

  YAML::Node operator[](const char* key) const { return par[key]; }
  int degree(const char* key, int otherwise) const {
    return par[key] ? static_cast<int>(doc.integer(par[key], key, 1, 1 << 20)) : otherwise;
  }
  int micro_batches() const {
    return par["micro_batches"] ? static_cast<int>(doc.integer(par["micro_batches"], "micro_batches", 1, 1 << 16)) : 1;
  }
  double bucket() const {
    if (!par["bucket"]) return 25e6;  // PyTorch DDP's default bucket_cap_mb = 25
    return doc.string(par["bucket"], "bucket") == "all" ? 0 : doc.quantity(par["bucket"], core::Quantity::Bytes, "bucket");
  }
  // The algorithm under `key` and the block size `local` every family shares.
  CollectiveChoice choice(const char* key, std::string_view what) const {
    CollectiveChoice c;
    if (par["local"]) c.local = static_cast<int32_t>(positive(doc, par["local"], "local", 1 << 20));
    if (par["stripes"]) c.stripes = static_cast<int32_t>(doc.integer(par["stripes"], "stripes", 1, 64));
    if (!par[key]) return c;
    c.algorithm = algorithm(doc, par[key], what);
    if (c.algorithm == core::Algorithm::Hierarchical && !par["local"])
      doc.fail(par[key], "the hierarchical algorithm needs its block size", "add 'local: N' (ranks per block, e.g. per machine)");
    return c;
  }
  // The gradient collectives: all-reduce, or (`shards`, ZeRO) reduce-scatter and all-gather.
  CollectiveChoice gradients(bool shards) const {
    CollectiveChoice c = choice("allreduce", "all-reduce algorithm");
    if (!par["allreduce"]) return c;
    for (auto kind : {core::CollectiveKind::AllReduce, core::CollectiveKind::ReduceScatter, core::CollectiveKind::AllGather}) {
      if (shards == (kind == core::CollectiveKind::AllReduce)) continue;
      if (std::string why = unsupported(kind, c.algorithm); !why.empty())
        doc.fail(par["allreduce"], why.substr(0, why.find(" (")),
                 "ZeRO reduce-scatters the gradients and all-gathers the parameters: use ring, halving-doubling, "
                 "hierarchical or direct");
    }
    return c;
  }
  TensorSplit tensor() const {
    TensorSplit t{.allreduce = choice("tp_allreduce", "tensor-parallel all-reduce algorithm")};
    if (par["placement"])
      t.on_fast_links = doc.choice(par["placement"], {"fast-links", "file-order"}, "placement") == "fast-links";
    return t;
  }
  PipelineSchedule schedule() const {
    PipelineSchedule p;
    if (par["schedule"]) {
      std::string s = doc.choice(par["schedule"], {"gpipe", "1f1b", "interleaved"}, "pipeline schedule");
      p.kind = s == "gpipe" ? Schedule::GPipe : s == "1f1b" ? Schedule::OneFOneB : Schedule::Interleaved;
    }
    p.micro_batches = micro_batches();
    if (par["virtual_stages"]) {
      p.virtual_stages = static_cast<int>(doc.integer(par["virtual_stages"], "virtual_stages", 1, 64));
      if (p.virtual_stages > 1 && p.kind != Schedule::Interleaved)
        doc.fail(par["virtual_stages"], "virtual_stages needs the interleaved schedule", "add 'schedule: interleaved'");
    } else if (p.kind == Schedule::Interleaved) {
      p.virtual_stages = 2;
    }
    return p;
  }
  // A list of layers per stage also sets the number of stages `pp`.
  StageSplit split(int& pp) const {
    StageSplit out;
    const YAML::Node s = par["split"];
    if (!s) return out;
    if (!s.IsSequence()) {
      std::string v = doc.choice(s, {"even", "speed", "memory"}, "stage split");
      out.kind = v == "even" ? Split::Even : v == "speed" ? Split::Speed : Split::Memory;
      return out;
    }
    out.kind = Split::Layers;
    for (const auto& e : s) out.layers.push_back(positive(doc, e, "layers of a stage"));
    int64_t sum = std::accumulate(out.layers.begin(), out.layers.end(), int64_t{0});
    if (sum != w.model.layers)
      doc.fail(s, fmt::format("the stages hold {} layers but '{}' has {}", sum, w.model.name, w.model.layers),
               fmt::format("make the layers per stage add up to {}, or use split: even, speed or memory", w.model.layers));
    if (par["pp"] && static_cast<int>(out.layers.size()) != pp)
      doc.fail(s, fmt::format("{} stage sizes for pp: {}", out.layers.size(), pp));
    pp = static_cast<int>(out.layers.size());
    return out;
  }
  // The degrees' fit to the model, where they are written.
  void check_degrees(int tp, int pp, const PipelineSchedule& sched) const {
    if (par["tp"]) check_tp(doc, par["tp"], w.model, tp);
    if (par["pp"]) check_pp(doc, par["pp"], w.model, pp, sched.virtual_stages);
    if (auto misfit = sched.kind == Schedule::Interleaved && pp > 0 ? interleaved_misfit(sched.micro_batches, pp) : std::nullopt)
      doc.fail(par["micro_batches"] ? par["micro_batches"] : par, misfit->message, misfit->hint);
  }
  // `local` sizes the blocks of the hierarchical algorithm: written for no such collective, it
  // would do nothing.
  void check_local(std::initializer_list<CollectiveChoice> uses, std::string_view keys) const {
    if (!par["local"]) return;
    for (const CollectiveChoice& c : uses)
      if (c.algorithm == core::Algorithm::Hierarchical) return;
    doc.fail(par["local"], "'local' is the block size of the hierarchical algorithm, which this plan does not use",
             fmt::format("remove it, or set {} to hierarchical", keys));
  }
  // `stripes` splits ring and bidirectional-ring all-reduces over several connections per
  // neighbour: written for no such collective, it would do nothing.
  void check_stripes(std::initializer_list<CollectiveChoice> uses, std::string_view keys) const {
    if (!par["stripes"]) return;
    for (const CollectiveChoice& c : uses)
      if (c.algorithm == core::Algorithm::Ring || c.algorithm == core::Algorithm::BidirectionalRing) return;
    doc.fail(par["stripes"], "'stripes' splits ring and bidirectional-ring all-reduces, which this plan does not use",
             fmt::format("remove it, or set {} to ring or bidirectional-ring", keys));
  }
};

Ddp ddp(const ParallelKeys& k) {
  Ddp d{.gradients = k.gradients(false), .bucket_bytes = k.bucket(), .micro_batches = k.micro_batches()};
  k.check_local({d.gradients}, "allreduce");
  k.check_stripes({d.gradients}, "allreduce");
  return d;
}

Zero zero(const ParallelKeys& k, bool fsdp) {
  Zero z;
  if (k["stage"]) {
    if (fsdp) k.doc.fail(k["stage"], "fsdp is ZeRO stage 3", "write 'strategy: zero' to choose another stage");
    z.stage = static_cast<int>(k.doc.integer(k["stage"], "ZeRO stage", 1, 3));
  } else if (!fsdp) {
    k.doc.fail(k.par, "the zero strategy needs its stage", "add 'stage: 1', 2 or 3 (or write strategy: fsdp for stage 3)");
  } else {
    z.stage = 3;
  }
  if (z.stage == 3 && k["bucket"])
    k.doc.fail(k["bucket"], "'bucket' does not apply to ZeRO stage 3: each unit's gradient is reduce-scattered on its own");
  if (z.stage < 3 && k["prefetch"])
    k.doc.fail(k["prefetch"], "'prefetch' applies to ZeRO stage 3 (fsdp): the stage that gathers parameters",
               "remove 'prefetch', or use stage: 3");
  z.bucket_bytes = k.bucket();
  if (k["prefetch"]) z.prefetch = static_cast<int>(k.doc.integer(k["prefetch"], "prefetch", 0, 64));
  z.micro_batches = k.micro_batches();
  z.gradients = k.gradients(true);
  k.check_local({z.gradients}, "allreduce");
  return z;
}

Pipeline pipeline(const ParallelKeys& k) {
  Pipeline p{.pp = k.degree("pp", 0), .dp = k.degree("dp", 0), .schedule = k.schedule()};
  p.split = k.split(p.pp);
  p.gradients = k.gradients(false);
  k.check_degrees(1, p.pp, p.schedule);
  k.check_local({p.gradients}, "allreduce");
  k.check_stripes({p.gradients}, "allreduce");
  return p;
}

Tensor tensor(const ParallelKeys& k) {
  Tensor t{.tp = k.degree("tp", 0),
           .dp = k.degree("dp", 0),
           .tensor = k.tensor(),
           .gradients = k.gradients(false),
           .micro_batches = k.micro_batches()};
  k.check_degrees(t.tp, 1, {});
  k.check_local({t.tensor.allreduce, t.gradients}, k.w.task == Task::Train ? "allreduce or tp_allreduce" : "tp_allreduce");
  if (k.w.task == Task::Train) k.check_stripes({t.tensor.allreduce, t.gradients}, "allreduce or tp_allreduce");
  else k.check_stripes({t.tensor.allreduce}, "tp_allreduce");
  return t;
}

Hybrid hybrid(const ParallelKeys& k) {
  Hybrid h{.dp = k.degree("dp", 0), .tp = k.degree("tp", 1), .pp = k.degree("pp", 1), .tensor = k.tensor()};
  // with pipelines, only the optimizer state is sharded
  if (k["stage"]) h.zero_stage = static_cast<int>(k.doc.integer(k["stage"], "ZeRO stage", 0, 1));
  h.gradients = k.gradients(h.zero_stage >= 1);
  h.schedule = k.schedule();
  h.split = k.split(h.pp);
  k.check_degrees(h.tp, h.pp, h.schedule);
  k.check_local({h.tensor.allreduce, h.gradients}, k.w.task == Task::Train ? "allreduce or tp_allreduce" : "tp_allreduce");
  if (k.w.task == Task::Train) k.check_stripes({h.tensor.allreduce, h.gradients}, "allreduce or tp_allreduce");
  else k.check_stripes({h.tensor.allreduce}, "tp_allreduce");
  return h;
}

ParameterServer parameter_server(const ParallelKeys& k) {
  const core::YamlDoc& doc = k.doc;
  ParameterServer ps;
  if (k["mode"] && doc.choice(k["mode"], {"sync", "async"}, "parameter-server mode") == "async") ps.async = AsyncUpdates{};
  if (k["staleness"]) {
    if (!ps.async) doc.fail(k["staleness"], "a staleness bound applies to 'mode: async' only");
    ps.async->staleness = static_cast<int>(doc.integer(k["staleness"], "staleness", 0, 1000));
  }
  if (k["server"]) ps.server = static_cast<int32_t>(doc.integer(k["server"], "server rank", 0, 1 << 20));
  if (k["push"]) ps.push = dtype(doc, k["push"], "gradient push precision", {"fp32", "bf16", "fp16", "int8"});
  return ps;
}

Parallel parallel(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& par, const Workload& w) {
  doc.require_map(par, "'parallel'");
  Parallel p;
  p.where = where(doc, lines, par);
  bool fsdp = false;
  const Strategy s = strategy(doc, doc.required(par, "strategy", "'parallel'"), w.task, fsdp);
  check_strategy_keys(doc, par, s, w.task);
  const ParallelKeys k{doc, par, w};
  switch (s) {
    case Strategy::Ddp: p.options = ddp(k); break;
    case Strategy::Zero: p.options = zero(k, fsdp); break;
    case Strategy::Pipeline: p.options = pipeline(k); break;
    case Strategy::Tensor: p.options = tensor(k); break;
    case Strategy::Hybrid: p.options = hybrid(k); break;
    case Strategy::ParameterServer: p.options = parameter_server(k); break;
    case Strategy::Replicas: p.options = Replicas{}; break;
    case Strategy::Expert: {
      if (!w.model.moe())
        doc.fail(par["strategy"], fmt::format("expert parallel splits a mixture of experts, and '{}' is dense", w.model.name),
                 "use replicas, tensor or pipeline for a dense model");
      Expert e;
      if (k["ep"]) {
        e.ep = static_cast<int>(positive(doc, k["ep"], "ep", 1 << 16));
        if (w.model.experts % e.ep != 0)
          doc.fail(k["ep"], fmt::format("ep {} does not divide the {} experts of '{}'", e.ep, w.model.experts, w.model.name),
                   "use a divisor of the expert count");
      }
      p.options = e;
      break;
    }
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
    if (f <= 0 || f > 1)
      doc.fail(n["usable_fraction"], fmt::format("usable_fraction must be in (0, 1], got {}", f),
               "write the share of the device's memory a rank may use, like 0.75");
    m.usable_fraction = f;
  }
  if (n["check"]) m.check = doc.boolean(n["check"], "memory check");
  if (n["activation_checkpointing"]) m.activation_checkpointing = doc.boolean(n["activation_checkpointing"], "activation_checkpointing");
  return m;
}

// `placement: auto | file-order | [node, ...]`. Names are checked against the topology when the
// workload is compiled; a name listed twice is wrong in any topology and fails here.
Placement placement(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& n) {
  Placement p;
  if (!n) return p;
  p.where = where(doc, lines, n);
  if (!n.IsSequence()) {
    if (!n.IsScalar())
      doc.fail(n, "placement must be 'auto', 'file-order' or a list of node names in rank order",
               "write placement: auto, or placement: [mini1, mini2, ...]");
    p.kind = doc.choice(n, {"auto", "file-order"}, "placement") == "auto" ? PlacementKind::Auto : PlacementKind::FileOrder;
    return p;
  }
  if (n.size() == 0)
    doc.fail(n, "placement lists no node", "list the nodes that run ranks in rank order, or write placement: auto");
  p.kind = PlacementKind::Listed;
  for (const auto& e : n) {
    std::string name = doc.string(e, "node name");
    for (size_t r = 0; r < p.nodes.size(); ++r)
      if (p.nodes[r].name == name)
        doc.fail(e, fmt::format("node '{}' is placed twice: it already runs rank {} (line {})", name, r, p.nodes[r].where.pos.line),
                 "list each node once; a node runs several ranks with 'ranks: N' in the topology");
    p.nodes.push_back({name, where(doc, lines, e)});
  }
  return p;
}

void batch(const core::YamlDoc& doc, const Lines& lines, const YAML::Node& b, Workload& w) {
  w.batch_where = where(doc, lines, b);
  if (w.task == Task::Train) {
    doc.check_keys(b, {"micro_batch", "seq_len"}, "'batch'");
    w.micro_batch = doc.integer(doc.required(b, "micro_batch", "'batch'"), "micro_batch", 1, 1 << 20);
    w.seq_len = doc.integer(doc.required(b, "seq_len", "'batch'"), "seq_len", 1, 1 << 24);
  } else {
    doc.check_keys(b, {"size", "prompt", "generate", "prefill_chunk"}, "'batch' (inference)");
    w.micro_batch = doc.integer(doc.required(b, "size", "'batch'"), "batch size", 1, 1 << 20);
    w.prompt = doc.integer(doc.required(b, "prompt", "'batch'"), "prompt", 1, 1 << 24);
    w.generate = doc.integer(doc.required(b, "generate", "'batch'"), "generate", 1, 1 << 20);
    if (b["prefill_chunk"]) w.prefill_chunk = doc.integer(b["prefill_chunk"], "prefill_chunk", 1, 1 << 24);
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
  doc.check_keys(root,
                 {"name", "description", "model", "task", "batch", "precision", "optimizer", "parallel", "memory",
                  "runtime", "placement", "steps"},
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
  if (root["runtime"]) w.runtime = *find_runtime(doc.choice(root["runtime"], runtime_names(), "runtime"));
  w.placement = placement(doc, lines, root["placement"]);
  w.steps_where = {{doc.name(), 0, 0}, ""};
  if (root["steps"]) {
    w.steps = static_cast<int32_t>(doc.integer(root["steps"], "steps", 1, 1000000));
    w.steps_where = where(doc, lines, root["steps"]);
  }
  if (w.task == Task::Infer) w.steps_where = where(doc, lines, root["batch"]["generate"]);
  if (w.task == Task::Infer) w.steps = static_cast<int32_t>(1 + w.generate);  // prefill, then one step per token
  return w;
}
}  // namespace

Workload load_workload(const std::string& path, const std::string& origin) {
  core::YamlDoc doc = core::YamlDoc::load(path, origin);  // reports a file it cannot read
  return build(doc, doc.lines());
}

Workload parse_workload(const std::string& yaml_text, const std::string& file_name) {
  return build(core::YamlDoc::parse(yaml_text, file_name), split_lines(yaml_text));
}

}  // namespace clustertwin::work
