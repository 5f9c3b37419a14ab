#include "plan/edits.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "topologies/address.h"
#include "workloads/workload.h"

namespace clustertwin::plan {

namespace {

// Node keys that say how a node is wired or run; every other key overrides a device figure.
const std::set<std::string> kStructuralKeys{"name",     "kind",       "device", "role",       "ranks",
                                            "ssh",      "forwards",   "address", "interfaces", "routes",
                                            "forward_bandwidth", "forward_latency"};
// Link keys that override the type's figures.
const std::vector<std::string> kLinkFigureKeys{"bandwidth", "latency", "duplex", "overhead", "mtu"};

std::string str(const YAML::Node& n, const char* key) {
  return n[key] && n[key].IsScalar() ? n[key].as<std::string>() : std::string();
}

bool is_switch(const YAML::Node& n) { return str(n, "kind") == "switch"; }
bool runs_rank(const YAML::Node& n) { return !is_switch(n) && str(n, "role") != "control"; }

YAML::Node flow_map() {
  YAML::Node m(YAML::NodeType::Map);
  m.SetStyle(YAML::EmitterStyle::Flow);
  return m;
}

YAML::Node link_between(const std::string& a, const std::string& b, const std::string& type) {
  YAML::Node l = flow_map();
  YAML::Node ends(YAML::NodeType::Sequence);
  ends.SetStyle(YAML::EmitterStyle::Flow);
  ends.push_back(a);
  ends.push_back(b);
  l["between"] = ends;
  l["type"] = type;
  return l;
}

// Names, links and degrees of a topology document, read once per edit.
struct View {
  std::vector<std::string> compute;  // compute node names in file order
  std::vector<std::string> switches;
  std::vector<std::pair<std::string, std::string>> links;
  std::map<std::string, int> degree;

