// cli/failure.h: what reaches the user when a command throws. Library messages (map::at, stoi, ...)
// never do: they become an internal error naming the command; our own messages pass unchanged.
#include "cli/failure.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/diag.h"

namespace clustertwin::cli {
namespace {

const std::string kCommand = "clustertwin predict -t a.yaml -w b.yaml -o out";

// The exception `f` throws, described.
template <typename F>
Failure failure_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return describe_failure(e, kCommand);
  }
  return {0, "(nothing thrown)"};
}

TEST(Failure, LibraryExceptionsBecomeAnInternalErrorNamingTheCommand) {
  std::vector<Failure> cases{
      failure_of([] { return std::map<int, int>{}.at(1); }),
      failure_of([] { return std::vector<int>(3).at(5); }),
      failure_of([] { return std::stoi("x"); }),
      failure_of([] { return std::string("ab").substr(5); }),
      failure_of([] { return std::get<int>(std::variant<int, double>(1.0)); }),
      failure_of([] { return std::optional<int>().value(); }),
      failure_of([] { return nlohmann::json::parse("{\"a\": 1}").at("b").get<int>(); }),
  };
  for (const Failure& f : cases) {
    EXPECT_EQ(f.exit_code, 3) << f.text;
    EXPECT_EQ(f.text, "clustertwin: internal error: `clustertwin predict -t a.yaml -w b.yaml -o out` stopped on a case "
                      "clustertwin does not check yet.\n"
                      "hint: this is a bug in clustertwin, not in your input: please report it with this command line and "
                      "the files it names");
    for (const char* library : {"map::at", "_M_range_check", "stoi", "basic_string", "variant", "optional", "json"})
      EXPECT_EQ(f.text.find(library), std::string::npos) << library;
  }
}

TEST(Failure, OurOwnErrorsPassUnchanged) {
  Failure input = failure_of([] { throw core::InputError("w.yaml:1:1: error: bad"); });
  EXPECT_EQ(input.exit_code, 2);
  EXPECT_EQ(input.text, "w.yaml:1:1: error: bad");
  Failure run = failure_of([] { throw std::runtime_error("sim: rank 2 never received tag 7"); });
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.text, "clustertwin: error: sim: rank 2 never received tag 7");
  Failure ours = failure_of([] { throw std::invalid_argument("program: rank 1 op 4: deps must point back"); });
  EXPECT_EQ(ours.exit_code, 1);
  EXPECT_EQ(ours.text, "clustertwin: error: program: rank 1 op 4: deps must point back");
}

TEST(Failure, CommandLineQuotesWhatTheShellWouldSplit) {
  const char* argv[] = {"clustertwin", "explain", "-t", "my cluster.yaml", "-w", "it's.yaml"};
  EXPECT_EQ(command_line(6, argv), "clustertwin explain -t 'my cluster.yaml' -w 'it'\\''s.yaml'");
}

}  // namespace
}  // namespace clustertwin::cli
