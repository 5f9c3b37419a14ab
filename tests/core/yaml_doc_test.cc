#include "core/yaml_doc.h"

#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "temp_dir.h"

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

TEST(YamlDoc, FiguresOutsideTheirPhysicalRangeGiveTheRange) {
  auto doc = YamlDoc::parse("a: 1e-300Gbps\nb: 1e308Gbps\nc: 1e30s\nd: 1e999Gbps\ne: 0Gbps\nf: 0s\ng: 2.5GB/s\n", "t.yaml");
  auto bw = [&](const char* key) { return doc.quantity(doc.root()[key], Quantity::Bandwidth, "bandwidth"); };
  EXPECT_EQ(error_of([&] { bw("a"); }),
            "t.yaml:1:4: error: expected bandwidth between 1Kbps and 1PB/s, got '1e-300Gbps'\n"
            "  a: 1e-300Gbps\n"
            "     ^\n"
            "hint: a figure outside this range is a typo: check the exponent and the unit (Gbps = gigabits, GB/s = gigabytes)");
  // Too large to be a rate at all (1e308 x 1e9 / 8 is no longer a finite number): still the range.
  EXPECT_NE(error_of([&] { bw("b"); }).find("error: expected bandwidth between 1Kbps and 1PB/s, got '1e308Gbps'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { bw("d"); }).find("error: expected bandwidth between 1Kbps and 1PB/s, got '1e999Gbps'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { bw("e"); }).find("error: expected bandwidth between 1Kbps and 1PB/s, got '0Gbps'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { doc.quantity(doc.root()["c"], Quantity::Time, "latency"); })
                .find("t.yaml:3:4: error: expected latency between 0s and 60min, got '1e30s'"),
            std::string::npos);
  EXPECT_EQ(doc.quantity(doc.root()["f"], Quantity::Time, "latency"), 0.0);
  EXPECT_EQ(bw("g"), 2.5e9);
}

TEST(YamlDoc, ACallerNarrowsTheRange) {
  auto doc = YamlDoc::parse("memory: 0GB\n", "t.yaml");
  EXPECT_EQ(error_of([&] { doc.quantity(doc.root()["memory"], Quantity::Bytes, "memory", {1e6, 1e15, "1MB", "1000TB"}); }),
            "t.yaml:1:9: error: expected memory between 1MB and 1000TB, got '0GB'\n"
            "  memory: 0GB\n"
            "          ^\n"
            "hint: a figure outside this range is a typo: check the exponent and the unit (Gbps = gigabits, GB/s = gigabytes)");
}

TEST(YamlDoc, ADuplicateKeyNamesBothLines) {
  EXPECT_EQ(error_of([] { YamlDoc::parse("name: x\nlinks:\n  - {type: tb4, latency: 1us}\nname: y\n", "t.yaml"); }),
            "t.yaml:4:1: error: duplicate key 'name': it is also at line 1\n"
            "  name: y\n"
            "  ^\n"
            "hint: give every key once in a mapping; delete one of the two");
  // Nested, and in a flow mapping.
  EXPECT_EQ(error_of([] { YamlDoc::parse("links:\n  - {type: tb4, type: tb5}\n", "t.yaml"); }),
            "t.yaml:2:17: error: duplicate key 'type': it is also at line 2\n"
            "    - {type: tb4, type: tb5}\n"
            "                  ^\n"
            "hint: give every key once in a mapping; delete one of the two");
  // The same key in two mappings is no duplicate.
  EXPECT_NO_THROW(YamlDoc::parse("a: {x: 1}\nb: {x: 2}\n", "t.yaml"));
}

TEST(YamlDoc, InvalidUtf8IsRefusedWhereItStands) {
  EXPECT_EQ(error_of([] { YamlDoc::parse("name: x\nnodes:\n  - name: mini\xff\xfe\n", "t.yaml"); }),
            "t.yaml:3:15: error: the file holds invalid UTF-8 (byte 0xff)\n"
            "    - name: mini\\xff\\xfe\n"
            "                ^\n"
            "hint: save the file as UTF-8 text, and write names in printable characters");
}

TEST(YamlDoc, ControlAndBidiCharactersAreRefusedAndNeverEchoedRaw) {
  // Raw in the file: NUL, an escape sequence, a right-to-left override.
  const std::string nul = error_of([] { YamlDoc::parse(std::string("name: a\0b\n", 11), "t.yaml"); });
  EXPECT_EQ(nul, "t.yaml:1:8: error: the file holds a control character (U+0000)\n"
                 "  name: a\\x00b\n"
                 "         ^\n"
                 "hint: save the file as UTF-8 text, and write names in printable characters");
  const std::string esc = error_of([] { YamlDoc::parse("name: \x1b[2J\n", "t.yaml"); });
  EXPECT_NE(esc.find("t.yaml:1:7: error: the file holds a control character (U+001B)"), std::string::npos);
  EXPECT_EQ(esc.find('\x1b'), std::string::npos);
  const std::string bidi = error_of([] { YamlDoc::parse("name: mini\xe2\x80\xae" "1\n", "t.yaml"); });
  EXPECT_NE(bidi.find("t.yaml:1:11: error: the file holds a bidirectional-text control (U+202E)"), std::string::npos);
  EXPECT_NE(bidi.find("name: mini\\u202e1"), std::string::npos);
  // Written as escapes in a quoted value, they reach the value only after parsing: refused there.
  EXPECT_EQ(error_of([] { YamlDoc::parse("name: \"mini\\u202e1\"\n", "t.yaml"); }),
            "t.yaml:1:7: error: this value holds a bidirectional-text control (U+202E)\n"
            "  name: \"mini\\u202e1\"\n"
            "        ^\n"
            "hint: write names and values in printable characters");
  EXPECT_NE(error_of([] { YamlDoc::parse("nodes: [\"a\\0b\"]\n", "t.yaml"); }).find("this value holds a control character (U+0000)"),
            std::string::npos);
}

TEST(YamlDoc, DeepNestingGivesOneShortError) {
  const std::clock_t start = std::clock();  // CPU time: the suite shares the machine
  const std::string message = error_of([] { YamlDoc::parse("a: " + std::string(100000, '[') + "\n", "deep.yaml"); });
  EXPECT_LT(static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC, 2.0);
  EXPECT_EQ(message.substr(0, message.find(' ')), "deep.yaml:1:1:") << message.substr(0, 300);
  EXPECT_NE(message.find("error: invalid YAML: nested too deeply\n  a: [[[[[[[["), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u);
}

TEST(YamlDoc, ALongLineIsShownAroundTheCaret) {
  const std::string line = "name: " + std::string(5000, 'x') + ": " + std::string(5000, 'y');
  const std::string message = error_of([&] { YamlDoc::parse(line + "\n", "t.yaml"); });
  EXPECT_EQ(message, "t.yaml:1:5007: error: invalid YAML: illegal map value\n"
                     "  ..." + std::string(100, 'x') + ": " + std::string(98, 'y') + "...\n"
                     "     " + std::string(100, ' ') + "^\n"
                     "hint: check indentation, colons and quotes on this line");
}

class YamlDocFile : public test::TempDirTest {};

TEST_F(YamlDocFile, ADirectoryIsNamedAsOne) {
  EXPECT_EQ(error_of([&] { YamlDoc::load(dir_.string(), "-t/--topology"); }),
            dir_.string() + ": error: this is a directory, expected a file\n"
                            "hint: check the path given to -t/--topology: name a file in it");
}

TEST_F(YamlDocFile, AnEndlessFileIsRefusedAtTheCap) {
  const std::clock_t start = std::clock();  // CPU time: the suite shares the machine
  EXPECT_EQ(error_of([] { YamlDoc::load("/dev/zero", "-t/--topology"); }),
            "/dev/zero: error: the file is larger than 16 MiB, the most clustertwin reads of such a file\n"
            "hint: check the path given to -t/--topology: is this the file you meant?");
  EXPECT_LT(static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC, 2.0);
}

}  // namespace
}  // namespace clustertwin::core
