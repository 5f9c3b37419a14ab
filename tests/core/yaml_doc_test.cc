#include "core/yaml_doc.h"

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(YamlDoc, UnknownKeyNamesPositionAndSuggests) {
  auto doc = YamlDoc::parse("name: x\nbandwith: 10Gbps\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.check_keys(doc.root(), {"name", "bandwidth"}, "a link"); }),
            "t.yaml:2:1: error: unknown key 'bandwith' in a link\n"
            "  bandwith: 10Gbps\n"
            "  ^\n"
            "hint: did you mean 'bandwidth'?");
}

TEST(YamlDoc, WrongUnitSaysWhatWasExpected) {
  auto doc = YamlDoc::parse("link:\n  bandwidth: fast\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.quantity(doc.root()["link"]["bandwidth"], Quantity::Bandwidth, "bandwidth"); }),
            "t.yaml:2:14: error: expected bandwidth to be a bandwidth with its unit, like 40Gbps or 2.5GB/s, got 'fast'\n"
            "    bandwidth: fast\n"
            "               ^\n"
            "hint: write the number and its unit together; units are case-sensitive (Gbps = gigabits, GB/s = gigabytes)");
}

TEST(YamlDoc, MissingFileNamesTheFlag) {
  EXPECT_EQ(error_of([] { YamlDoc::load("/nonexistent/t.yaml", "-t/--topology"); }),
            "/nonexistent/t.yaml: error: cannot open file: No such file or directory\n"
            "hint: check the path given to -t/--topology");
}

TEST(YamlDoc, SyntaxErrorPointsAtTheLine) {
  EXPECT_EQ(error_of([] { YamlDoc::parse("name: x\nbandwidth: 10Gbps: 20Gbps\n", "t.yaml"); }),
            "t.yaml:2:18: error: invalid YAML: illegal map value\n"
            "  bandwidth: 10Gbps: 20Gbps\n"
            "                   ^\n"
            "hint: check indentation, colons and quotes on this line");
}

TEST(YamlDoc, ATopLevelThatIsNotAMappingIsNamed) {
  EXPECT_EQ(error_of([] { YamlDoc::parse("- a\n- b\n", "t.yaml"); }),
            "t.yaml:1:1: error: expected a YAML mapping (key: value lines) at the top level\n"
            "  - a\n"
            "  ^\n"
            "hint: the file is 'key: value' lines, starting with 'name: ...'; see the examples");
}

TEST(YamlDoc, MissingKeyPointsAtTheMapAndSaysWhatToAdd) {
  auto doc = YamlDoc::parse("links:\n  - {type: tb4}\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.required(doc.root()["links"][0], "between", "a link"); }),
            "t.yaml:2:5: error: a link is missing the key 'between'\n"
            "    - {type: tb4}\n"
            "      ^\n"
            "hint: add 'between: ...'");
}

TEST(YamlDoc, MissingKeyNamesASiblingSpeltLikeIt) {
  auto doc = YamlDoc::parse("links:\n  - {betwen: [a, b], type: tb4}\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.required(doc.root()["links"][0], "between", "a link"); }),
            "t.yaml:2:6: error: a link is missing the key 'between'\n"
            "    - {betwen: [a, b], type: tb4}\n"
            "       ^\n"
            "hint: did you mean 'between' instead of 'betwen'?");
  // A sibling two edits from a short key is another key ('note' next to a missing 'name').
  auto net = YamlDoc::parse("networks:\n  - {note: x}\n", "t.yaml");
  EXPECT_EQ(error_of([&] { net.required(net.root()["networks"][0], "name", "a network"); }),
            "t.yaml:2:5: error: a network is missing the key 'name'\n"
            "    - {note: x}\n"
            "      ^\n"
            "hint: add 'name: ...'");
}

TEST(YamlDoc, ListExpectedWhereAMappingIs) {
  auto doc = YamlDoc::parse("nodes:\n  name: a\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.require_seq(doc.root()["nodes"], "'nodes'"); }),
            "t.yaml:2:3: error: expected 'nodes' to be a list (lines starting with '- ')\n"
            "    name: a\n"
            "    ^\n"
            "hint: write one item per line starting with '- ', or [a, b, ...]");
}

TEST(YamlDoc, WholeNumberOutOfRangeGivesTheRange) {
  auto doc = YamlDoc::parse("ranks: 300\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.integer(doc.root()["ranks"], "ranks", 1, 256); }),
            "t.yaml:1:8: error: expected ranks between 1 and 256, got 300\n"
            "  ranks: 300\n"
            "         ^\n"
            "hint: use a value from 1 to 256");
}

TEST(YamlDoc, BooleanAcceptsOnlyTrueOrFalse) {
  auto doc = YamlDoc::parse("forwards: maybe\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.boolean(doc.root()["forwards"], "forwards"); }),
            "t.yaml:1:11: error: expected forwards to be true or false, got 'maybe'\n"
            "  forwards: maybe\n"
            "            ^\n"
            "hint: write true or false");
}

TEST(YamlDoc, ChoiceListsOptionsWhenNothingIsClose) {
  auto doc = YamlDoc::parse("duplex: sideways\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.choice(doc.root()["duplex"], {"full", "half"}, "duplex"); }),
            "t.yaml:1:9: error: unknown duplex 'sideways'\n"
            "  duplex: sideways\n"
            "          ^\n"
            "hint: expected one of: 'full', 'half'");
}

}  // namespace
}  // namespace clustertwin::core
