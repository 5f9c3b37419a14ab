#include "topologies/calibration.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace clustertwin::topo {
namespace {

const std::string kStar = CLUSTERTWIN_SOURCE_DIR "/topologies/examples/tb4-star-3minis.yaml";
const std::string kOverlay = CLUSTERTWIN_SOURCE_DIR "/tests/e2e/corpus/tb4-star-3minis.calibration.yaml";

std::string error_of(const std::string& yaml) {
  try {
    parse_calibration(yaml, "cal.yaml");
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* const kHead = "calibration: 1\nmeasured: 2026-12-03T14:05:00Z\n";

TEST(Calibration, ReadsTheOverlay) {
  Calibration c = load_calibration(kOverlay);
  EXPECT_EQ(c.topology, "tb4-star-3minis");
  EXPECT_EQ(c.when.measured, "2026-12-03T14:05:00Z");
  ASSERT_EQ(c.links.size(), 2u);
  EXPECT_DOUBLE_EQ(c.links[0].goodput, 2.5e9);
  EXPECT_DOUBLE_EQ(*c.links[0].latency, 40e-6);
  EXPECT_DOUBLE_EQ(*c.links[0].overhead, 8e-6);
  EXPECT_EQ(c.links[0].when.measured, "2026-12-03T14:05:00Z");  // the file's, inherited
  ASSERT_EQ(c.forwarders.size(), 1u);
  EXPECT_EQ(c.forwarders[0].when.measured, "2026-12-03T14:06:10Z");  // its own
  EXPECT_DOUBLE_EQ(*c.forwarders[0].bandwidth, 1.5e9);
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_DOUBLE_EQ(*c.devices[0].flops, 1.2e12);
}

TEST(Calibration, ApplyChangesOnlyTheMeasuredFigures) {
  Topology t = load_topology(kStar);
  const double mini3_link_bw = t.links[1].type.bandwidth;  // mini1 - mini3: not in the overlay
  apply_calibration(t, load_calibration(kOverlay));
  // links[0] is "between: [mini1, mini2]": up is mini1 -> mini2.
  EXPECT_DOUBLE_EQ(t.links[0].type.bandwidth, 2.5e9);
  EXPECT_DOUBLE_EQ(t.links[0].back_bandwidth, 2.4e9);
  EXPECT_DOUBLE_EQ(t.links[0].type.latency, 40e-6);
  EXPECT_DOUBLE_EQ(t.links[0].back_latency, 40e-6);
  EXPECT_DOUBLE_EQ(t.links[0].type.overhead, 8e-6);
  EXPECT_DOUBLE_EQ(t.links[1].type.bandwidth, mini3_link_bw);
  EXPECT_DOUBLE_EQ(t.forwarding_of(0).bandwidth, 1.5e9);
  EXPECT_DOUBLE_EQ(t.forwarding_of(0).latency, 25e-6);
  // mac-mini-m4: 4.6 TFLOPS fp32 peak, 120 GB/s: the measured sustained figures replace the
  // preset's 0.75 and 0.85 fractions; fp16 keeps its ratio to fp32 (1 on this GPU).
  const Device& d = *t.nodes[1].device;
  EXPECT_NEAR(d.sustained_flops(core::DType::F32), 1.2e12, 1);
  EXPECT_NEAR(d.sustained_flops(core::DType::F16), 1.2e12, 1);
  EXPECT_NEAR(d.sustained_bandwidth(), 100e9, 1);
  EXPECT_NEAR(t.nodes[2].device->sustained_flops(core::DType::F32), 4.6e12 * 0.75, 1);  // mini3 untouched
  ASSERT_TRUE(t.calibrated);
  EXPECT_EQ(calibration_text(t), "calibrated with " + kOverlay + " (measured 2026-12-03T14:05:00Z)");
}

TEST(Calibration, UncalibratedSaysSo) {
  EXPECT_EQ(calibration_text(load_topology(kStar)), "uncalibrated (preset figures)");
}

TEST(Calibration, WrittenFileReadsBack) {
  Calibration c;
  c.topology = "t";
  c.when = {"2026-12-03T14:05:00Z", "by hand \"quoted\""};
  c.links.push_back({"a", "b", 1.25e9, 12.5e-6, 3e-6, c.when, "one flow 1.2 GB/s..1.3 GB/s (3 runs)", {}});
  c.forwarders.push_back({"hub", std::nullopt, 2e-3, {"2026-12-03T14:06:00Z", "other"}, "", {}});
  c.devices.push_back({"a", 73.5e9, 21.45e9, c.when, "sgemm 70..75 GFLOP/s", {}});
  Calibration back = parse_calibration(calibration_yaml(c, {"a comment"}), "cal.yaml");
  EXPECT_EQ(back.when.how, "by hand \"quoted\"");
  ASSERT_EQ(back.links.size(), 1u);
  EXPECT_NEAR(back.links[0].goodput, 1.25e9, 1.25e9 * 1e-4);
  EXPECT_NEAR(*back.links[0].latency, 12.5e-6, 1e-10);
  EXPECT_NEAR(*back.links[0].overhead, 3e-6, 1e-10);
  ASSERT_EQ(back.forwarders.size(), 1u);
  EXPECT_FALSE(back.forwarders[0].bandwidth);
  EXPECT_NEAR(back.forwarders[0].latency, 2e-3, 1e-9);
  EXPECT_EQ(back.forwarders[0].when.measured, "2026-12-03T14:06:00Z");
  EXPECT_EQ(back.forwarders[0].when.how, "other");
  EXPECT_NEAR(*back.devices[0].flops, 73.5e9, 73.5e9 * 1e-4);
  EXPECT_EQ(back.links[0].spread, "one flow 1.2 GB/s..1.3 GB/s (3 runs)");
  EXPECT_EQ(back.devices[0].spread, "sgemm 70..75 GFLOP/s");
  EXPECT_NEAR(*back.devices[0].memory_bandwidth, 21.45e9, 21.45e9 * 1e-4);
}

TEST(Calibration, MalformedFilesNamePlaceAndHint) {
  EXPECT_EQ(error_of(std::string(kHead) + "links:\n  - {from: a, to: b, goodput: 10Gbit, latency: 5us}\n"),
            "cal.yaml:4:31: error: expected 'goodput' to be a bandwidth with its unit, like 40Gbps or 2.5GB/s, got "
            "'10Gbit'\n    - {from: a, to: b, goodput: 10Gbit, latency: 5us}\n                                ^\n"
            "hint: write the number and its unit together; units are case-sensitive (Gbps = gigabits, GB/s = gigabytes)");
  EXPECT_NE(error_of("calibration: 1\nmeasured: yesterday\n").find("cal.yaml:2:11: error: expected a UTC time like "
                                                                   "2026-12-03T14:05:00Z, got 'yesterday'"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kHead) + "links:\n  - {from: a, to: b, goodput: 0MB/s, latency: 5us}\n")
                .find("cal.yaml:4:31: error: expected 'goodput' between 1Kbps and 1PB/s, got '0MB/s'"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kHead) + "link:\n  - {}\n").find("cal.yaml:3:1: error:"), std::string::npos);
  EXPECT_NE(error_of(std::string(kHead) + "link:\n  - {}\n").find("did you mean 'links'?"), std::string::npos);
  EXPECT_NE(error_of("name: a topology\nnodes: []\n").find("cal.yaml:1:1: error:"), std::string::npos);
  EXPECT_NE(error_of(std::string(kHead) + "devices:\n  - {node: a}\n").find("needs 'flops' or 'memory_bandwidth'"),
            std::string::npos);
}

TEST(Calibration, UnknownNodeOrLinkNamesTheEntry) {
  Topology t = load_topology(kStar);
  auto apply_error = [&](const std::string& body) {
    try {
      Topology copy = t;
      apply_calibration(copy, parse_calibration(std::string(kHead) + body, "cal.yaml"));
    } catch (const core::InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(apply_error("links:\n  - {from: mini1, to: mini4, goodput: 1GB/s, latency: 5us}\n"),
            "cal.yaml:4:5: error: 'to' 'mini4' is not a node of topology 'tb4-star-3minis'\n"
            "    - {from: mini1, to: mini4, goodput: 1GB/s, latency: 5us}\n      ^\n"
            "hint: did you mean 'mini1'? (was the calibration measured on another topology?)");
  EXPECT_NE(apply_error("links:\n  - {from: mini2, to: mini3, goodput: 1GB/s, latency: 5us}\n")
                .find("cal.yaml:4:5: error: topology 'tb4-star-3minis' has no link between 'mini2' and 'mini3'"),
            std::string::npos);
  EXPECT_NE(apply_error("forwarders:\n  - {node: mini2, latency: 5us}\n").find("node 'mini2' does not forward"),
            std::string::npos);
}

class CalibrationKey : public test::TempDirTest {};

TEST_F(CalibrationKey, IsRelativeToTheTopologyFile) {
  std::filesystem::create_directories(dir_ / "cal");
  std::filesystem::copy_file(kOverlay, dir_ / "cal" / "star.yaml");
  std::ifstream in(kStar);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir_ / "star.yaml") << text << "calibration: cal/star.yaml\n";
  Topology t = load_topology((dir_ / "star.yaml").string());
  EXPECT_DOUBLE_EQ(t.links[0].type.bandwidth, 2.5e9);
  ASSERT_TRUE(t.calibrated);
  EXPECT_EQ(t.calibrated->measured, "2026-12-03T14:05:00Z");

  std::ofstream(dir_ / "bad.yaml") << text << "calibration: nowhere.yaml\n";
  try {
    load_topology((dir_ / "bad.yaml").string());
    FAIL() << "a missing overlay loaded";
  } catch (const core::InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("bad.yaml:"), std::string::npos) << what;
    EXPECT_NE(what.find(":14: error: calibration file '"), std::string::npos) << what;
    EXPECT_NE(what.find("hint: the path is relative to the topology file"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace clustertwin::topo
