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
  std::string e = error_of([] { YamlDoc::parse("name: x\nnodes: [a, b\n", "t.yaml"); });
  EXPECT_EQ(e.rfind("t.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("error: invalid YAML"), std::string::npos) << e;
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
