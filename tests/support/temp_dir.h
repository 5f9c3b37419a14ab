// A fresh directory for one test: named after the process, suite and test (so parallel ctest
// runs never share one), created empty, removed with everything in it when the test ends.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace test {

class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "clustertwin-test-" + std::to_string(::getpid());
    if (info) name += std::string("-") + info->test_suite_name() + "-" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';  // parameterised tests are named "Suite/Test/0"
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory, as a string (for option structs and command lines).
  std::string out(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A fixture whose every test gets its own TempDir: dir_ and out(name).
class TempDirTest : public testing::Test {
 protected:
  std::string out(const std::string& name) const { return temp_.out(name); }

  TempDir temp_;
  const std::filesystem::path& dir_ = temp_.path();
};

}  // namespace test
