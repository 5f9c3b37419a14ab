// The checked output write: whole contents, the usual file mode, no temporary left behind, and
// errors that name the path with the system's reason.
#include "core/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cstring>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace clustertwin::core {
namespace {

namespace fs = std::filesystem;

class WriteFile : public test::TempDirTest {
 protected:
  void TearDown() override { fs::permissions(dir_, fs::perms::owner_all); }  // some tests make it read-only
  static std::string contents(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    return out;
  }
  // The message and errno of a write that must fail.
  static std::pair<std::string, int> failure(const std::string& path) {
    try {
      write_file(path, "x");
    } catch (const std::system_error& e) {
      return {e.what(), e.code().value()};
    }
    return {"no error", 0};
  }
};

TEST_F(WriteFile, WritesAndReplacesWholeContents) {
  std::string path = (dir_ / "summary.json").string();
  std::string big(3 << 20, 'a');
  big.back() = '\n';
  write_file(path, big);
  EXPECT_EQ(contents(path), big);
  write_file(path, "short\n");
  EXPECT_EQ(contents(path), "short\n");
  write_file(path, "");
  EXPECT_EQ(contents(path), "");
  EXPECT_EQ(entries(), std::vector<std::string>{"summary.json"});  // no temporary left
}

TEST_F(WriteFile, ModeIsTheUsualOneLessTheUmask) {
  mode_t mask = ::umask(022);
  std::string path = (dir_ / "report.md").string();
  write_file(path, "# report\n");
  ::umask(mask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(WriteFile, MissingDirectoryIsNamedWithTheReason) {
  std::string path = (dir_ / "no" / "such" / "program.json").string();
  auto [what, err] = failure(path);
  EXPECT_EQ(what, "cannot write '" + path + "': No such file or directory");
  EXPECT_EQ(err, ENOENT);
}

TEST_F(WriteFile, ParentThatIsAFileIsNamedWithTheReason) {
  write_file((dir_ / "plain").string(), "x");
  std::string path = (dir_ / "plain" / "clocks.json").string();
  auto [what, err] = failure(path);
  EXPECT_EQ(what, "cannot write '" + path + "': Not a directory");
  EXPECT_EQ(err, ENOTDIR);
}

TEST_F(WriteFile, UnwritableDirectoryIsNamedWithTheReason) {
  fs::path ro = dir_ / "read-only";
  fs::create_directories(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  std::string path = (ro / "report.html").string();
  auto [what, err] = failure(path);
  if (::geteuid() == 0) {
    // Root writes anyway: the permission bits cannot make this case here.
    EXPECT_EQ(what, "no error");
  } else {
    EXPECT_EQ(what, "cannot write '" + path + "': Permission denied");
    EXPECT_EQ(err, EACCES);
  }
  fs::permissions(ro, fs::perms::owner_all);
}

TEST_F(WriteFile, AFailedWriteLeavesWhatWasThere) {
  // The target is a directory: the temporary file is written, the rename fails, nothing changes.
  fs::create_directories(dir_ / "trace.json" / "inside");
  std::string path = (dir_ / "trace.json").string();
  auto [what, err] = failure(path);
  EXPECT_EQ(what, "cannot write '" + path + "': " + std::strerror(err));
  EXPECT_TRUE(err == EISDIR || err == ENOTEMPTY || err == EEXIST) << err;
  EXPECT_EQ(entries(), std::vector<std::string>{"trace.json"});
  EXPECT_TRUE(fs::is_directory(dir_ / "trace.json" / "inside"));
}

}  // namespace
}  // namespace clustertwin::core