  explicit View(const YAML::Node& t) {
    for (const auto& n : t["nodes"]) {
      if (is_switch(n)) switches.push_back(str(n, "name"));
      else if (runs_rank(n)) compute.push_back(str(n, "name"));
    }
    for (const auto& l : t["links"]) {
      if (!l["between"] || !l["between"].IsSequence() || l["between"].size() != 2) continue;
      auto a = l["between"][0].as<std::string>(), b = l["between"][1].as<std::string>();
      links.emplace_back(a, b);
      ++degree[a], ++degree[b];
    }
  }
  bool is_compute(const std::string& n) const { return std::find(compute.begin(), compute.end(), n) != compute.end(); }
  // The host every other compute node is cabled to, when there is one.
  std::optional<std::string> hub() const {
    for (const auto& h : compute) {
      std::set<std::string> peers;
      for (const auto& [a, b] : links) {
        if (a == h) peers.insert(b);
        if (b == h) peers.insert(a);
      }
      if (peers.size() + 1 == compute.size() &&
          std::all_of(compute.begin(), compute.end(), [&](const std::string& c) { return c == h || peers.count(c); }))
        return h;
    }
    return std::nullopt;
  }
};

// The most common link type, the one new cables take.
std::string common_link_type(const YAML::Node& t) {
  std::map<std::string, int> count;
  for (const auto& l : t["links"]) ++count[str(l, "type")];
  std::string best = "tb4";
  int most = 0;
  for (const auto& [type, n] : count)
    if (n > most && !type.empty()) best = type, most = n;
  return best;
}

// How the base addresses its nodes, so new and rewired nodes are addressed alike.
struct Addressing {
  enum Kind { None, Same, Subnet, Keep } kind = None;
  std::string same;  // Same: every node's address (loopback processes)
  topo::Subnet subnet;
};

std::optional<topo::ParsedAddress> address_of(const YAML::Node& n) {
  if (n["address"] && n["address"].IsScalar()) return topo::parse_address(n["address"].as<std::string>());
  if (n["interfaces"] && n["interfaces"].IsSequence() && n["interfaces"].size() > 0)
    return topo::parse_address(str(n["interfaces"][0], "address"));
  return std::nullopt;
}

Addressing addressing_of(const YAML::Node& t) {
  Addressing a;
  std::set<std::string> texts;
  std::optional<topo::ParsedAddress> first;
  bool any = false;
  for (const auto& n : t["nodes"]) {
    if (!runs_rank(n)) continue;
    if (n["address"]) texts.insert(str(n, "address"));
    if (n["address"] || n["interfaces"]) any = true;
    if (!first) first = address_of(n);
  }
  if (!any) return a;
  if (texts.size() == 1 && (!first || !first->prefix)) {
    a.kind = Addressing::Same;
    a.same = *texts.begin();
    return a;
  }
  if (first && first->prefix) {
    a.kind = Addressing::Subnet;
    // A /30 per cable (a TCP mesh) leaves no room for one subnet of all the nodes: take a /24.
    int prefix = std::min(*first->prefix, 24);
    a.subnet = topo::subnet_of(first->ip, prefix);
    return a;
  }
  a.kind = Addressing::Keep;
  return a;
}

void clear_wiring(YAML::Node n) {
  for (const char* k : {"forwards", "interfaces", "routes", "forward_bandwidth", "forward_latency"}) n.remove(k);
}

std::string host_address(const topo::Subnet& s, int host) {
  return fmt::format("{}/{}", topo::ipv4_str(s.net + static_cast<uint32_t>(host)), s.prefix);
}

// Rewires the compute nodes as `shape`: switches and links are replaced, addresses follow the
// base's scheme (one subnet; a /30 per cable for a ring or mesh, whose ends do not forward).
void reshape(YAML::Node& t, Shape shape) {
  const std::string type = common_link_type(t);
  const Addressing addr = addressing_of(t);
  YAML::Node nodes(YAML::NodeType::Sequence);
  std::vector<std::string> compute;
  for (YAML::Node n : t["nodes"]) {
    if (is_switch(n)) continue;
    if (runs_rank(n)) compute.push_back(str(n, "name"));
    nodes.push_back(n);
  }
  const int count = static_cast<int>(compute.size());
  const bool per_cable = addr.kind == Addressing::Subnet && (shape == Shape::Ring || shape == Shape::Mesh);
  std::map<std::string, YAML::Node> by_name;
  int host = 0;
  for (YAML::Node n : nodes) {
    if (!runs_rank(n)) continue;
    clear_wiring(n);
    by_name.emplace(str(n, "name"), n);
    ++host;
    if (addr.kind == Addressing::Subnet) {
      if (per_cable) n.remove("address");
      else n["address"] = host_address(addr.subnet, host);
    } else if (addr.kind == Addressing::Same) {
      n["address"] = addr.same;
    }
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  if (shape == Shape::Switch) {
    std::string sw = "switch";
    while (by_name.count(sw)) sw += "0";
    YAML::Node s = flow_map();
    s["name"] = sw;
    s["kind"] = "switch";
    nodes.push_back(s);
    for (const auto& c : compute) pairs.emplace_back(c, sw);
  } else if (shape == Shape::Star) {
    for (int i = 1; i < count; ++i) pairs.emplace_back(compute[0], compute[i]);
    if (count > 2) by_name[compute[0]]["forwards"] = true;
  } else if (shape == Shape::Chain || shape == Shape::Ring) {
    for (int i = 0; i + 1 < count; ++i) pairs.emplace_back(compute[i], compute[i + 1]);
    if (shape == Shape::Ring && count > 2) pairs.emplace_back(compute[count - 1], compute[0]);
    if (shape == Shape::Chain)
      for (int i = 1; i + 1 < count; ++i) by_name[compute[i]]["forwards"] = true;
  } else {
    for (int i = 0; i < count; ++i)
      for (int j = i + 1; j < count; ++j) pairs.emplace_back(compute[i], compute[j]);
  }
  YAML::Node links(YAML::NodeType::Sequence);
  std::map<std::string, int> ifaces;  // per-cable interfaces per node
  int cable = 0;
  for (const auto& [a, b] : pairs) {
    YAML::Node l = link_between(a, b, type);
    if (per_cable) {
      ++cable;
      YAML::Node ports(YAML::NodeType::Sequence);
      ports.SetStyle(YAML::EmitterStyle::Flow);
      for (int end = 0; end < 2; ++end) {
        const std::string& n = end == 0 ? a : b;
        YAML::Node i = flow_map();
        const std::string iface = fmt::format("tb{}", ++ifaces[n]);
        i["name"] = iface;
        i["address"] = fmt::format("10.{}.{}.{}/30", 100 + cable / 64, (cable % 64) * 4, end + 1);
        by_name[n]["interfaces"].push_back(i);
        ports.push_back(iface);
      }
      l["ports"] = ports;
    }
    links.push_back(l);
  }
  t["nodes"] = nodes;
  t["links"] = links;
}

// "mini3" -> ("mini", 3)
std::pair<std::string, int> split_number(const std::string& name) {
  size_t i = name.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(name[i - 1]))) --i;
  return {name.substr(0, i), i < name.size() ? std::stoi(name.substr(i)) : 0};
}

void add_nodes(YAML::Node& t, const AddNodes& e) {
  if (e.count <= 0) return;
  const View before(t);
  const Wiring wiring = wiring_of(t);
  YAML::Node templ;
  for (YAML::Node n : t["nodes"])
    if (runs_rank(n)) templ.reset(n);  // reset: assignment would overwrite the node templ refers to
  if (!templ) return;  // no compute node to copy: the loader reports the topology as it is
  const std::string device = e.device.empty() ? str(templ, "device") : e.device;
  const Addressing addr = addressing_of(t);
  int next_host = 0;
  for (YAML::Node n : t["nodes"])
    if (auto a = address_of(n); a && addr.kind == Addressing::Subnet && addr.subnet.contains(a->ip))
      next_host = std::max<int>(next_host, static_cast<int>(a->ip - addr.subnet.net));
  auto [prefix, number] = split_number(str(templ, "name"));
  std::set<std::string> taken;
  for (const auto& n : t["nodes"]) taken.insert(str(n, "name"));
  if (prefix.empty()) prefix = "node";

  // Where a new node is cabled: to the switch most nodes use, or to the hub of a star (any other
  // wiring that is not a chain, ring or mesh: to its best-connected host).
  std::string attach;
  if (wiring == Wiring::Switch || wiring == Wiring::Star || wiring == Wiring::Other) {
    const auto& pool = wiring == Wiring::Switch ? before.switches : before.compute;
    for (const auto& c : pool)
      if (attach.empty() || (before.degree.count(c) && before.degree.at(c) > (before.degree.count(attach) ? before.degree.at(attach) : 0)))
        attach = c;
    if (wiring == Wiring::Star)
      if (auto h = before.hub()) attach = *h;
  }
  std::string type = common_link_type(t);
  for (const auto& l : t["links"])
    if (l["between"] && (l["between"][0].as<std::string>() == attach || l["between"][1].as<std::string>() == attach)) {
      type = str(l, "type");
      break;
    }

  for (int k = 0; k < e.count; ++k) {
    std::string name;
    do name = fmt::format("{}{}", prefix, ++number);
    while (taken.count(name));
    taken.insert(name);
    YAML::Node n = flow_map();
    n["name"] = name;
    n["device"] = device;
    if (device == str(templ, "device"))  // the same machine keeps the base's figure overrides
      for (const auto& kv : templ)
        if (!kStructuralKeys.count(kv.first.as<std::string>())) n[kv.first.as<std::string>()] = YAML::Clone(kv.second);
    if (templ["ranks"]) n["ranks"] = YAML::Clone(templ["ranks"]);
    if (templ["ssh"]) n["ssh"] = name;
    if (addr.kind == Addressing::Subnet) n["address"] = host_address(addr.subnet, ++next_host);
    if (addr.kind == Addressing::Same) n["address"] = addr.same;
    t["nodes"].push_back(n);
    if (!attach.empty()) t["links"].push_back(link_between(attach, name, type));
  }
  if (!attach.empty() && wiring != Wiring::Switch)
    for (YAML::Node n : t["nodes"])
      if (str(n, "name") == attach) n["forwards"] = true;
  if (wiring == Wiring::Chain) reshape(t, Shape::Chain);
  if (wiring == Wiring::Ring) reshape(t, Shape::Ring);
  if (wiring == Wiring::Mesh) reshape(t, Shape::Mesh);
}

void remove_nodes(YAML::Node& t, const RemoveNodes& e) {
  auto gone = [&](const std::string& n) { return std::find(e.names.begin(), e.names.end(), n) != e.names.end(); };
  YAML::Node nodes(YAML::NodeType::Sequence), links(YAML::NodeType::Sequence);
  for (YAML::Node n : t["nodes"])
    if (!gone(str(n, "name"))) nodes.push_back(n);
  for (YAML::Node l : t["links"]) {
    const YAML::Node ends = l["between"];
    if (ends && ends.IsSequence() && ends.size() == 2 && (gone(ends[0].as<std::string>()) || gone(ends[1].as<std::string>())))
      continue;
    links.push_back(l);
  }
  t["nodes"] = nodes;
  t["links"] = links;
}

void replace_device(YAML::Node& t, const std::string& device) {
  for (YAML::Node n : t["nodes"]) {
    if (!runs_rank(n)) continue;
    std::vector<std::string> figures;
    for (const auto& kv : n)
      if (!kStructuralKeys.count(kv.first.as<std::string>())) figures.push_back(kv.first.as<std::string>());
    for (const auto& k : figures) n.remove(k);
    n["device"] = device;
  }
}

void set_link_type(YAML::Node& t, const SetLinkType& e) {
  const std::string& type = e.type;
  for (YAML::Node l : t["links"]) {
    if (!e.between.empty()) {
      const YAML::Node ends = l["between"];
      if (!ends || !ends.IsSequence() || ends.size() != 2) continue;
      const std::string a = ends[0].as<std::string>(), b = ends[1].as<std::string>();
      if (!((a == e.between[0] && b == e.between[1]) || (a == e.between[1] && b == e.between[0]))) continue;
    }
    for (const auto& k : kLinkFigureKeys) l.remove(k);
    l["type"] = type;
  }
}

// Whether the workload's final strategy takes parallel key `key` (the planner drops the rest).
bool strategy_takes(const YAML::Node& w, const std::string& key) {
  const YAML::Node par = w["parallel"];
  const std::string s = par && par.IsMap() ? str(par, "strategy") : "";
  const auto strategy = work::strategy_named(s);
  if (!strategy) return true;  // the loader names the unknown strategy
  const work::Task task = str(w, "task") == "infer" ? work::Task::Infer : work::Task::Train;
  const auto keys = work::parallel_keys(*strategy, task);
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) return false;
  const bool stage3 = s == "fsdp" || str(par, "stage") == "3";
  if (key == "stage" && s == "fsdp") return false;
  if (key == "bucket" && stage3) return false;  // ZeRO-3 reduce-scatters each unit on its own
  if (key == "prefetch" && !stage3) return false;  // only ZeRO-3 gathers parameters ahead
  return true;
}

