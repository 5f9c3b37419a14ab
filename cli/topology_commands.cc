// `clustertwin check TOPO [WORKLOAD]`: the topology lint, over the rank pairs the workload uses.
// `clustertwin topology show TOPO [--dot|--mermaid]`: nodes, links and routes as tables, or Graphviz, or Mermaid.
// `clustertwin topology presets [NAME]`: every preset figure with the source written beside it.
#include <memory>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/lint.h"
#include "core/format.h"
#include "topologies/check.h"
#include "topologies/routing.h"
#include "topologies/placement.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::cli {

namespace {

// --- check --------------------------------------------------------------------------------------

struct CheckArgs {
  std::string topology, workload;
};

void run_check(const CheckArgs& a) {
  topo::Topology t = topo::load_topology(a.topology, "TOPO");
  topo::CheckOptions options;
  std::string scope = "every pair of ranks (give a WORKLOAD to check only the pairs it uses)";
  if (!a.workload.empty()) {
    work::Workload w = work::load_workload(a.workload, "WORKLOAD");
    const core::Program p = work::compile(w, t);
    topo::place(t, p.placement);  // the pairs that talk are between the nodes the placement chose
    options = check_options(p);
    scope = fmt::format("the {} rank pairs workload '{}' uses", options.talking->size(), w.name);
  }
  auto findings = topo::check(t, options);
  print_findings(t, findings, stdout);
  int errors = 0, warnings = 0;
  for (const auto& f : findings) (f.severity == topo::Severity::Error ? errors : warnings)++;
  fmt::print("{}: {} ({} nodes, {} links); checked {}\n", t.file,
             findings.empty() ? std::string("no findings")
                              : fmt::format("{} error{}, {} warning{}", errors, errors == 1 ? "" : "s", warnings,
                                            warnings == 1 ? "" : "s"),
             t.nodes.size(), t.links.size(), scope);
  if (errors > 0) throw std::runtime_error(fmt::format("check: {} error{} in {}", errors, errors == 1 ? "" : "s", t.file));
}

// --- show ---------------------------------------------------------------------------------------

// Left-aligned columns, two spaces apart, under a header row.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t i = 0; i < r.size(); ++i) line += fmt::format(" {:<{}}", r[i], i + 1 == r.size() ? 0 : width[i] + 1);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

std::string addresses(const topo::Node& n) {
  std::string out;
  for (const auto& i : n.interfaces) {
    std::string a = i.prefix >= 0 ? fmt::format("{}/{}", i.address, i.prefix) : i.address;
    if (!i.name.empty()) a += fmt::format(" ({})", i.name);
    if (i.address == n.address && n.interfaces.size() > 1) a = "*" + a;
    out += (out.empty() ? "" : ", ") + a;
  }
  return out.empty() ? "-" : out;
}

std::string link_bandwidth(const topo::Link& l) {
  if (l.type.bandwidth == l.back_bandwidth) return core::format_bit_rate(l.type.bandwidth);
  return fmt::format("{} / {}", core::format_bit_rate(l.type.bandwidth), core::format_bit_rate(l.back_bandwidth));
}

std::string link_latency(const topo::Link& l) {
  if (l.type.latency == l.back_latency) return core::format_seconds(l.type.latency);
  return fmt::format("{} / {}", core::format_seconds(l.type.latency), core::format_seconds(l.back_latency));
}

void print_nodes(const topo::Topology& t) {
  auto ranks = t.rank_nodes();
  std::vector<std::vector<std::string>> rows{{"rank", "node", "device", "addresses", "forwards", "role", "ssh"}};
  for (size_t n = 0; n < t.nodes.size(); ++n) {
    const auto& node = t.nodes[n];
    auto r = std::find(ranks.begin(), ranks.end(), static_cast<int>(n));
    long first = r - ranks.begin();
    std::string rank = r == ranks.end() ? "-"
                       : node.ranks > 1 ? fmt::format("{}-{}", first, first + node.ranks - 1)
                                        : std::to_string(first);
    rows.push_back({rank, node.name,
                    node.is_switch ? "(switch)" : node.device ? node.device->preset : "-", addresses(node),
                    node.forwards ? "yes" : "no", node.role.empty() ? (node.is_switch ? "-" : "worker") : node.role,
                    node.ssh.empty() ? "-" : node.ssh});
  }
  fmt::print("nodes (* the address its worker listens on)\n");
  print_table(rows);
  bool any = false;
  for (const auto& node : t.nodes)
    for (const auto& r : node.routes) {
      if (!any) fmt::print("static routes\n");
      any = true;
      fmt::print("  {}: {} via {}\n", node.name, topo::subnet_str(r.to), topo::ipv4_str(r.via));
    }
}

void print_links(const topo::Topology& t) {
  std::vector<std::vector<std::string>> rows{
      {"#", "between", "ports", "type", "goodput", "latency", "overhead", "duplex", "mtu", "subnet"}};
  for (size_t i = 0; i < t.links.size(); ++i) {
    const auto& l = t.links[i];
    auto sub = t.ip_mode ? l.subnet(t) : std::nullopt;
    rows.push_back({std::to_string(i), fmt::format("{} - {}", t.nodes[l.a].name, t.nodes[l.b].name),
                    l.port_a.empty() ? "-" : fmt::format("{} - {}", l.port_a, l.port_b), l.type.preset,
                    link_bandwidth(l), link_latency(l), core::format_seconds(l.type.overhead),
                    l.type.full_duplex ? "full" : "half", l.type.mtu ? std::to_string(l.type.mtu) : "-",
                    l.type.transport == topo::Transport::Rdma ? "(rdma)" : sub ? topo::subnet_str(*sub) : "-"});
  }
  fmt::print("links (goodput: TCP payload, given or derived from the wire rate; goodput and latency a -> b / b -> a "
             "when they differ)\n");
  print_table(rows);
}

// Nodes that forward in software: the capacity every route through them shares and the latency
// each crossing adds (the simulator's fwd:<node> resource), from the file or the link presets.
void print_forwarders(const topo::Topology& t) {
  std::vector<std::vector<std::string>> rows{{"node", "forward bandwidth", "forward latency", "from"}};
  for (size_t n = 0; n < t.nodes.size(); ++n) {
    if (!topo::forwards_in_software(t, static_cast<int>(n))) continue;
    const auto& node = t.nodes[n];
    const topo::Forwarding f = t.forwarding_of(static_cast<int>(n));
    std::string from = node.forward_bandwidth && node.forward_latency ? "the file"
                       : node.forward_bandwidth || node.forward_latency ? "the file and its link presets"
                                                                        : "its link presets";
    rows.push_back({node.name, core::format_bit_rate(f.bandwidth), core::format_seconds(f.latency), from});
  }
  if (rows.size() == 1) return;
  fmt::print("forwarding nodes (their capacity is shared by every route through them, both directions together)\n");
  print_table(rows);
}

void print_routes(const topo::Topology& t) {
  topo::Routes routes(t);
  auto compute = t.compute_nodes();
  std::vector<std::vector<std::string>> rows{{"from", "to", "hops", "bottleneck", "latency", "path", "forwarded by"}};
  std::vector<std::string> problems;
  for (int a : compute)
    for (int b : compute) {
      if (a == b) continue;
      if (!routes.reachable(a, b)) {
        rows.push_back({t.nodes[a].name, t.nodes[b].name, "-", "-", "-", fmt::format("unreachable ({})", topo::name(routes.why(a, b).why))});
        problems.push_back(routes.why(a, b).diagnostic());
        continue;
      }
      const auto& r = routes.between(a, b);
      std::string via;
      for (int n : topo::transit_forwarders(t, r)) via += (via.empty() ? "" : ", ") + t.nodes[n].name;
      rows.push_back({t.nodes[a].name, t.nodes[b].name, std::to_string(r.hops.size()), core::format_bit_rate(r.bottleneck),
                      core::format_seconds(topo::route_latency(t, r)), topo::describe(t, r), via.empty() ? "-" : via});
    }
  fmt::print("routes ({}); latency = its links' latencies + the forward latency of each node it is forwarded by\n",
             t.ip_mode ? "IP: subnets and static routes" : "shortest paths through forwarding nodes");
  print_table(rows);
  for (const auto& p : problems) fmt::print("{}\n", p);
}

void show_table(const topo::Topology& t) {
  fmt::print("topology '{}' ({}): {} ranks, {} nodes, {} links\n", t.name, t.file, t.rank_nodes().size(),
             t.nodes.size(), t.links.size());
  for (const auto& n : t.networks)
    fmt::print("network {}: {}{}{}\n", n.name, topo::subnet_str(n.subnet), n.control ? " (control)" : "",
               n.note.empty() ? "" : " - " + n.note);
  if (!t.control_network.empty())
    fmt::print("control network: {}{} (kept out of the data path)\n", t.control_network,
               t.control_subnet ? " " + topo::subnet_str(*t.control_subnet) : "");
  print_nodes(t);
  print_links(t);
  print_forwarders(t);
  print_routes(t);
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out;
}

void show_dot(const topo::Topology& t) {
  fmt::print("graph \"{}\" {{\n  node [shape=box, style=rounded, fontname=Helvetica];\n  edge [fontname=Helvetica, fontsize=10];\n",
             dot_escape(t.name));
  for (const auto& n : t.nodes) {
    std::string label = n.name;
    if (n.device) label += "\\n" + n.device->preset;
    for (const auto& i : n.interfaces) label += "\\n" + i.address + (i.prefix >= 0 ? fmt::format("/{}", i.prefix) : "");
    std::string attrs = n.is_switch ? ", shape=ellipse" : n.forwards ? ", peripheries=2" : "";
    if (!n.runs_rank() && !n.is_switch) attrs += ", style=\"rounded,dashed\"";
    fmt::print("  \"{}\" [label=\"{}\"{}];\n", dot_escape(n.name), dot_escape(label), attrs);
  }
  for (const auto& l : t.links) {
    std::string style;
    if (l.type.transport == topo::Transport::Rdma) style = ", color=firebrick, penwidth=2";
    else if (l.type.port == topo::PortKind::Thunderbolt) style = ", color=purple";
    else if (l.type.port == topo::PortKind::Ethernet) style = ", color=steelblue";
    else if (l.type.port == topo::PortKind::Wifi) style = ", color=gray50, style=dashed";
    fmt::print("  \"{}\" -- \"{}\" [label=\"{}\\n{}\"{}];\n", dot_escape(t.nodes[l.a].name), dot_escape(t.nodes[l.b].name),
               l.type.preset, link_bandwidth(l), style);
  }
  fmt::print("}}\n");
}

// Mermaid (a flowchart GitHub renders inside ```mermaid blocks in READMEs and issues): node ids
// are n0, n1... so that any node name is safe; labels escape quotes as Mermaid's #quot;.
std::string mermaid_label(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' ? std::string("#quot;") : std::string(1, c);
  return out;
}

void show_mermaid(const topo::Topology& t) {
  fmt::print("%% {}\nflowchart LR\n", t.name);
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const auto& n = t.nodes[i];
    std::string label = n.name;
    if (n.device) label += "<br/>" + n.device->preset;
    if (!n.address.empty()) label += "<br/>" + n.address;
    const std::string text = mermaid_label(label);
    // A switch is round, a forwarding node a double box, a control machine (no rank) a stadium.
    const std::string shape = n.is_switch ? fmt::format("((\"{}\"))", text)
                              : n.forwards ? fmt::format("[[\"{}\"]]", text)
                              : !n.runs_rank() ? fmt::format("([\"{}\"])", text)
                                               : fmt::format("[\"{}\"]", text);
    fmt::print("  n{}{}\n", i, shape);
  }
  std::vector<std::string> styles;
  for (size_t i = 0; i < t.links.size(); ++i) {
    const auto& l = t.links[i];
    // RDMA thick, Wi-Fi dotted; colours as --dot draws them.
    const char* arrow = l.type.transport == topo::Transport::Rdma ? "===" : l.type.port == topo::PortKind::Wifi ? "-.-" : "---";
    fmt::print("  n{} {}|\"{} {}\"| n{}\n", l.a, arrow, mermaid_label(l.type.preset), link_bandwidth(l), l.b);
    const char* colour = l.type.transport == topo::Transport::Rdma          ? "firebrick"
                         : l.type.port == topo::PortKind::Thunderbolt ? "purple"
                         : l.type.port == topo::PortKind::Ethernet    ? "steelblue"
                                                                       : "gray";
    styles.push_back(fmt::format("  linkStyle {} stroke:{}", i, colour));
  }
  for (const auto& st : styles) fmt::print("{}\n", st);
}

