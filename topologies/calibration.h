// The calibration overlay: figures measured on the real cluster (by `clustertwin probe`) that
// replace the presets' figures of a loaded topology — per link direction goodput, latency and
// per-message overhead, per forwarding node its transit bandwidth and latency, per device its
// sustained FLOP/s and memory bandwidth — each with when (UTC) and how it was measured.
// The format is documented in topologies/README.md ("Calibration overlay").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/diag.h"
#include "topologies/topology.h"

namespace clustertwin::topo {

// When and how one figure (or a whole file) was measured.
struct Provenance {
  std::string measured;  // UTC, ISO 8601: 2026-12-03T14:05:00Z
  std::string how;       // "clustertwin probe --local 3: ping-pong 8 B..64 MiB, 5 rounds, least squares"
};

// One direction of the link(s) between two nodes (every parallel cable between them).
struct LinkCalibration {
  std::string from, to;
  double goodput = 0;   // bytes/s of payload one flow moves (the simulator's link bandwidth)
  std::optional<double> latency;  // seconds, one way, besides the endpoints' overheads; unset: not measured (iperf3)
  std::optional<double> overhead;  // seconds per message at each endpoint (the link's, both directions)
  Provenance when;
  std::string spread;  // free text: the measurements' min..max and count (probe writes it; not applied)
  core::SourcePos pos;
};

struct ForwarderCalibration {
  std::string node;
  std::optional<double> bandwidth;  // bytes/s of transit capacity; unset: not measured as a limit
  double latency = 0;               // seconds a message spends crossing the node
  Provenance when;
  std::string spread;
  core::SourcePos pos;
};

struct DeviceCalibration {
  std::string node;
  std::optional<double> flops;             // sustained fp32 FLOP/s
  std::optional<double> memory_bandwidth;  // sustained bytes/s
  Provenance when;
  std::string spread;
  core::SourcePos pos;
};

struct Calibration {
  std::string file;      // where it was read from ("" when built in memory)
  std::string topology;  // name of the topology it was measured on
  Provenance when;       // of the whole probe
  std::vector<LinkCalibration> links;
  std::vector<ForwarderCalibration> forwarders;
  std::vector<DeviceCalibration> devices;
  std::vector<std::string> source_lines;  // the file's text, for errors that quote a line
};

// Reads and validates a calibration file. Throws core::InputError naming file:line:col, what was
// expected and a hint.
Calibration load_calibration(const std::string& path, const std::string& origin = "--calibration");
Calibration parse_calibration(const std::string& yaml_text, const std::string& file_name);

// The YAML `probe` writes (load_calibration reads it back). `comments` go at the top as '#' lines.
std::string calibration_yaml(const Calibration& c, const std::vector<std::string>& comments = {});

// Puts the measured figures into `t`: a link direction's bandwidth and latency (and the link's
// overhead), a forwarding node's forward_bandwidth/latency, a device's efficiencies so its
// sustained FLOP/s and memory bandwidth are the measured ones. Sets t.calibrated. Throws
// core::InputError at the entry for a node or a link the topology does not have.
void apply_calibration(Topology& t, const Calibration& c);

// "calibrated with cal.yaml (measured 2026-12-03T14:05:00Z)" or "uncalibrated (preset figures)".
std::string calibration_text(const Topology& t);

}  // namespace clustertwin::topo
