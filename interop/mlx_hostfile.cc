#include "interop/mlx_hostfile.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interop/json_input.h"
#include "topologies/address.h"
#include "topologies/check.h"

namespace clustertwin::interop {

namespace {
const char* const kFormatHint =
    "an MLX hostfile is a JSON list of {\"ssh\": ALIAS, \"ips\": [...], \"rdma\": [...]} objects, or "
    "{\"backend\": ..., \"hosts\": [that list]} as mlx.distributed_config --output writes it";

std::vector<std::string> device_list(const core::YamlDoc& doc, const YAML::Node& n) {
  if (n.IsNull()) return {};
  if (n.IsScalar()) return {doc.string(n, "an RDMA device name")};
  if (!n.IsSequence())
    doc.fail(n, "expected null, an RDMA device name (\"rdma_en3\") or a list of them", kFormatHint);
  std::vector<std::string> out;
  for (const auto& d : n) out.push_back(doc.string(d, "an RDMA device name"));
  return out;
}

MlxHost read_host(const core::YamlDoc& doc, const YAML::Node& n, size_t index) {
  doc.check_keys(n, {"ssh", "ips", "rdma"}, fmt::format("hosts[{}]", index));
  MlxHost h;
  h.pos = doc.pos(n);
  h.ssh = doc.string(doc.required(n, "ssh", fmt::format("hosts[{}]", index)), "ssh");
  if (h.ssh.empty()) doc.fail(n["ssh"], "expected the host's ssh alias, got an empty string", kFormatHint);
  if (n["ips"]) {
    doc.require_seq(n["ips"], "ips");
    for (const auto& ip : n["ips"]) h.ips.push_back(doc.string(ip, "an IP address"));
  }
  if (n["rdma"] && !n["rdma"].IsNull()) {
    doc.require_seq(n["rdma"], "rdma");
    h.rdma_pos = doc.pos(n["rdma"]);
    for (const auto& entry : n["rdma"]) h.rdma.push_back(device_list(doc, entry));
  }
  return h;
}

// The matrix must be square and name no device toward the host itself.
void check_rdma_matrix(const core::YamlDoc& doc, const YAML::Node& hosts, const MlxHostfile& f) {
  if (!f.rdma()) return;
  for (size_t i = 0; i < f.hosts.size(); ++i) {
    const YAML::Node at = hosts[i]["rdma"] ? hosts[i]["rdma"] : hosts[i];
    if (f.hosts[i].rdma.size() != f.hosts.size())
      doc.fail(at,
               fmt::format("'{}' has {} \"rdma\" entries; expected {}, one per host (null toward itself and toward a "
                           "host it has no cable to)",
                           f.hosts[i].ssh, f.hosts[i].rdma.size(), f.hosts.size()),
               "write the host's row of the RDMA matrix in hosts order, as mlx.distributed_config --backend jaccl does");
    if (!f.hosts[i].rdma[i].empty())
      doc.fail(hosts[i]["rdma"][i], fmt::format("'{}' names an RDMA device toward itself (entry {})", f.hosts[i].ssh, i),
               "the host's own entry is null");
  }
}
}  // namespace

bool MlxHostfile::rdma() const {
  return std::any_of(hosts.begin(), hosts.end(), [](const MlxHost& h) {
    return std::any_of(h.rdma.begin(), h.rdma.end(), [](const auto& d) { return !d.empty(); });
  });
}

MlxHostfile read_mlx_hostfile(const std::string& json_text, const std::string& file) {
  core::YamlDoc doc = parse_json(json_text, file, kFormatHint);
  MlxHostfile f;
  f.file = file;
  YAML::Node hosts = doc.root();
  if (doc.root().IsMap()) {
    doc.check_keys(doc.root(), {"backend", "envs", "hosts"}, "the hostfile");
    if (doc.root()["backend"]) f.backend = doc.string(doc.root()["backend"], "backend");
    if (doc.root()["envs"]) {
      doc.require_seq(doc.root()["envs"], "envs");
      for (const auto& e : doc.root()["envs"]) f.envs.push_back(doc.string(e, "an environment variable"));
    }
    hosts = doc.required(doc.root(), "hosts", "the hostfile");
  }
  if (!hosts.IsSequence()) doc.fail(hosts, "expected a list of hosts", kFormatHint);
  if (hosts.size() == 0) doc.fail(hosts, "the hostfile lists no host", kFormatHint);
  for (size_t i = 0; i < hosts.size(); ++i) f.hosts.push_back(read_host(doc, hosts[i], i));
  for (size_t i = 0; i < f.hosts.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (f.hosts[i].ssh == f.hosts[j].ssh)
        doc.fail(hosts[i]["ssh"],
                 fmt::format("host '{}' is listed twice (hosts[{}] and hosts[{}])", f.hosts[i].ssh, j, i),
                 "a topology node is one machine: write it once and give it `ranks: N` in the imported topology");
  check_rdma_matrix(doc, hosts, f);
  return f;
}

MlxHostfile load_mlx_hostfile(const std::string& path) { return read_mlx_hostfile(read_text(path, "HOSTFILE"), path); }

// --- import ------------------------------------------------------------------------------------

namespace {
// A YAML scalar: plain when safe, else JSON-quoted (a valid YAML double-quoted string).
std::string q(const std::string& s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
  });
  return plain ? s : nlohmann::json(s).dump();
}

// "user@studio1.local" -> "studio1.local": the machine, not the login.
std::string node_name(const std::string& ssh) {
  const auto at = ssh.rfind('@');
  return at == std::string::npos ? ssh : ssh.substr(at + 1);
}

std::string device_of(const MlxHost& h, const MlxImportOptions& o) {
  auto it = o.devices.find(h.ssh);
  std::string d = it != o.devices.end() ? it->second : o.device;
  if (d.empty())
    throw core::InputError(core::format_diagnostic(
        {"--device", 0, 0}, {},
        fmt::format("no device for host '{}': an MLX hostfile does not say what each machine is", h.ssh),
        fmt::format("give --device PRESET for every host, or --device {}=PRESET for this one; {}", h.ssh,
                    core::suggest("", topo::device_names()))));
  if (!topo::find_device(d))
    throw core::InputError(core::format_diagnostic({"--device", 0, 0}, {},
                                                   fmt::format("unknown device preset '{}' (host '{}')", d, h.ssh),
                                                   core::suggest(d, topo::device_names())));
  return d;
}

std::string strip_rdma(const std::string& device) {
  return device.rfind("rdma_", 0) == 0 ? device.substr(5) : device;
}

struct Out {
  std::string head, nodes, links;
};

void header(Out& out, const MlxHostfile& h, const MlxImportOptions& o, std::string_view form) {
  out.head += fmt::format("# Imported from the MLX hostfile {} ({} host{}, backend '{}') by `clustertwin import mlx-hostfile`.\n",
                          h.file, h.hosts.size(), h.hosts.size() == 1 ? "" : "s", h.backend.empty() ? "not stated" : h.backend);
  out.head += fmt::format("# Form: {}.\n", form);
  out.head += "# Read from the hostfile: each host's ssh alias (node names drop any user@), its ips, its RDMA devices.\n";
  out.head += fmt::format("# Given on the command line: the device presets{}.\n",
                          o.device.empty() ? "" : fmt::format(" (--device {} for hosts not named)", o.device));
  out.head += fmt::format("name: {}\ndescription: {}\nnodes:\n", q(o.name),
                          q(fmt::format("imported from the MLX hostfile {}", h.file)));
}

std::string jaccl_yaml(const MlxHostfile& h, const MlxImportOptions& o) {
  Out out;
  header(out, h, o, "JACCL (RDMA over Thunderbolt 5): one tb5-rdma link per cable the rdma matrix names; ports are its "
                    "device names without 'rdma_'; ips[0] is the address mlx.launch reaches the host at");
  std::vector<std::string> missing;
  for (size_t i = 0; i < h.hosts.size(); ++i) {
    const MlxHost& me = h.hosts[i];
    out.nodes += fmt::format("  - {{name: {}, device: {}, ssh: {}{}}}\n", q(node_name(me.ssh)), device_of(me, o), q(me.ssh),
                             me.ips.empty() ? "" : fmt::format(", address: {}", q(me.ips[0])));
    for (size_t j = i + 1; j < h.hosts.size(); ++j) {
      const auto& mine = me.rdma.size() > j ? me.rdma[j] : std::vector<std::string>{};
      const auto& theirs = h.hosts[j].rdma.size() > i ? h.hosts[j].rdma[i] : std::vector<std::string>{};
      if (mine.size() != theirs.size())
        throw core::InputError(core::format_diagnostic(
            me.rdma_pos.file.empty() ? me.pos : me.rdma_pos, {},
            fmt::format("'{}' names {} RDMA device{} toward '{}' (entry {}), but '{}' names {} toward '{}' (entry {}): a "
                        "cable has an end on both hosts",
                        me.ssh, mine.size(), mine.size() == 1 ? "" : "s", h.hosts[j].ssh, j, h.hosts[j].ssh, theirs.size(),
                        me.ssh, i),
            "fix the two entries so that each names the device of its end of every cable (null on both: no cable)"));
      if (mine.empty()) missing.push_back(fmt::format("{} - {}", node_name(me.ssh), node_name(h.hosts[j].ssh)));
      for (size_t k = 0; k < mine.size(); ++k)
        out.links += fmt::format("  - {{between: [{}, {}], ports: [{}, {}], type: tb5-rdma}}\n", q(node_name(me.ssh)),
                                 q(node_name(h.hosts[j].ssh)), q(strip_rdma(mine[k])), q(strip_rdma(theirs[k])));
    }
  }
  if (!missing.empty())
    out.head += fmt::format("# No RDMA cable in the hostfile between: {} (null on both sides). RDMA is never forwarded:\n"
                            "# `clustertwin check` reports each such pair that must talk (T003).\n",
                            fmt::join(missing, ", "));
  return out.head + out.nodes + (out.links.empty() ? "links: []\n" : "links:\n" + out.links);
}

std::string ethernet_yaml(const MlxHostfile& h, const MlxImportOptions& o, const std::string& why) {
  Out out;
  header(out, h, o,
         fmt::format("TCP over Ethernet ({}): each host's first ip is its address; one cable per host to a switch, of "
                     "type {} (inferred: the hostfile does not give link speeds; edit `type:` to match)",
                     why, o.ethernet));
  for (const auto& me : h.hosts)
    out.nodes += fmt::format("  - {{name: {}, device: {}, ssh: {}{}}}\n", q(node_name(me.ssh)), device_of(me, o), q(me.ssh),
                             me.ips.empty() ? "" : fmt::format(", address: {}", q(me.ips[0])));
  out.nodes += "  - {name: switch, kind: switch}\n";
  for (const auto& me : h.hosts)
    out.links += fmt::format("  - {{between: [{}, switch], type: {}}}\n", q(node_name(me.ssh)), o.ethernet);
  return out.head + out.nodes + "links:\n" + out.links;
}

// One Thunderbolt cable of the ring: host `at`'s address `ip` on it, the peer's the other /30 host.
struct Cable {
  size_t a, b;
  uint32_t ip_a, ip_b;
};

std::string ring_yaml(const MlxHostfile& h, const MlxImportOptions& o, const std::string& why) {
  const size_t n = h.hosts.size();
  std::vector<Cable> cables;
  std::set<uint32_t> seen;  // /30 networks already cabled (a 2-host ring lists each cable twice)
  for (size_t i = 0; i < n; ++i) {
    if (h.hosts[i].ips.empty())
      throw core::InputError(core::format_diagnostic(
          h.hosts[i].pos, {}, fmt::format("'{}' has no ips: the ring backend connects to its neighbours at them", h.hosts[i].ssh),
          "give each host its address on the cable to the previous host (mlx.distributed_config --backend ring)"));
    for (const auto& text : h.hosts[i].ips) {
      auto ip = topo::parse_ipv4(text);
      if (!ip || (*ip & 3u) == 0 || (*ip & 3u) == 3)
        throw core::InputError(core::format_diagnostic(
            h.hosts[i].pos, {},
            fmt::format("'{}' is not a host address of a /30 (x.x.x.4k+1 or 4k+2), as the ring over Thunderbolt assigns one "
                        "per cable",
                        text),
            "for hosts on Ethernet or Wi-Fi, import with --over ethernet"));
      if (n < 2 || !seen.insert(*ip & ~3u).second) continue;
      const size_t prev = (i + n - 1) % n;
      cables.push_back({i, prev, *ip, (*ip & ~3u) | (3u - (*ip & 3u))});
    }
  }
  auto tb_of = [&](size_t i) { return topo::find_device(device_of(h.hosts[i], o))->thunderbolt; };
  Out out;
  header(out, h, o,
         fmt::format("ring over Thunderbolt ({}): host i's ips are its ends of the cables to host i-1, one /30 each; the "
                     "other end is the /30's other address (inferred); link types follow the devices' Thunderbolt "
                     "generation; interfaces tb0, tb1... are named here, not read; only ring neighbours talk",
                     why));
  std::vector<std::vector<std::string>> ifaces(n);  // per host: "{name: tbK, address: A/30}"
  std::vector<std::pair<std::string, std::string>> ends;
  for (const auto& c : cables) {
    auto add = [&](size_t host, uint32_t ip) {
      ifaces[host].push_back(fmt::format("{{name: tb{}, address: {}/30}}", ifaces[host].size(), topo::ipv4_str(ip)));
      return fmt::format("tb{}", ifaces[host].size() - 1);
    };
    const std::string pa = add(c.a, c.ip_a), pb = add(c.b, c.ip_b);
    const int gen = std::min(tb_of(c.a), tb_of(c.b));
    out.links += fmt::format("  - {{between: [{}, {}], ports: [{}, {}], type: {}}}{}\n", q(node_name(h.hosts[c.a].ssh)),
                             q(node_name(h.hosts[c.b].ssh)), pa, pb, gen >= 5 ? "tb5" : "tb4",
                             gen < 4 ? "  # a device without Thunderbolt: tb4 assumed" : "");
  }
  for (size_t i = 0; i < n; ++i) {
    const MlxHost& me = h.hosts[i];
    out.nodes += fmt::format("  - name: {}\n    device: {}\n    ssh: {}\n", q(node_name(me.ssh)), device_of(me, o), q(me.ssh));
    if (ifaces[i].empty()) continue;
    out.nodes += fmt::format("    address: {}\n    interfaces:\n", me.ips[0]);
    for (const auto& f : ifaces[i]) out.nodes += fmt::format("      - {}\n", f);
  }
  return out.head + out.nodes + (out.links.empty() ? "links: []\n" : "links:\n" + out.links);
}
}  // namespace

