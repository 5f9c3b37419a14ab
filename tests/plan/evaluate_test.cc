// plan/evaluate.cc and plan/rank.cc: rejections with their reasons, rankings against figures derived
// from the presets (not from a run), the cache, the fixed global batch, and the CSV and JSON forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "plan/candidates.h"
#include "temp_dir.h"
#include "workloads/workload.h"
#include "plan/evaluate.h"
#include "plan/rank.h"
#include "topologies/topology.h"

namespace {

namespace plan = clustertwin::plan;
const std::string kSrc = CLUSTERTWIN_SOURCE_DIR;

struct Swept {
  plan::Spec spec;
  std::vector<plan::Candidate> candidates;
  std::vector<plan::Outcome> outcomes;
  plan::EvalStats stats;
};

Swept sweep(const std::string& topology, const std::string& workload, const std::string& rest) {
  Swept s;
  s.spec = plan::parse_spec(fmt::format("topology: {}/topologies/examples/{}\nworkload: {}/workloads/examples/{}\n{}", kSrc,
                                        topology, kSrc, workload, rest),
                            "p.yaml");
  s.candidates = plan::expand(s.spec, plan::load_base(s.spec));
  s.outcomes = plan::evaluate(s.spec, s.candidates, {}, &s.stats);
  return s;
}

// Llama-3.2-1B under DDP on 16 GB minis: AdamW's fp32 moments and master weights alone are 12 bytes
// per parameter, more than the 2/3 of 16 GB macOS lets the GPU wire; FSDP over 3 ranks fits.
TEST(PlanEvaluate, DdpOfLlama1bIsRejectedForMemoryAndFsdpWins) {
  auto s = sweep("tb4-star-3minis.yaml", "fsdp-llama-3.2-1b.yaml", "axes:\n  strategy: [ddp, fsdp]\n");
  ASSERT_EQ(s.outcomes[0].status, plan::Status::Rejected);
  EXPECT_EQ(s.outcomes[0].refused_by, "memory");
  const double params = 1'235'814'400;  // Llama 3.2 1B's published parameter count
  const std::string optimizer = fmt::format("optimizer {:.2f} GB", 12 * params / 1e9);
  const std::string usable = fmt::format("of {:.2f} GB usable", 16e9 * 2 / 3 / 1e9);
  EXPECT_NE(s.outcomes[0].reason.find("rank 0 on mini1 (mac-mini-m4) needs"), std::string::npos) << s.outcomes[0].reason;
  EXPECT_NE(s.outcomes[0].reason.find(usable), std::string::npos) << s.outcomes[0].reason;
  EXPECT_NE(s.outcomes[0].reason.find(optimizer), std::string::npos) << s.outcomes[0].reason;
  ASSERT_EQ(s.outcomes[1].status, plan::Status::Ok);
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (std::vector<int>{1, 0}));
  EXPECT_NE(plan::why_loses(s.outcomes[0], s.outcomes[1]).find("memory: rank 0"), std::string::npos);
}

TEST(PlanEvaluate, HeadroomRejectsWhatBarelyFits) {
  auto s = sweep("tb4-star-3minis.yaml", "fsdp-llama-3.2-1b.yaml", "headroom: 50%\n");
  ASSERT_EQ(s.outcomes.size(), 1u);
  EXPECT_EQ(s.outcomes[0].status, plan::Status::Rejected);
  EXPECT_NE(s.outcomes[0].reason.find("after 50 % headroom"), std::string::npos) << s.outcomes[0].reason;
}

// Two minis on a switch, one bucket of GPT-2's whole gradient: the step differs only by the ring
// all-reduce of S bytes between two ranks, S / bandwidth each way (2 (n-1)/n S sent per rank).
TEST(PlanEvaluate, FasterLinkRanksFirstByTheClosedForm) {
  auto s = sweep("two-minis-1gbe.yaml", "ddp-gpt2.yaml", "axes:\n  link: [eth-1g, eth-10g, eth-2.5g]\n");
  for (const auto& o : s.outcomes) ASSERT_EQ(o.status, plan::Status::Ok) << o.reason;
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (std::vector<int>{1, 2, 0}));
  const double grad = 124439808.0 * 4;
  const double bw1 = clustertwin::topo::find_link_type("eth-1g")->bandwidth;
  const double bw10 = clustertwin::topo::find_link_type("eth-10g")->bandwidth;
  const double expected = grad / bw1 - grad / bw10;
  const double got = s.outcomes[0].summary.step_mean - s.outcomes[1].summary.step_mean;
  EXPECT_NEAR(got, expected, 0.03 * expected);
  EXPECT_NE(plan::why_loses(s.outcomes[0], s.outcomes[1]).find("exposed communication"), std::string::npos);
}

