// A bounded random-mutation fuzz of the topology loader: mutants of every example and fixture are
// loaded, routed and checked. Every outcome must be a topology or a core::InputError with a
// file:line:col position; any other exception (or a crash) fails the test with the mutant's text.
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "topologies/check.h"
#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::topo {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const char* dir : {CLUSTERTWIN_SOURCE_DIR "/topologies/examples", CLUSTERTWIN_SOURCE_DIR "/tests/topologies/fixtures"}) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());  // a fixed order: the run is reproducible from its seed
    for (const auto& f : files) {
      std::ifstream in(f);
      std::stringstream s;
      s << in.rdbuf();
      out.push_back(s.str());
    }
  }
  return out;
}

// Tokens that steer mutants into the loader's corners: keys, presets, odd values.
const std::vector<std::string> kTokens = {
    "forwards", "routes", "interfaces", "between", "via", "to", "type", "device", "address", "network", "networks",
    "control", "ports", "kind: switch", "role: control", "bandwidth", "goodput", "rate", "framing", "tbf", "latency", "overhead", "mtu", "subnet",
    "tb5-rdma", "tb4", "wifi-6", "eth-1g", "mac-mini-m4", "raspberry-pi-5", "10.10.0.0/24", "10.10.0.1",
    "192.168.51.2", "0.0.0.0/0", "255.255.255.255/33", "default", "999999999Gbps", "0Gbps", "-1us", "nanGbps",
    "infTFLOPS", "1e308TFLOPS", "[]", "{}", "[a, b]", "{x: y}", "~", "null", "true", "no", "''", "\"\"", "&a", "*a",
    "!!map", "? [a]\n: b", ":", "-", "- ", "#", "\t", "{between: [mini1, mini1], type: tb4}", "[16Gbps, 0Gbps]",
    "[1us]", "{thunderbolt: 99}", "{rdma: 9, thunderbolt: 1}", "3", "7", "-3"};

std::string mutate(std::string text, const std::vector<std::string>& all, std::mt19937& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t(0) : std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int edits = 1 + static_cast<int>(pick(4));
  for (int e = 0; e < edits; ++e) {
    size_t at = pick(text.size() + 1);
    switch (pick(7)) {
      case 0:  // delete a run of characters
        text.erase(at, pick(12) + 1);
        break;
      case 1:  // insert a structural character
        text.insert(at, 1, ":-[]{},# \n'\"/.0123456789abz"[pick(29)]);
        break;
      case 2:  // insert a token
        text.insert(at, kTokens[pick(kTokens.size())]);
        break;
      case 3: {  // replace a word with a token
        size_t end = text.find_first_of(" ,:[]{}\n", at);
        text.replace(at, end == std::string::npos ? 0 : end - at, kTokens[pick(kTokens.size())]);
        break;
      }
      case 4: {  // duplicate a line
        size_t start = text.rfind('\n', at == 0 ? 0 : at - 1);
        start = start == std::string::npos ? 0 : start + 1;
        size_t end = text.find('\n', at);
        if (end != std::string::npos) text.insert(start, text.substr(start, end - start + 1));
        break;
      }
      case 5: {  // splice a line from another file
        const std::string& other = all[pick(all.size())];
        size_t from = other.find('\n', pick(other.size() + 1));
        size_t to = from == std::string::npos ? std::string::npos : other.find('\n', from + 1);
        if (to != std::string::npos) text.insert(at, other.substr(from + 1, to - from));
        break;
      }
      default:  // change the indentation of a line
        text.insert(at, std::string(pick(4) + 1, ' '));
        break;
    }
  }
  return text;
}

// Loads, routes and checks one mutant; "" when all went as the contract says, else what broke.
std::string exercise(const std::string& text) {
  try {
    Topology t = parse_topology(text, "mutant.yaml");
    Routes routes(t);
    for (int a : t.compute_nodes())
      for (int b : t.compute_nodes())
        if (a != b && !routes.reachable(a, b)) (void)routes.why(a, b).diagnostic();
    for (const auto& f : check(t)) (void)format_finding(t, f);
  } catch (const core::InputError& e) {
    static const std::regex located(R"(^mutant\.yaml(:\d+:\d+)?: error: )");
    if (!std::regex_search(e.what(), located)) return std::string("an input error without its position: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("unexpected exception: ") + e.what();
  }
  return "";
}

TEST(Fuzz, MutantsLoadOrFailWithAPositionedInputError) {
  const auto all = corpus();
  ASSERT_GT(all.size(), 10u);
  std::mt19937 rng(20261122);
  const int kMutants = 6000;
  int loaded = 0;
  for (int i = 0; i < kMutants; ++i) {
    std::string text = mutate(all[i % all.size()], all, rng);
    std::string broke = exercise(text);
    ASSERT_EQ(broke, "") << "mutant " << i << ":\n" << text;
    try {
      parse_topology(text, "mutant.yaml");
      ++loaded;
    } catch (const core::InputError&) {
    }
  }
  // The mutants must reach past the parser: some load, and most do not.
  EXPECT_GT(loaded, kMutants / 20);
  EXPECT_LT(loaded, kMutants * 9 / 10);
}

}  // namespace
}  // namespace clustertwin::topo