std::string mlx_topology_yaml(const MlxHostfile& h, const MlxImportOptions& o) {
  if (h.rdma()) return jaccl_yaml(h, o);
  using Over = MlxImportOptions::Over;
  if (o.over == Over::Thunderbolt) return ring_yaml(h, o, "--over thunderbolt");
  if (o.over == Over::Ethernet) return ethernet_yaml(h, o, "--over ethernet");
  if (h.backend == "ring") return ring_yaml(h, o, "inferred from backend 'ring', which mlx.distributed_config writes for Thunderbolt");
  for (const auto& host : h.hosts)
    if (host.ips.size() > 1)
      return ring_yaml(h, o, fmt::format("inferred: '{}' has {} ips, one per cable", host.ssh, host.ips.size()));
  return ethernet_yaml(h, o, "inferred: one ip per host and no backend 'ring'; --over thunderbolt if they are cables");
}

// --- export ------------------------------------------------------------------------------------

namespace {
[[noreturn]] void refuse(const topo::Topology& t, const std::string& message, const std::string& hint) {
  throw core::InputError(core::format_diagnostic({t.file, 0, 0}, {}, message, hint));
}

std::vector<int> links_between(const topo::Topology& t, int a, int b) {
  std::vector<int> out;
  for (size_t l = 0; l < t.links.size(); ++l)
    if ((t.links[l].a == a && t.links[l].b == b) || (t.links[l].a == b && t.links[l].b == a)) out.push_back(static_cast<int>(l));
  return out;
}

std::string bare(const std::string& address) { return address.substr(0, address.find('/')); }

nlohmann::json jaccl_hosts(const topo::Topology& t, const std::vector<int>& nodes, std::vector<std::string>& warnings) {
  // The lint first: what it finds about RDMA (T002 a device without TB5, T003 a pair without its
  // cable) is the reason JACCL cannot run, said the way `check` says it.
  std::string findings;
  for (const auto& f : topo::check(t))
    if (f.severity == topo::Severity::Error && (f.code == "T002" || f.code == "T003")) findings += topo::format_finding(t, f) + "\n";
  if (!findings.empty())
    throw core::InputError(findings + fmt::format("error: JACCL cannot run on '{}' (the findings above)", t.name));
  nlohmann::json hosts = nlohmann::json::array();
  for (int a : nodes) {
    nlohmann::json rdma = nlohmann::json::array();
    for (int b : nodes) {
      if (a == b) {
        rdma.push_back(nullptr);
        continue;
      }
      std::vector<std::string> devices;
      for (int l : links_between(t, a, b)) {
        const topo::Link& link = t.links[l];
        if (link.type.transport != topo::Transport::Rdma) continue;
        std::string port = link.a == a ? link.port_a : link.port_b;
        if (port.empty()) {
          port = fmt::format("en{}", devices.size() + 2);
          warnings.push_back(fmt::format("link {} - {} names no port at '{}': wrote rdma_{}, a guess; `ibv_devices` on "
                                         "'{}' lists the real names",
                                         t.nodes[link.a].name, t.nodes[link.b].name, t.nodes[a].name, port, t.nodes[a].name));
        }
        devices.push_back(port.rfind("rdma_", 0) == 0 ? port : "rdma_" + port);
      }
      if (devices.empty()) {
        std::string what = "no link";
        for (int l : links_between(t, a, b)) what = fmt::format("a '{}' link (TCP, not RDMA)", t.links[l].type.preset);
        refuse(t, fmt::format("JACCL needs an RDMA cable between every pair; '{}' and '{}' have {}", t.nodes[a].name,
                              t.nodes[b].name, what),
               "cable them with Thunderbolt 5 and make the link `type: tb5-rdma` (RDMA is never forwarded), or export "
               "--backend ring");
      }
      if (devices.size() == 1) rdma.push_back(devices[0]);
      else rdma.push_back(devices);
    }
    const topo::Node& n = t.nodes[a];
    nlohmann::json ips = nlohmann::json::array();
    if (!n.address.empty()) ips.push_back(bare(n.address));
    hosts.push_back({{"ssh", n.ssh.empty() ? n.name : n.ssh}, {"ips", ips}, {"rdma", rdma}});
  }
  return hosts;
}

// Host i's addresses on its cables to host i-1 (the ring's form), else its address.
nlohmann::json ring_hosts(const topo::Topology& t, const std::vector<int>& nodes, bool& thunderbolt) {
  const topo::Routes routes(t);
  nlohmann::json hosts = nlohmann::json::array();
  thunderbolt = nodes.size() > 1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int me = nodes[i], prev = nodes[(i + nodes.size() - 1) % nodes.size()];
    nlohmann::json ips = nlohmann::json::array();
    if (me != prev) {
      if (!routes.reachable(prev, me))
        refuse(t, fmt::format("the ring backend connects each host to the next, but '{}' cannot reach '{}': {}",
                              t.nodes[prev].name, t.nodes[me].name, routes.why(prev, me).message),
               routes.why(prev, me).hint);
      for (int l : links_between(t, me, prev)) {
        const topo::Link& link = t.links[l];
        const int iface = link.a == me ? link.iface_a : link.iface_b;
        if (link.type.port != topo::PortKind::Thunderbolt || iface < 0) continue;
        ips.push_back(t.nodes[me].interfaces[iface].address);
      }
    }
    if (ips.empty()) {
      thunderbolt = false;
      if (t.nodes[me].address.empty())
        refuse(t, fmt::format("'{}' has no address for the ring backend to connect to", t.nodes[me].name),
               "give the node an `address:` (or interfaces on its cables) in the topology");
      ips.push_back(bare(t.nodes[me].address));
    }
    hosts.push_back({{"ssh", t.nodes[me].ssh.empty() ? t.nodes[me].name : t.nodes[me].ssh}, {"ips", ips}});
  }
  return hosts;
}
}  // namespace

MlxExport mlx_hostfile_json(const topo::Topology& t, MlxBackend backend) {
  const std::vector<int> nodes = t.compute_nodes();
  for (int n : nodes)
    if (t.nodes[n].ranks > 1)
      refuse(t, fmt::format("'{}' runs {} ranks; an MLX hostfile entry is one process", t.nodes[n].name, t.nodes[n].ranks),
             "export a topology with `ranks: 1` on every node");
  MlxExport out;
  nlohmann::json file;
  if (backend == MlxBackend::Jaccl) {
    file = {{"backend", "jaccl"}, {"envs", nlohmann::json::array()}, {"hosts", jaccl_hosts(t, nodes, out.warnings)}};
  } else {
    bool thunderbolt = false;
    nlohmann::json hosts = ring_hosts(t, nodes, thunderbolt);
    // distributed_config writes "ring" for the ring over Thunderbolt and "" over Ethernet (mlx.launch's default is the ring).
    file = {{"backend", thunderbolt ? "ring" : ""}, {"envs", nlohmann::json::array()}, {"hosts", hosts}};
  }
  out.json = file.dump(4) + "\n";
  return out;
}

}  // namespace clustertwin::interop
