// Importing iperf3 --json results (client side) into the calibration overlay: each file gives the
// TCP goodput of one direction between two nodes (two with --bidir), as the receiving end counted
// it (end.sum_received). Field names follow iperf 3.12's output (Debian 12), which 3.16-3.18 keep.
// The command is `clustertwin calibration import-iperf3` (cli/calibration_commands.cc).
#pragma once

#include <string>
#include <vector>

#include "topologies/calibration.h"
#include "topologies/topology.h"

namespace clustertwin::topo {

// One file as given on the command line: CLIENT:SERVER=FILE, the node `iperf3 -c` ran on, the node
// it connected to (where `iperf3 -s` ran) and the client's --json output.
struct Iperf3Source {
  std::string client, server, file;
  std::string arg;  // as written, for errors
};

// One direction a file measured.
struct Iperf3Flow {
  std::string from, to;
  double goodput = 0;     // bytes/s of TCP payload, summed over the test's parallel streams
  std::string json_path;  // where it was read: /end/sum_received or /end/sum_received_bidir_reverse
};

struct Iperf3Result {
  Iperf3Source source;
  std::string version;   // "iperf 3.12" (start.version)
  std::string measured;  // UTC ISO 8601, from start.timestamp.timesecs
  int streams = 1;       // -P
  bool reverse = false;  // -R: the server sent
  bool bidir = false;    // --bidir: both at once
  std::vector<Iperf3Flow> flows;
};

// "mini1:mini2=a.json" -> {mini1, mini2, a.json}. Throws core::InputError naming the argument.
Iperf3Source parse_iperf3_arg(const std::string& arg);

// Reads one client's --json output. Throws core::InputError naming the file, the JSON path (or
// line:col of a syntax error), what was expected and a hint.
Iperf3Result read_iperf3(const std::string& json_text, const Iperf3Source& source);
Iperf3Result load_iperf3(const Iperf3Source& source);

// Puts the goodputs into `c` (an existing overlay, or an empty one): one link entry per direction,
// the median when several files measured it. An entry `c` already has keeps its latency and
// overhead and takes the new goodput; its `how` then says which figure came from where. Throws
// core::InputError naming the argument when a node is not in `t` or the two are not cabled.
void import_iperf3(Calibration& c, const Topology& t, const std::vector<Iperf3Result>& results);

}  // namespace clustertwin::topo
