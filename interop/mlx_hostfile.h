// MLX hostfiles, the JSON `mlx.launch --hostfile` reads and `mlx.distributed_config` writes, in and
// out of a topology. Format followed: MLX's python/mlx/_distributed_utils (2025, the JACCL release):
// either a list of hosts or an object {"backend", "envs", "hosts"}; a host is
// {"ssh": alias, "ips": [addresses], "rdma": [one entry per host: null, "rdma_en3" or a list of names]}.
// The ring form over Thunderbolt lists, for host i, its addresses on the cables to host i-1 (one
// /30 per cable, as distributed_config assigns them); the Ethernet form one address per host.
// The commands are `clustertwin import|export mlx-hostfile` (cli/interop_commands.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/diag.h"
#include "topologies/topology.h"

namespace clustertwin::interop {

struct MlxHost {
  std::string ssh;
  std::vector<std::string> ips;
  // rdma[j]: the device names of this host's cables to host j (empty: no cable, or the host
  // itself). Empty when the host has no "rdma" key (the ring forms).
  std::vector<std::vector<std::string>> rdma;
  core::SourcePos pos, rdma_pos;
};

struct MlxHostfile {
  std::string file;
  std::string backend;  // "" when not stated (the list form), "ring", "jaccl", "jaccl-ring"
  std::vector<std::string> envs;
  std::vector<MlxHost> hosts;
  bool rdma() const;  // any host names an RDMA device: the JACCL forms
};

// Reads a hostfile's text. Throws core::InputError naming file:line:col, what was expected and a hint.
MlxHostfile read_mlx_hostfile(const std::string& json_text, const std::string& file);
MlxHostfile load_mlx_hostfile(const std::string& path);

// What the hostfile cannot say: the device of each host, and what its IP links are.
struct MlxImportOptions {
  std::string name;                            // topology name
  std::string device;                          // device preset of every host not in `devices`
  std::map<std::string, std::string> devices;  // ssh alias -> device preset
  enum class Over { Guess, Thunderbolt, Ethernet } over = Over::Guess;  // the ring forms' cables
  std::string ethernet = "eth-1g";             // link type of each host's cable to the switch
};

// The topology as YAML, with comments saying what was read and what was inferred; `check` lints
// it (a JACCL host pair without a cable is T003). Throws core::InputError for a host without a
// device (naming the flag to give it), an unknown preset, or an RDMA matrix that contradicts itself.
std::string mlx_topology_yaml(const MlxHostfile& h, const MlxImportOptions& o);

enum class MlxBackend { Ring, Jaccl };

struct MlxExport {
  std::string json;                   // the hostfile
  std::vector<std::string> warnings;  // what was guessed (unnamed ports)
};

// The hostfile mlx.launch needs to run on `t`'s rank nodes in rank order. Throws core::InputError
// for a topology the backend cannot run, with the lint's reason: JACCL needs an RDMA cable
// between every pair (T002, T003; a tb4 or TCP link is not one), the ring an address per host
// and a path between ring neighbours.
MlxExport mlx_hostfile_json(const topo::Topology& t, MlxBackend backend);

}  // namespace clustertwin::interop