// A Wi-Fi link in the collective is never chosen while a wired one is offered: the best is wired,
// and every Wi-Fi candidate ranks below its wired twin (same micro-batch).
TEST(PlanEvaluate, WifiNeverWinsOverAWiredLink) {
  auto s = sweep("two-minis-1gbe.yaml", "ddp-gpt2.yaml", "axes:\n  micro_batch: [1, 8]\n  link: [wifi-6, eth-1g]\n");
  const auto order = plan::ranking(s.spec, s.outcomes);
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(s.candidates[order[0]].labels[1], "eth-1g");
  auto place = [&](int id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
  EXPECT_GT(place(0), place(1));  // mb=1: wifi-6 after eth-1g
  EXPECT_GT(place(2), place(3));  // mb=8
  EXPECT_NE(plan::why_loses(s.outcomes[0], s.outcomes[order[0]]).find("T004 wifi-collective"), std::string::npos);
}

// Tensor-parallel decode of Llama 3.1 70B on 4 Mac Studios: every token waits on 2 all-reduces
// per layer, so RDMA's 0.6 us per-message cost beats TCP's 45 us on the same mesh of cables.
TEST(PlanEvaluate, TensorDecodePrefersTheRdmaMesh) {
  auto s = sweep("mesh-4-studios-tb5-tcp.yaml", "infer-tensor-llama-3.1-70b.yaml",
                 "axes:\n  link: [tb5, tb5-rdma]\n  generate: [4]\n");
  for (const auto& o : s.outcomes) ASSERT_EQ(o.status, plan::Status::Ok) << o.reason;
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (std::vector<int>{1, 0}));
  EXPECT_NE(plan::why_loses(s.outcomes[0], s.outcomes[1]).find("exposed communication"), std::string::npos);
}

// Energy per token at the presets' wall power: 2 minis M4 at 42 W each, 2 M4 Pro minis at 140 W
// each; the ranking follows watts over tokens/s, whichever is faster. A device whose power no
// source gives (the MacBook Pro M4 Max) ranks last under J/token, however fast it is.
TEST(PlanEvaluate, JoulesPerTokenFromThePresetsPower) {
  auto s = sweep("two-minis-1gbe.yaml", "ddp-gpt2.yaml",
                 "objective: J/token\naxes:\n  device: [mac-mini-m4-pro, mac-mini-m4]\n");
  for (const auto& o : s.outcomes) ASSERT_EQ(o.status, plan::Status::Ok) << o.reason;
  const double watts = 2 * clustertwin::topo::find_device("mac-mini-m4")->power;
  EXPECT_DOUBLE_EQ(watts, 84);
  EXPECT_DOUBLE_EQ(s.outcomes[1].power, watts);
  EXPECT_DOUBLE_EQ(s.outcomes[0].power, 280);
  EXPECT_DOUBLE_EQ(plan::joules_per_token(s.outcomes[1]), watts / s.outcomes[1].summary.tokens_per_second);
  const double pro = 280 / plan::tokens_per_second(s.outcomes[0]), m4 = 84 / plan::tokens_per_second(s.outcomes[1]);
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (pro < m4 ? std::vector<int>{0, 1} : std::vector<int>{1, 0}));

  auto u = sweep("pair-studios-tb5-tcp.yaml", "ddp-gpt2.yaml",
                 "objective: J/token\naxes:\n  device: [macbook-pro-m4-max, mac-studio-m4-max]\n");
  for (const auto& o : u.outcomes) ASSERT_EQ(o.status, plan::Status::Ok) << o.reason;
  EXPECT_EQ(u.outcomes[0].power, 0);
  EXPECT_EQ(plan::ranking(u.spec, u.outcomes), (std::vector<int>{1, 0}));
  EXPECT_EQ(plan::objective_text(u.spec, u.outcomes[0]), "power unknown");
}