void set_key(YAML::Node& w, const SetKey& e) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = e.path.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(e.path.substr(start, dot - start));
  parts.push_back(e.path.substr(start));
  if (parts.size() == 2 && parts[0] == "parallel" && !strategy_takes(w, parts[1])) return;
  std::vector<YAML::Node> path{w};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child = path.back()[parts[i]];
    if (!child.IsMap()) {
      child = YAML::Node(YAML::NodeType::Map);
      path.back()[parts[i]] = child;
    }
    path.push_back(child);
  }
  path.back()[parts.back()] = YAML::Clone(e.value);
}

// The new `parallel:` block keeps the base's settings the new strategy takes (an all-reduce
// algorithm, a bucket, a prefetch depth), but never its degrees or ZeRO stage: those belong to the
// strategy the axis names.
void set_parallel(YAML::Node& w, const YAML::Node& parallel) {
  const YAML::Node old = w["parallel"] && w["parallel"].IsMap() ? YAML::Clone(w["parallel"]) : YAML::Node();
  w["parallel"] = YAML::Clone(parallel);
  if (!old) return;
  const std::set<std::string> degrees{"strategy", "dp", "tp", "pp", "ep", "stage", "mode", "server"};
  for (const auto& kv : old) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node now = w["parallel"];
    if (degrees.count(key) || now[key] || !strategy_takes(w, key)) continue;
    w["parallel"][key] = YAML::Clone(kv.second);
  }
}

