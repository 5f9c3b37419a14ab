#include "topologies/iperf3.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "core/file.h"

namespace clustertwin::topo {

namespace {
using nlohmann::json;

const char* const kHint = "import the client's output: iperf3 -c SERVER --json > FILE (TCP; -R, --bidir and -P are fine)";

[[noreturn]] void fail(const Iperf3Source& s, const std::string& path, const std::string& message,
                       const std::string& hint = kHint) {
  std::string where = path.empty() ? message : fmt::format("at JSON path {}: {}", path, message);
  throw core::InputError(core::format_diagnostic({s.file, 0, 0}, "", where, hint));
}

// The member `key` of the object at `path`, which must be there.
const json& member(const Iperf3Source& s, const json& obj, const std::string& path, const char* key) {
  if (!obj.is_object()) fail(s, path, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) fail(s, path + "/" + key, "missing");
  return *it;
}

double number(const Iperf3Source& s, const json& obj, const std::string& path, const char* key) {
  const json& v = member(s, obj, path, key);
  if (!v.is_number()) fail(s, path + "/" + key, fmt::format("expected a number, got {}", v.dump()));
  return v.get<double>();
}

std::string utc(long long secs) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A line:col for a syntax error at byte `at` of `text`.
core::SourcePos position(const std::string& file, const std::string& text, size_t at) {
  core::SourcePos p{file, 1, 1};
  for (size_t i = 0; i < std::min(at, text.size()); ++i) {
    if (text[i] == '\n') ++p.line, p.col = 1;
    else ++p.col;
  }
  return p;
}

std::string line_of(const std::string& text, int line) {
  std::istringstream in(text);
  std::string s;
  for (int i = 0; i < line && std::getline(in, s);) ++i;
  return s;
}

json parse(const std::string& text, const Iperf3Source& s) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 and points one past the offending character.
    auto pos = position(s.file, text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    auto colon = what.rfind(": ");
    throw core::InputError(core::format_diagnostic(
        pos, line_of(text, pos.line),
        fmt::format("not JSON ({})", colon == std::string::npos ? what : what.substr(colon + 2)),
        "iperf3 writes JSON only with --json (-J); its text report cannot be imported"));
  }
}

// The bytes/s one `end` sum received.
double received(const Iperf3Source& s, const json& end, const char* key) {
  const std::string path = std::string("/end/") + key;
  const json& sum = member(s, end, "/end", key);
  double bps = number(s, sum, path, "bits_per_second");
  if (!std::isfinite(bps) || bps <= 0)
    fail(s, path + "/bits_per_second", fmt::format("expected a rate above 0, got {}", bps),
         "the test moved no data: check that it ran (its 'intervals'), then run it again");
  return bps / 8;
}

std::string median_text(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return fmt::format("{:.4g}..{:.4g} MB/s ({} files)", v.front() / 1e6, v.back() / 1e6, v.size());
}

std::vector<std::string> names_of(const Topology& t) {
  std::vector<std::string> n;
  for (const auto& node : t.nodes) n.push_back(node.name);
  return n;
}

void check_pair(const Topology& t, const Iperf3Source& s) {
  for (const std::string* n : {&s.client, &s.server})
    if (t.find(*n) < 0)
      throw core::InputError(core::format_diagnostic(
          {s.arg, 0, 0}, "", fmt::format("'{}' is not a node of topology '{}'", *n, t.name),
          fmt::format("{} (write CLIENT:SERVER=FILE with the topology's node names)", core::suggest(*n, names_of(t)))));
  int a = t.find(s.client), b = t.find(s.server);
  for (const auto& l : t.links)
    if ((l.a == a && l.b == b) || (l.a == b && l.b == a)) return;
  throw core::InputError(core::format_diagnostic(
      {s.arg, 0, 0}, "", fmt::format("topology '{}' has no link between '{}' and '{}'", t.name, s.client, s.server),
      "the overlay calibrates cables: import iperf3 runs between nodes a link joins directly (a run across a switch "
      "or a forwarding node measures the whole path)"));
}
}  // namespace

Iperf3Source parse_iperf3_arg(const std::string& arg) {
  auto eq = arg.find('=');
  auto colon = arg.find(':');
  Iperf3Source s;
  s.arg = arg;
  if (eq != std::string::npos && colon < eq) {
    s.client = arg.substr(0, colon);
    s.server = arg.substr(colon + 1, eq - colon - 1);
    s.file = arg.substr(eq + 1);
  }
  if (s.client.empty() || s.server.empty() || s.file.empty())
    throw core::InputError(core::format_diagnostic(
        {arg, 0, 0}, "", "expected CLIENT:SERVER=FILE",
        "name the node iperf3 -c ran on, the node it connected to, and the client's --json output: mini1:mini2=a.json"));
  if (s.client == s.server)
    throw core::InputError(core::format_diagnostic({arg, 0, 0}, "", fmt::format("client and server are both '{}'", s.client),
                                                   "iperf3 measures between two nodes"));
  return s;
}

