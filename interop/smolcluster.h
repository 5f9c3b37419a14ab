// smolcluster's configs (github.com/YuvrajSingh-mist/smolcluster, src/smolcluster/configs as of
// early 2026: cluster_config_<algorithm>.yaml and gpt_config.yaml) as a topology and a workload.
// The command is `clustertwin import smolcluster CONFIG_DIR` (cli/interop_commands.cc); the mapping
// is in interop/README.md.
#pragma once

#include <map>
#include <string>

namespace clustertwin::interop {

struct SmolclusterImport {
  std::string dir;        // the configs folder
  std::string algorithm;  // classicdp, fsdp, edp, syncps, mp_pipeline...; "" = the folder's only cluster_config_*.yaml
  std::string name;       // topology and workload name; "" = smolcluster-<algorithm>
  std::string device;     // device preset of every host not in `devices` and not named like one
  std::map<std::string, std::string> devices;  // host -> device preset
  int steps = 5;
};

struct SmolclusterFiles {
  std::string algorithm;
  std::string topology_yaml, workload_yaml;  // with comments saying what was read and inferred
};

// Throws core::InputError naming the file, line and column (or the flag), what was expected and a hint.
SmolclusterFiles import_smolcluster(const SmolclusterImport& o);

}  // namespace clustertwin::interop
