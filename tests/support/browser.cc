#include "browser.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <sys/wait.h>

namespace test {
namespace fs = std::filesystem;
namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

std::string chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return {};
}

Page render(const fs::path& html, const fs::path& tmp) {
  Page page;
  fs::path profile = tmp / "chromium-profile", dom = tmp / "dom.html", log = tmp / "chromium.log";
  std::string cmd = fmt::format(
      "timeout 120 {} --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check "
      "--disable-extensions --user-data-dir={} --enable-logging=stderr --v=0 --window-size=1200,900 --dump-dom "
      "file://{} > {} 2> {}",
      chromium(), profile.string(), fs::absolute(html).string(), dom.string(), log.string());
  auto t0 = std::chrono::steady_clock::now();
  int status = std::system(cmd.c_str());
  page.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  page.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  page.dom = slurp(dom);
  page.log = slurp(log);
  fs::remove_all(profile);
  return page;
}

std::string console_lines(const std::string& log) {
  std::string out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find(":CONSOLE") != std::string::npos) out += line + "\n";
  return out;
}

int marks(const std::string& dom, const std::string& chart) {
  std::smatch m;
  std::regex re("<svg id=\"" + chart + "\"[^>]*data-marks=\"([0-9]+)\"[^>]*data-visible=\"1\"");
  return std::regex_search(dom, m, re) ? std::stoi(m[1]) : -1;
}

}  // namespace test
