// `clustertwin validate` on the repository's published rows: rows marked `gate: true` must stay
// within their tolerance; the others are printed (the model work of issue 14 is to bring them in),
// not asserted, so the suite stays green while it proceeds. And a malformed rows file is an input
// error at file:line:col with a hint.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "temp_dir.h"

namespace {

using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;

using clustertwin::cli_test::src;

class Validation : public test::TempDirTest {
 protected:
  nlohmann::json validate_rows(Result& r) {
    r = run(fmt::format("validate --rows {} --json {}", src("tests/validation/rows.yaml"), out("rows.json")));
    std::ifstream in(out("rows.json"));
    return in ? nlohmann::json::parse(in) : nlohmann::json();
  }
};

std::string number(const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.4g}", v.get<double>()) : "-"; }

std::string describe(const nlohmann::json& row) {
  return fmt::format("{} ({}): published {}, predicted {}, error {} %, missing {}", row["id"].get<std::string>(),
                     row["metric"].get<std::string>(), number(row["published"]), number(row["predicted"]),
                     number(row["error_percent"]), row["missing"].dump());
}

TEST_F(Validation, GatedRowsStayWithinTolerance) {
  Result r;
  const nlohmann::json j = validate_rows(r);
  if (r.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << r.output;
  ASSERT_TRUE(j.contains("rows")) << r.output;
  EXPECT_EQ(r.code, 0) << r.output;
  for (const auto& row : j["rows"]) {
    if (row["status"] == "inexpressible") continue;
    EXPECT_NE(row["status"], "failed") << describe(row) << ": " << row.value("error", "");
    if (row["gate"].get<bool>())
      EXPECT_TRUE(row["within"].get<bool>()) << "gated row left its tolerance: " << describe(row);
    else if (!row["within"].get<bool>())
      std::cout << "not yet within tolerance (not gated): " << describe(row) << "\n";
  }
}

// `validate` on a broken rows file under malformed/: exit code 2 and exactly `diagnostic` after the
// file's path (file:line:col, the source line, a caret, a hint).
void expect_input_error(const std::string& file, const std::string& diagnostic) {
  const std::string bad = src("tests/validation/malformed/" + file);
  Result r = run(fmt::format("validate --rows {}", bad));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, bad + diagnostic);
}

TEST(ValidationInput, AMisspeltMetricIsAnInputErrorAtItsLine) {
  expect_input_error("bad-metric.yaml",
                     ":5:13: error: unknown metric 'decode_tokens_per_secnd'\n"
                     "      metric: decode_tokens_per_secnd\n"
                     "              ^\n"
                     "hint: did you mean 'decode_tokens_per_second'?\n");
}

TEST(ValidationInput, AWorkloadOnAnAllReduceRowIsAnInputErrorAtItsLine) {
  expect_input_error("workload-on-collective.yaml",
                     ":9:15: error: an all-reduce row takes 'collective', not 'workload'\n"
                     "      workload: ../anchors/llama8b-q4km-tg128.yaml\n"
                     "                ^\n"
                     "hint: write collective: {bytes: 16MiB}\n");
}

}  // namespace