int phase(const Edit& e) {
  // nodes removed, added, device, link type, shape; parallel, keys (a key filtered by the final strategy)
  return static_cast<int>(e.index());
}

}  // namespace

std::string_view name(Shape s) {
  switch (s) {
    case Shape::Star: return "star";
    case Shape::Chain: return "chain";
    case Shape::Ring: return "ring";
    case Shape::Mesh: return "mesh";
    case Shape::Switch: return "switch";
  }
  return "?";
}

Wiring wiring_of(const YAML::Node& t) {
  const View v(t);
  const size_t n = v.compute.size();
  std::set<std::pair<std::string, std::string>> among;  // unordered pairs of compute nodes
  bool to_switch = false;
  for (const auto& [a, b] : v.links) {
    if (v.is_compute(a) && v.is_compute(b)) among.insert(std::minmax(a, b));
    else to_switch = to_switch || (!v.switches.empty() && (v.is_compute(a) || v.is_compute(b)));
  }
  if (to_switch && among.empty()) return Wiring::Switch;
  if (n >= 3 && among.size() == n * (n - 1) / 2) return Wiring::Mesh;
  if (v.hub() && among.size() + 1 == n) return Wiring::Star;
  bool max2 = std::all_of(v.compute.begin(), v.compute.end(),
                          [&](const std::string& c) { return !v.degree.count(c) || v.degree.at(c) <= 2; });
  if (max2 && n >= 3 && among.size() == n) return Wiring::Ring;
  if (max2 && among.size() + 1 == n) return Wiring::Chain;
  return Wiring::Other;
}