// Tokens/s per dollar at the presets' list prices: 2 minis M4 are $1198, 2 M4 Pro minis $2798;
// the ranking follows tokens/s divided by those sums, whichever is faster.
TEST(PlanEvaluate, TokensPerDollarFromThePresetsPrices) {
  auto s = sweep("two-minis-1gbe.yaml", "ddp-gpt2.yaml", "objective: tokens/s/$\naxes:\n  device: [mac-mini-m4-pro, mac-mini-m4]\n");
  for (const auto& o : s.outcomes) ASSERT_EQ(o.status, plan::Status::Ok) << o.reason;
  EXPECT_DOUBLE_EQ(s.outcomes[0].price, 2 * 1399.0);
  EXPECT_DOUBLE_EQ(s.outcomes[1].price, 2 * 599.0);
  const double pro = plan::tokens_per_second(s.outcomes[0]) / 2798, m4 = plan::tokens_per_second(s.outcomes[1]) / 1198;
  EXPECT_DOUBLE_EQ(plan::tokens_per_dollar(s.outcomes[0]), pro);
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (pro > m4 ? std::vector<int>{0, 1} : std::vector<int>{1, 0}));
}

// Times rank lower first: time to train N tokens is N / tokens/s.
TEST(PlanEvaluate, TimeToTrainRanksTheFastestFirst) {
  auto s = sweep("two-minis-1gbe.yaml", "ddp-gpt2.yaml",
                 "objective: time-to-train\ntrain_tokens: 1e9\naxes:\n  link: [eth-1g, eth-10g]\n");
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (std::vector<int>{1, 0}));
  EXPECT_DOUBLE_EQ(plan::objective_value(s.spec, s.outcomes[1]), 1e9 / s.outcomes[1].summary.tokens_per_second);
}

// Issue 16's (c): the MacBook on Wi-Fi in a DDP all-reduce. The wired option (the two minis on
// their Thunderbolt cable, the MacBook left out) wins, though it has a third fewer devices.
TEST(PlanEvaluate, AWifiWorkerIsNotChosenWhenAWiredOptionExists) {
  auto s = sweep("laptop-wifi-worker.yaml", "ddp-gpt2.yaml", "axes:\n  remove_nodes: [none, macbook]\n");
  for (const auto& o : s.outcomes) ASSERT_EQ(o.status, plan::Status::Ok) << o.reason;
  EXPECT_EQ(s.outcomes[0].world, 3);
  EXPECT_EQ(s.outcomes[1].world, 2);
  EXPECT_EQ(plan::ranking(s.spec, s.outcomes), (std::vector<int>{1, 0}));
  const std::string why = plan::why_loses(s.outcomes[0], s.outcomes[1]);
  EXPECT_NE(why.find("exposed communication"), std::string::npos) << why;
  EXPECT_NE(why.find("T004 wifi-collective"), std::string::npos) << why;
}

TEST(PlanEvaluate, RemovingANodeTheBaseLacksNamesTheClosest) {
  const auto spec = plan::parse_spec(fmt::format("topology: {0}/topologies/examples/laptop-wifi-worker.yaml\n"
                                                 "workload: {0}/workloads/examples/ddp-gpt2.yaml\n"
                                                 "axes:\n  remove_nodes: [macbok]\n",
                                                 kSrc),
                                     "p.yaml");
  try {
    plan::expand(spec, plan::load_base(spec));
    FAIL() << "no error";
  } catch (const clustertwin::core::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              fmt::format("p.yaml:4:18: error: remove_nodes: node 'macbok' is not in the base topology "
                          "'{}/topologies/examples/laptop-wifi-worker.yaml'\nhint: did you mean 'macbook'?",
                          kSrc));
  }
}

// Different YAML, same Program and topology (usable memory is metadata, outside the Program hash):
// one simulation serves both.
TEST(PlanEvaluate, TheCacheSimulatesAProgramOnce) {
  auto s = sweep("two-minis-1gbe.yaml", "ddp-gpt2.yaml", "axes:\n  memory.usable_fraction: [0.6, 0.7]\n");
  ASSERT_EQ(s.outcomes.size(), 2u);
  EXPECT_EQ(s.stats.simulations, 1);
  EXPECT_EQ(s.stats.cache_hits, 1);
  EXPECT_EQ(s.outcomes[0].program_hash, s.outcomes[1].program_hash);
  EXPECT_DOUBLE_EQ(s.outcomes[0].summary.step_mean, s.outcomes[1].summary.step_mean);
}

