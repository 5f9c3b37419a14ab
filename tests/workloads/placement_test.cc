// The workload's `placement:`: parsed with the workload, resolved against the topology when it is
// compiled (work::placed), recorded in the Program, shown by `explain`.
#include "workloads/placement.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "topologies/placement.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::work {
namespace {

const char* kHybrid = CLUSTERTWIN_SOURCE_DIR "/topologies/examples/smolcluster-hybrid.yaml";

// GPT-2 data-parallel on the hybrid; `placement` is line 7 of w.yaml.
std::string ddp_with(const std::string& placement) {
  return "name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 128}\nparallel: {strategy: ddp}\n"
         "memory: {check: false}\n" +
         placement + "\n";
}

std::string error_of(const std::string& yaml) {
  try {
    Workload w = parse_workload(yaml, "w.yaml");
    compile(w, topo::load_topology(kHybrid));
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

core::Program compiled(const std::string& placement) {
  return compile(parse_workload(ddp_with(placement), "w.yaml"), topo::load_topology(kHybrid));
}

TEST(Placement, ListedNodesRunTheRanksInThatOrder) {
  const core::Program listed = compiled("placement: [pi5, mini1, mini2, mini3, pi4]");
  EXPECT_EQ(listed.placement, (std::vector<std::string>{"pi5", "mini1", "mini2", "mini3", "pi4"}));
  // The compiler itself used the order: rank 0 has the Pi 5's memory, which file order gives rank 4.
  const core::Program file = compiled("");
  ASSERT_EQ(listed.memory.size(), 5u);
  ASSERT_EQ(file.memory.size(), 5u);
  EXPECT_DOUBLE_EQ(listed.memory[0].capacity, file.memory[4].capacity);
  EXPECT_DOUBLE_EQ(listed.memory[1].capacity, file.memory[0].capacity);
  EXPECT_NE(listed.memory[0].capacity, listed.memory[1].capacity);
}

TEST(Placement, AutoKeepsThePisApart) {
  const core::Program p = compiled("placement: auto");
  EXPECT_EQ(p.placement, (std::vector<std::string>{"mini1", "mini3", "pi4", "mini2", "pi5"}));
}

// The default changes nothing: no placement in the Program, the same hash as before the key existed.
TEST(Placement, FileOrderIsTheDefaultAndLeavesTheProgramAlone) {
  const core::Program none = compiled("");
  const core::Program file = compiled("placement: file-order");
  EXPECT_TRUE(none.placement.empty());
  EXPECT_TRUE(file.placement.empty());
  EXPECT_EQ(core::program_hash(none), core::program_hash(file));
  EXPECT_NE(core::program_hash(none), core::program_hash(compiled("placement: auto")));
  EXPECT_FALSE(core::to_json(none).contains("placement"));
}

TEST(Placement, TheProgramCarriesItThroughJson) {
  const core::Program p = compiled("placement: auto");
  EXPECT_EQ(core::program_from_json(core::to_json(p)).placement, p.placement);
}

// pi4 and pi5 are both one letter from pi3; pi5 is the one the list leaves out.
TEST(Placement, AnUnknownNodeIsNamedWithTheClosestLeftOutOne) {
  EXPECT_EQ(error_of(ddp_with("placement: [mini1, mini2, mini3, pi4, pi3]")),
            "w.yaml:7:39: error: topology 'smolcluster-hybrid' has no node 'pi3'\n"
            "  placement: [mini1, mini2, mini3, pi4, pi3]\n"
            "                                        ^\n"
            "hint: did you mean 'pi5'?");
  EXPECT_EQ(error_of(ddp_with("placement: [mini1, mini2, mini3, pi4, pi5, pi6]")),
            "w.yaml:7:44: error: topology 'smolcluster-hybrid' has no node 'pi6'\n"
            "  placement: [mini1, mini2, mini3, pi4, pi5, pi6]\n"
            "                                             ^\n"
            "hint: did you mean 'pi4'?");
}

TEST(Placement, ANodeListedTwiceIsRefusedWhereItRepeats) {
  EXPECT_EQ(error_of(ddp_with("placement: [mini1, pi4, mini1]")),
            "w.yaml:7:25: error: node 'mini1' is placed twice: it already runs rank 0 (line 7)\n"
            "  placement: [mini1, pi4, mini1]\n"
            "                          ^\n"
            "hint: list each node once; a node runs several ranks with 'ranks: N' in the topology");
}

TEST(Placement, EveryNodeThatRunsARankMustBeListed) {
  EXPECT_EQ(error_of(ddp_with("placement: [mini1, mini2, mini3, pi4]")),
            "w.yaml:7:12: error: placement lists 4 of the 5 nodes that run ranks in topology 'smolcluster-hybrid'\n"
            "  placement: [mini1, mini2, mini3, pi4]\n"
            "             ^\n"
            "hint: add 'pi5' (every node that runs a rank appears once)");
}

TEST(Placement, ANodeThatRunsNoRankCannotHoldOne) {
  EXPECT_EQ(error_of(ddp_with("placement: [mini1, mini2, mini3, pi4, macbook]")),
            "w.yaml:7:39: error: node 'macbook' of topology 'smolcluster-hybrid' runs no rank (it is a control machine)\n"
            "  placement: [mini1, mini2, mini3, pi4, macbook]\n"
            "                                        ^\n"
            "hint: remove it; the nodes that run ranks are 'mini1', 'mini2', 'mini3', 'pi4', 'pi5'");
}

TEST(Placement, MisspeltKindsAndWrongShapes) {
  EXPECT_EQ(error_of(ddp_with("placement: atuo")),
            "w.yaml:7:12: error: unknown placement 'atuo'\n  placement: atuo\n             ^\nhint: did you mean 'auto'?");
  EXPECT_EQ(error_of(ddp_with("placement: {order: auto}")),
            "w.yaml:7:12: error: placement must be 'auto', 'file-order' or a list of node names in rank order\n"
            "  placement: {order: auto}\n             ^\nhint: write placement: auto, or placement: [mini1, mini2, ...]");
  EXPECT_EQ(error_of(ddp_with("placement: []")),
            "w.yaml:7:12: error: placement lists no node\n  placement: []\n             ^\n"
            "hint: list the nodes that run ranks in rank order, or write placement: auto");
}

TEST(Placement, ExplainShowsEachRanksNodeAndTheRingBeforeAndAfter) {
  const Workload w = parse_workload(ddp_with("placement: auto"), "w.yaml");
  topo::Topology t = topo::load_topology(kHybrid);
  topo::place(t, compile(w, t).placement);
  EXPECT_EQ(explain_placement(w, t),
            "Placement (placement: auto, the ring of ranks along the routes)\n"
            "  rank 0   -> mini1\n"
            "  rank 1   -> mini3\n"
            "  rank 2   -> pi4\n"
            "  rank 3   -> mini2\n"
            "  rank 4   -> pi5\n"
            "  ring of ranks 0 -> 1 -> ... -> 0: 8 links crossed in all, at most 2 between neighbours (mini1 -> mini3)\n"
            "  in file order: 8 links crossed in all, at most 4 between neighbours (pi4 -> pi5)\n\n");
}

}  // namespace
}  // namespace clustertwin::work
