#include "interop/smolcluster.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/diag.h"
#include "core/yaml_doc.h"
#include "topologies/address.h"
#include "topologies/topology.h"

namespace clustertwin::interop {

namespace {
namespace fs = std::filesystem;

struct Host {
  std::string name, device, address;
  std::string device_why;  // "--device", "inferred from the name"
};

// What the cluster config says: its hosts in rank order, and the strategy's own keys.
struct Cluster {
  std::vector<Host> hosts;
  std::vector<std::string> comments;
  std::string parallel;  // the workload's `parallel:` as a flow mapping
};

std::vector<std::string> configs_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("cluster_config_", 0) == 0 && e.path().extension() == ".yaml")
      out.push_back(f.substr(15, f.size() - 15 - 5));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string choose_algorithm(const SmolclusterImport& o) {
  if (!fs::is_directory(o.dir))
    throw core::InputError(core::format_diagnostic({o.dir, 0, 0}, {}, "not a directory",
                                                   "give smolcluster's configs folder (src/smolcluster/configs)"));
  const auto found = configs_in(o.dir);
  if (!o.algorithm.empty()) {
    if (std::find(found.begin(), found.end(), o.algorithm) == found.end())
      throw core::InputError(core::format_diagnostic(
          {"--algorithm", 0, 0}, {}, fmt::format("no cluster_config_{}.yaml in '{}'", o.algorithm, o.dir),
          core::suggest(o.algorithm, found)));
    return o.algorithm;
  }
  if (found.size() == 1) return found[0];
  throw core::InputError(core::format_diagnostic(
      {o.dir, 0, 0}, {},
      found.empty() ? "no cluster_config_*.yaml in the folder"
                    : fmt::format("{} cluster configs in the folder: which one?", found.size()),
      found.empty() ? "give smolcluster's configs folder (src/smolcluster/configs)"
                    : fmt::format("--algorithm {}", fmt::join(found, " | "))));
}

// The device a host name makes obvious (smolcluster's own names: mini1, pi4, pi5, jetson).
std::string device_by_name(const std::string& host) {
  auto starts = [&](const char* p) { return host.rfind(p, 0) == 0; };
  if (starts("mini")) return "mac-mini-m4";
  if (starts("pi5")) return "raspberry-pi-5";
  if (starts("pi4")) return "raspberry-pi-4";
  if (starts("jetson")) return "jetson-orin-nano";
  return {};
}

void assign_device(Host& h, const SmolclusterImport& o) {
  if (auto it = o.devices.find(h.name); it != o.devices.end()) h.device = it->second, h.device_why = "--device";
  else if (auto d = device_by_name(h.name); !d.empty()) h.device = d, h.device_why = "inferred from the name";
  else if (!o.device.empty()) h.device = o.device, h.device_why = "--device";
  else
    throw core::InputError(core::format_diagnostic(
        {"--device", 0, 0}, {}, fmt::format("no device for host '{}': the config does not say what it is", h.name),
        fmt::format("give --device {}=PRESET (or --device PRESET for every host not named like mini1, pi4, pi5, jetson)",
                    h.name)));
  if (!topo::find_device(h.device))
    throw core::InputError(core::format_diagnostic({"--device", 0, 0}, {},
                                                   fmt::format("unknown device preset '{}' (host '{}')", h.device, h.name),
                                                   core::suggest(h.device, topo::device_names())));
}

// allToAllTopology / pipelineTopology: workers.regular, each {hostname, rank, ip}.
std::vector<Host> regular_workers(const core::YamlDoc& doc, const YAML::Node& topology, const std::string& key) {
  const YAML::Node regular = doc.required(doc.required(topology, "workers", key), "regular", key + ".workers");
  doc.require_seq(regular, key + ".workers.regular");
  std::vector<std::pair<long long, Host>> ranked;
  for (const auto& w : regular) {
    Host h;
    h.name = doc.string(doc.required(w, "hostname", "a worker"), "hostname");
    if (w["ip"]) h.address = doc.string(w["ip"], "ip");
    const long long rank = w["rank"] ? doc.integer(w["rank"], "rank", 0, 4096) : static_cast<long long>(ranked.size());
    ranked.emplace_back(rank, h);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Host> out;
  for (auto& [rank, h] : ranked) out.push_back(h);
  if (out.empty()) doc.fail(regular, "no workers listed", "list the hosts under workers.regular");
  return out;
}

// EDP and SyncPS: a server and its workers by name; host_ip gives the server's address.
std::vector<Host> server_and_workers(const core::YamlDoc& doc) {
  const YAML::Node& root = doc.root();
  Host server;
  server.name = doc.string(doc.required(root, "server", "a parameter-server config"), "server");
  if (root["host_ip"] && root["host_ip"][server.name]) server.address = doc.string(root["host_ip"][server.name], "host_ip");
  std::vector<Host> out{server};
  const YAML::Node workers = doc.required(root, "workers", "a parameter-server config");
  doc.require_seq(workers, "workers");
  for (const auto& w : workers) out.push_back({doc.string(w, "a worker host name"), "", "", ""});
  return out;
}

Cluster read_cluster(const core::YamlDoc& doc, const std::string& algorithm) {
  const YAML::Node& root = doc.root();
  Cluster c;
  if (algorithm == "edp" || algorithm == "syncps") {
    c.hosts = server_and_workers(doc);
    c.comments.push_back(fmt::format("server '{}' is rank 0; host_ip gives its address, the workers' own are not in the config",
                                     c.hosts[0].name));
    if (algorithm == "syncps") {
      c.parallel = "{strategy: parameter-server, mode: sync, server: 0}";
    } else {
      const long long interval = root["worker_update_interval"] ? doc.integer(root["worker_update_interval"], "worker_update_interval", 1, 1 << 20) : 1;
      const bool quantized = root["use_quantization"] && doc.boolean(root["use_quantization"], "use_quantization");
      c.parallel = fmt::format("{{strategy: parameter-server, mode: async, staleness: {}, push: {}, server: 0}}", interval,
                               quantized ? "int8" : "fp32");
      c.comments.push_back(fmt::format("EDP: asynchronous, workers pull weights every worker_update_interval = {} steps (the "
                                       "staleness bound); use_quantization: {} (8-bit pushes when true)",
                                       interval, quantized ? "true" : "false"));
    }
    return c;
  }
  if (root["pipelineTopology"]) {
    c.hosts = regular_workers(doc, root["pipelineTopology"], "pipelineTopology");
    c.parallel = "{strategy: pipeline, schedule: gpipe}";  // micro_batches from the model config
    c.comments.push_back("pipelineTopology: one stage per worker in rank order, GPipe (all forwards, then all backwards)");
    return c;
  }
  if (!root["allToAllTopology"])
    doc.fail(root, fmt::format("cluster_config_{}.yaml has no allToAllTopology, pipelineTopology or server/workers", algorithm),
             "import classicdp, fsdp (allToAllTopology), mp_pipeline (pipelineTopology), edp or syncps (server, workers)");
  c.hosts = regular_workers(doc, root["allToAllTopology"], "allToAllTopology");
  const long long stage = root["fsdp_stage"] ? doc.integer(root["fsdp_stage"], "fsdp_stage", 0, 3) : 0;
  c.parallel = stage == 0 ? "{strategy: ddp, allreduce: direct, bucket: all}"
                          : fmt::format("{{strategy: zero, stage: {}, allreduce: direct}}", stage);
  c.comments.push_back(fmt::format("allToAllTopology: every worker exchanges gradients with every other (allreduce: direct); "
                                   "fsdp_stage {} -> {}",
                                   stage, stage == 0 ? "DDP (ZeRO stage 0)" : fmt::format("ZeRO stage {}", stage)));
  if (root["staleness_bound"] && doc.integer(root["staleness_bound"], "staleness_bound", 0, 1 << 20) > 0)
    c.comments.push_back(fmt::format("staleness_bound {}: not modelled for all-to-all data parallelism; the prediction is "
                                     "of strict synchronous steps (staleness_bound: 0)",
                                     root["staleness_bound"].as<std::string>()));
  return c;
}

std::string topology_yaml(const Cluster& c, const std::string& name, const std::string& file) {
  std::string head = fmt::format("# Imported from {} by `clustertwin import smolcluster`.\n", file);
  for (const auto& h : c.hosts) head += fmt::format("# {}: device {} ({}){}\n", h.name, h.device, h.device_why,
                                                    h.address.empty() ? ", no address in the config" : ", address " + h.address);
  // Hosts on one /24 share a network; hosts without an address join the first host's (the server's).
  std::vector<std::vector<size_t>> groups;
  std::vector<std::optional<uint32_t>> subnet_of_group;
  for (size_t i = 0; i < c.hosts.size(); ++i) {
    auto ip = topo::parse_ipv4(c.hosts[i].address);
    std::optional<uint32_t> net = ip ? std::optional<uint32_t>(*ip & 0xFFFFFF00u) : std::nullopt;
    size_t g = 0;
    for (; g < groups.size(); ++g)
      if (!net || subnet_of_group[g] == net) break;
    if (g == groups.size()) groups.push_back({}), subnet_of_group.push_back(net);
    groups[g].push_back(i);
  }
  std::string nodes = "nodes:\n", links = "links:\n";
  std::vector<bool> forwards(c.hosts.size(), false);
  int switches = 0;
  for (const auto& g : groups) {
    bool thunderbolt = g.size() > 1;
    int gen = 5;
    for (size_t i : g) {
      const int t = topo::find_device(c.hosts[i].device)->thunderbolt;
      thunderbolt = thunderbolt && t > 0;
      gen = std::min(gen, t);
    }
    if (thunderbolt) {  // Macs on one subnet: the guide's Thunderbolt Bridge daisy chain, in rank order
      head += fmt::format("# inferred: {} on one subnet, Macs with Thunderbolt: a {} daisy chain (Thunderbolt Bridge; the "
                          "middle ones forward)\n",
                          g.size(), gen >= 5 ? "tb5" : "tb4");
      for (size_t k = 0; k + 1 < g.size(); ++k) {
        links += fmt::format("  - {{between: [{}, {}], type: {}}}\n", c.hosts[g[k]].name, c.hosts[g[k + 1]].name,
                             gen >= 5 ? "tb5" : "tb4");
        if (k > 0) forwards[g[k]] = true;
      }
    } else if (g.size() > 1) {
      const std::string sw = fmt::format("switch{}", ++switches);
      head += fmt::format("# inferred: {} hosts on one subnet: a 1 GbE switch '{}' (edit the link types to match)\n", g.size(), sw);
      nodes += fmt::format("  - {{name: {}, kind: switch}}\n", sw);
      for (size_t i : g) links += fmt::format("  - {{between: [{}, {}], type: eth-1g}}\n", c.hosts[i].name, sw);
    }
  }
  if (groups.size() > 1)
    head += fmt::format("# the hosts are on {} subnets, and how those connect is not in the config: add the links by hand "
                        "(`clustertwin check` names the pairs that cannot talk)\n",
                        groups.size());
  for (size_t i = 0; i < c.hosts.size(); ++i) {
    const Host& h = c.hosts[i];
    nodes += fmt::format("  - {{name: {}, device: {}, ssh: {}{}{}{}}}\n", h.name, h.device, h.name,
                         h.address.empty() ? "" : ", address: " + h.address, forwards[i] ? ", forwards: true" : "",
                         i == 0 ? ", role: coordinator" : "");
  }
  if (links == "links:\n") links = "links: []\n";
  return head + fmt::format("name: {}\n", name) + nodes + links;
}

struct ModelConfig {
  std::string yaml;  // the workload's `model:` value
  long long batch_size = 32, micro_batches = 1, seq_len = 1024;
  bool fp16 = false;
  std::vector<std::string> comments;
};

ModelConfig read_model(const std::string& dir) {
  ModelConfig m;
  const std::string file = (fs::path(dir) / "gpt_config.yaml").string();
  if (!fs::exists(file)) {
    m.yaml = "gpt2-124m";
    m.comments.push_back("no gpt_config.yaml beside the cluster config: GPT-2 124M assumed");
    return m;
  }
  const core::YamlDoc doc = core::YamlDoc::load(file);
  const YAML::Node& r = doc.root();
  auto integer = [&](const char* key, long long fallback) {
    return r[key] && !r[key].IsNull() ? doc.integer(r[key], key, 1, 1LL << 40) : fallback;
  };
  const long long hidden = doc.integer(doc.required(r, "model_dim", "gpt_config.yaml"), "model_dim", 1, 1 << 20);
  const long long heads = doc.integer(doc.required(r, "num_heads", "gpt_config.yaml"), "num_heads", 1, 4096);
  if (hidden % heads != 0)
    doc.fail(r["num_heads"], fmt::format("model_dim {} is not a multiple of num_heads {}", hidden, heads),
             "each head takes model_dim / num_heads dimensions");
  const long long vocab = integer("vocab_size", 50257);
  m.seq_len = integer("max_seq_len", 1024);
  m.batch_size = integer("batch_size", 32);
  m.micro_batches = integer("num_microbatches", 1);
  m.fp16 = r["use_fp16"] && doc.boolean(r["use_fp16"], "use_fp16");
  m.yaml = fmt::format("{{name: smolcluster-gpt, layers: {}, hidden: {}, heads: {}, kv_heads: {}, head_dim: {}, ffn: {}, vocab: "
                       "{}, max_seq: {}, mlp: gelu, norm: layernorm, bias: true, tied_embeddings: true}}",
                       doc.integer(doc.required(r, "num_layers", "gpt_config.yaml"), "num_layers", 1, 4096), hidden, heads,
                       heads, hidden / heads, integer("ff_dim", 4 * hidden), vocab, m.seq_len);
  m.comments.push_back(fmt::format("model from {}{}", file, r["vocab_size"] && !r["vocab_size"].IsNull() ? "" : " (vocab_size null: GPT-2's tokenizer, 50257)"));
  return m;
}

std::string workload_yaml(const Cluster& c, const ModelConfig& m, const std::string& name, const std::string& algorithm,
                          int steps) {
  const bool pipeline = c.parallel.find("pipeline") != std::string::npos;
  const long long replicas = pipeline ? 1 : static_cast<long long>(c.hosts.size()) - (c.parallel.find("parameter-server") != std::string::npos ? 1 : 0);
  // batch_size is smolcluster's total per step: a pipeline splits it into micro-batches, data parallelism over replicas.
  const long long micro = std::max(1LL, pipeline ? m.batch_size / m.micro_batches : m.batch_size / std::max(1LL, replicas));
  std::string out = fmt::format("# Imported from smolcluster's cluster_config_{}.yaml by `clustertwin import smolcluster`.\n", algorithm);
  for (const auto& s : c.comments) out += "# " + s + "\n";
  for (const auto& s : m.comments) out += "# " + s + "\n";
  out += fmt::format("# batch_size {} in total per step -> micro_batch {}{}\n", m.batch_size, micro,
                     pipeline ? fmt::format(" x {} micro-batches", m.micro_batches) : fmt::format(" on each of {} replicas", replicas));
  std::string parallel = c.parallel;
  if (pipeline) parallel = fmt::format("{{strategy: pipeline, schedule: gpipe, micro_batches: {}}}", m.micro_batches);
  out += fmt::format("name: {}\nmodel: {}\ntask: train\nbatch: {{micro_batch: {}, seq_len: {}}}\nprecision: {{compute: {}}}\n"
                     "parallel: {}\nsteps: {}\n",
                     name, m.yaml, micro, m.seq_len, m.fp16 ? "fp16" : "fp32", parallel, steps);
  return out;
}
}  // namespace

SmolclusterFiles import_smolcluster(const SmolclusterImport& o) {
  SmolclusterFiles f;
  f.algorithm = choose_algorithm(o);
  const std::string file = (fs::path(o.dir) / fmt::format("cluster_config_{}.yaml", f.algorithm)).string();
  const core::YamlDoc doc = core::YamlDoc::load(file, "CONFIG_DIR");
  Cluster c = read_cluster(doc, f.algorithm);
  for (auto& h : c.hosts) assign_device(h, o);
  const std::string name = o.name.empty() ? "smolcluster-" + f.algorithm : o.name;
  f.topology_yaml = topology_yaml(c, name, file);
  f.workload_yaml = workload_yaml(c, read_model(o.dir), name, f.algorithm, o.steps);
  return f;
}

}  // namespace clustertwin::interop