struct ShowArgs {
  std::string topology;
  bool dot = false;
  bool mermaid = false;
};

void run_show(const ShowArgs& a) {
  topo::Topology t = topo::load_topology(a.topology, "TOPO");
  if (a.dot)
    show_dot(t);
  else if (a.mermaid)
    show_mermaid(t);
  else
    show_table(t);
}

// --- presets ------------------------------------------------------------------------------------

std::string ports_text(const topo::Ports& p) {
  std::string out;
  auto add = [&](int n, const char* what) {
    if (n > 0) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, what);
  };
  add(p.thunderbolt, "Thunderbolt");
  add(p.rdma, "RDMA-capable");
  add(p.ethernet, "Ethernet");
  add(p.wifi, "Wi-Fi");
  return out.empty() ? "none" : out;
}

void print_figures(const std::vector<std::pair<std::string, std::string>>& figures,
                   const std::map<std::string, std::string>& notes) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : figures) {
    auto it = notes.find(key);
    rows.push_back({key, value, it == notes.end() ? "" : it->second});
  }
  print_table(rows);
}

void print_device(const topo::Device& d) {
  fmt::print("{}: {}\n  source: {}\n", d.preset, d.description, d.source);
  auto tf = [](double v) { return v < 1e12 ? fmt::format("{:.4g} GFLOPS", v / 1e9) : fmt::format("{:.4g} TFLOPS", v / 1e12); };
  std::vector<std::pair<std::string, std::string>> f{{"peak_fp32", tf(d.peak_fp32)}, {"peak_fp16", tf(d.peak_fp16)}};
  if (d.peak_bf16 > 0) f.push_back({"peak_bf16", tf(d.peak_bf16)});
  if (d.peak_int8 > 0) f.push_back({"peak_int8", tf(d.peak_int8)});
  f.push_back({"compute_efficiency", fmt::format("{:.2f}", d.compute_efficiency)});
  f.push_back({"memory_bandwidth", core::format_rate(d.memory_bandwidth)});
  f.push_back({"memory_efficiency", fmt::format("{:.2f}", d.memory_efficiency)});
  f.push_back({"memory", core::format_bytes(d.memory)});
  if (d.power > 0) f.push_back({"power", fmt::format("{:.4g} W", d.power)});
  if (d.price > 0) f.push_back({"price", fmt::format("${:.0f}", d.price)});
  if (d.thunderbolt > 0) f.push_back({"thunderbolt", std::to_string(d.thunderbolt)});
  if (d.ports.known) f.push_back({"ports", ports_text(d.ports)});
  print_figures(f, d.notes);
}