Documents apply_edits(const Documents& base, const std::vector<const Edit*>& edits) {
  Documents d{YAML::Clone(base.topology), YAML::Clone(base.workload)};
  std::vector<const Edit*> ordered = edits;
  std::stable_sort(ordered.begin(), ordered.end(), [](const Edit* a, const Edit* b) { return phase(*a) < phase(*b); });
  for (const Edit* e : ordered) {
    if (auto* rm = std::get_if<RemoveNodes>(e)) remove_nodes(d.topology, *rm);
    else if (auto* add = std::get_if<AddNodes>(e)) add_nodes(d.topology, *add);
    else if (auto* r = std::get_if<Reshape>(e)) reshape(d.topology, r->shape);
    else if (auto* dev = std::get_if<ReplaceDevice>(e)) replace_device(d.topology, dev->device);
    else if (auto* lt = std::get_if<SetLinkType>(e)) set_link_type(d.topology, *lt);
    else if (auto* p = std::get_if<SetParallel>(e)) set_parallel(d.workload, p->parallel);
    else if (auto* k = std::get_if<SetKey>(e)) set_key(d.workload, *k);
  }
  return d;
}

std::string emit(const YAML::Node& doc) {
  YAML::Emitter out;
  out << doc;
  return std::string(out.c_str()) + "\n";
}

}  // namespace clustertwin::plan