Iperf3Result read_iperf3(const std::string& text, const Iperf3Source& s) {
  json j = parse(text, s);
  if (!j.is_object()) fail(s, "", "expected a JSON object (iperf3 --json output)");
  if (auto e = j.find("error"); e != j.end())
    fail(s, "/error", fmt::format("iperf3 reported an error: {}", e->is_string() ? e->get<std::string>() : e->dump()),
         "the test did not run: fix what iperf3 says (is `iperf3 -s` running on the server?) and run it again");
  const json& start = member(s, j, "", "start");
  if (start.is_object() && !start.contains("connecting_to") && start.contains("accepted_connection"))
    fail(s, "/start", "this is the server's output (start.accepted_connection, no start.connecting_to)",
         "import the client's output (iperf3 -c SERVER --json): its end.sum_received is what the receiver counted");
  Iperf3Result r;
  r.source = s;
  if (auto v = start.find("version"); v != start.end() && v->is_string()) r.version = v->get<std::string>();
  r.measured = utc(static_cast<long long>(number(s, member(s, start, "/start", "timestamp"), "/start/timestamp", "timesecs")));
  const json& test = member(s, start, "/start", "test_start");
  const json& protocol = member(s, test, "/start/test_start", "protocol");
  if (protocol != "TCP")
    fail(s, "/start/test_start/protocol", fmt::format("expected \"TCP\", got {}", protocol.dump()),
         "a UDP test measures at the rate you asked for (-b), not the goodput TCP reaches: run it without -u");
  r.streams = static_cast<int>(number(s, test, "/start/test_start", "num_streams"));
  r.reverse = number(s, test, "/start/test_start", "reverse") != 0;
  const json& end = member(s, j, "", "end");
  // iperf 3.12 does not write test_start.bidir; the reverse sums are its only mark of --bidir.
  r.bidir = (test.contains("bidir") && test["bidir"].is_number() && test["bidir"].get<double>() != 0) ||
            (end.is_object() && end.contains("sum_received_bidir_reverse"));
  double main_dir = received(s, end, "sum_received");
  if (r.bidir) {
    r.flows.push_back({s.client, s.server, main_dir, "/end/sum_received"});
    r.flows.push_back({s.server, s.client, received(s, end, "sum_received_bidir_reverse"), "/end/sum_received_bidir_reverse"});
  } else if (r.reverse) {
    r.flows.push_back({s.server, s.client, main_dir, "/end/sum_received"});
  } else {
    r.flows.push_back({s.client, s.server, main_dir, "/end/sum_received"});
  }
  return r;
}

Iperf3Result load_iperf3(const Iperf3Source& s) {
  return read_iperf3(core::read_input_file(s.file, s.arg, core::kMaxRunFileBytes), s);
}

void import_iperf3(Calibration& c, const Topology& t, const std::vector<Iperf3Result>& results) {
  struct Direction {
    std::vector<double> goodputs;
    std::string measured;  // the latest
    std::vector<std::string> how;
  };
  std::map<std::pair<std::string, std::string>, Direction> dirs;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& r : results) {
    check_pair(t, r.source);
    for (const auto& f : r.flows) {
      auto key = std::make_pair(f.from, f.to);
      if (!dirs.count(key)) order.push_back(key);
      Direction& d = dirs[key];
      d.goodputs.push_back(f.goodput);
      d.measured = std::max(d.measured, r.measured);
      std::string mode = r.bidir ? " --bidir" : r.reverse ? " -R" : "";
      if (r.streams > 1) mode += fmt::format(" -P {}", r.streams);
      d.how.push_back(fmt::format("{} -c {}{} on {} --json ({}: {})", r.version.empty() ? "iperf3" : r.version,
                                  r.source.server, mode, r.source.client, r.source.file, f.json_path));
    }
  }
  std::string latest;
  for (const auto& key : order) {
    Direction& d = dirs[key];
    latest = std::max(latest, d.measured);
    std::vector<double> v = d.goodputs;
    std::sort(v.begin(), v.end());
    double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    std::string how = fmt::format("goodput: {}", fmt::join(d.how, "; "));
    auto it = std::find_if(c.links.begin(), c.links.end(),
                           [&](const LinkCalibration& l) { return l.from == key.first && l.to == key.second; });
    if (it == c.links.end()) {
      LinkCalibration l;
      l.from = key.first;
      l.to = key.second;
      it = c.links.insert(c.links.end(), l);
    } else if (it->latency || it->overhead) {
      how += fmt::format("; latency: {} ({})", it->when.how, it->when.measured);
    }
    it->goodput = median;
    it->when = {d.measured, how};
    it->spread = v.size() > 1 ? "iperf3 " + median_text(v) : "";
  }
  if (c.topology.empty()) c.topology = t.name;
  if (c.when.measured.empty()) c.when = {latest, "clustertwin calibration import-iperf3"};
}

}  // namespace clustertwin::topo