void print_link_type(const topo::LinkType& l) {
  fmt::print("{}: {}\n  source: {}\n", l.preset, l.description, l.source);
  std::vector<std::pair<std::string, std::string>> f{
      {"goodput", fmt::format("{} of TCP payload ({})", core::format_bit_rate(l.bandwidth),
                              l.goodput_derived ? fmt::format("derived from the rate, mtu {}, {} framing",
                                                              l.mtu > 0 ? l.mtu : topo::kDefaultMtu, topo::name(l.framing))
                                                : "as given")}};
  if (l.rate > 0) f.push_back({"rate", fmt::format("{} on the wire ({} framing)", core::format_bit_rate(l.rate), topo::name(l.framing))});
  f.push_back({"latency", core::format_seconds(l.latency)});
  f.push_back({"duplex", l.full_duplex ? "full" : "half"});
  if (l.overhead > 0) f.push_back({"overhead", core::format_seconds(l.overhead)});
  if (l.notes.count("forward_bandwidth")) f.push_back({"forward_bandwidth", core::format_bit_rate(l.forward_bandwidth)});
  if (l.notes.count("forward_latency")) f.push_back({"forward_latency", core::format_seconds(l.forward_latency)});
  f.push_back({"transport", std::string(topo::name(l.transport))});
  f.push_back({"port", std::string(topo::name(l.port))});
  if (l.thunderbolt > 0) f.push_back({"thunderbolt", std::to_string(l.thunderbolt)});
  if (l.mtu > 0) f.push_back({"mtu", std::to_string(l.mtu)});
  print_figures(f, l.notes);
}