// Global batch 12 on 3 DDP ranks: micro-batch 1 accumulates 4, 2 accumulates 2, 4 none, 8 cannot.
TEST(PlanEvaluate, FixedGlobalBatchSetsTheAccumulation) {
  auto s = sweep("tb4-star-3minis.yaml", "ddp-gpt2.yaml", "global_batch: 12\naxes:\n  micro_batch: [1, 2, 4, 8]\n");
  ASSERT_EQ(s.outcomes.size(), 4u);
  EXPECT_NE(s.outcomes[0].workload_yaml.find("micro_batches: 4"), std::string::npos) << s.outcomes[0].workload_yaml;
  EXPECT_NE(s.outcomes[1].workload_yaml.find("micro_batches: 2"), std::string::npos);
  EXPECT_EQ(s.outcomes[2].workload_yaml.find("micro_batches"), std::string::npos);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(s.outcomes[i].status, plan::Status::Ok) << s.outcomes[i].reason;
    EXPECT_DOUBLE_EQ(s.outcomes[i].tokens_per_step, 12 * 1024);
    EXPECT_EQ(s.outcomes[i].micro_batches, 4 >> i);
  }
  EXPECT_EQ(s.outcomes[3].refused_by, "batch");
  EXPECT_EQ(s.outcomes[3].reason, "global batch 12 is not a multiple of micro_batch 8 x 3 replicas");
}

TEST(PlanEvaluate, CsvAndJsonHaveARowPerCandidate) {
  auto s = sweep("tb4-star-3minis.yaml", "fsdp-llama-3.2-1b.yaml", "axes:\n  strategy: [ddp, fsdp]\n  bucket: [all]\n");
  const std::string csv = plan::csv(s.spec, s.candidates, s.outcomes);
  std::istringstream in(csv);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "id,rank,status,strategy,bucket,tokens_per_s,step_s,time_to_train_s,memory_peak,power_w,joules_per_token,"
            "price_usd,tokens_per_s_per_usd,"
            "compute_s,exposed_communication_s,waiting_s,bubble_s,idle_s,world,micro_batches,cached,refused_by,reason");
  EXPECT_EQ(lines[1].rfind("0,,rejected,ddp,bucket=all,", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("1,1,ok,fsdp,bucket=all,", 0), 0u) << lines[2];
  const auto j = plan::to_json(s.spec, s.candidates, s.outcomes);
  EXPECT_EQ(j.at("best"), 1);
  EXPECT_EQ(j.at("candidates").size(), 2u);
  EXPECT_EQ(j.at("candidates")[0].at("refused_by"), "memory");
  EXPECT_GT(j.at("candidates")[1].at("tokens_per_second").get<double>(), 0);
  EXPECT_EQ(j.at("axes")[0].at("values")[1], "fsdp");
}

// The winner's files load with the ordinary loaders, and compile to the Program that was ranked
// (the planner simulated 2 of its steps; the file keeps the workload's).
TEST(PlanEvaluate, TheWrittenWinnerLoads) {
  test::TempDir dir;
  auto s = sweep("tb4-star-3minis.yaml", "fsdp-llama-3.2-1b.yaml", "axes:\n  add_nodes: [0, 1]\n  strategy: [ddp, fsdp]\n");
  const int best = plan::write_outputs(dir.out("plan"), s.spec, s.candidates, s.outcomes);
  ASSERT_EQ(best, 3);  // +1 node, fsdp
  const auto t = clustertwin::topo::load_topology(dir.out("plan/best/topology.yaml"));
  const auto w = clustertwin::work::load_workload(dir.out("plan/best/workload.yaml"));
  EXPECT_EQ(t.compute_nodes().size(), 4u);
  EXPECT_EQ(w.parallel.strategy(), clustertwin::work::Strategy::Zero);
  EXPECT_EQ(w.steps, 3);
  auto ranked = w;
  ranked.steps = 2;
  ranked.memory.check = false;
  EXPECT_EQ(clustertwin::core::program_hash(clustertwin::work::compile(ranked, t)), s.outcomes[best].program_hash);
}

}  // namespace