void run_presets(const std::string& only) {
  if (!only.empty()) {
    if (const auto* d = topo::find_device(only)) return print_device(*d);
    if (const auto* l = topo::find_link_type(only)) return print_link_type(*l);
    auto all = topo::device_names();
    for (const auto& n : topo::link_type_names()) all.push_back(n);
    throw core::InputError(core::format_diagnostic({"NAME", 0, 0}, {}, fmt::format("unknown preset '{}'", only),
                                                   core::suggest(only, all)));
  }
  fmt::print("# device presets\n");
  for (const auto& n : topo::device_names()) print_device(*topo::find_device(n));
  fmt::print("\n# link presets\n");
  for (const auto& n : topo::link_type_names()) print_link_type(*topo::find_link_type(n));
}

}  // namespace

void add_topology_commands(CLI::App& app) {
  auto ca = std::make_shared<CheckArgs>();
  auto* check = app.add_subcommand("check", "Lint a topology (and the rank pairs a workload uses) for wiring mistakes");
  check->add_option("TOPO", ca->topology, "Topology YAML")->required();
  check->add_option("WORKLOAD", ca->workload, "Workload YAML: check only the rank pairs it uses");
  check->callback([ca] { run_check(*ca); });

  auto* topology = app.add_subcommand("topology", "Inspect a topology and the built-in presets");
  topology->require_subcommand(1);
  auto sa = std::make_shared<ShowArgs>();
  auto* show = topology->add_subcommand("show", "Nodes, links and routes as tables (or Graphviz with --dot, Mermaid with --mermaid)");
  show->add_option("TOPO", sa->topology, "Topology YAML")->required();
  show->add_flag("--dot", sa->dot, "Print a Graphviz graph instead of tables");
  show->add_flag("--mermaid", sa->mermaid, "Print a Mermaid flowchart (for READMEs and issues on GitHub) instead of tables")
      ->excludes("--dot");
  show->callback([sa] { run_show(*sa); });
  auto preset = std::make_shared<std::string>();
  auto* presets = topology->add_subcommand("presets", "Every preset figure with its source");
  presets->add_option("NAME", *preset, "Only this preset");
  presets->callback([preset] { run_presets(*preset); });
}

}  // namespace clustertwin::cli
