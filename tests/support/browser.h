// An HTML page opened in real headless Chromium (Debian's `chromium`; scripts/setup.sh installs it):
// the DOM after its scripts ran, and what the browser logged. Tests of report.html and plan.html.
#pragma once

#include <filesystem>
#include <string>

namespace test {

// The first Chromium found on the usual paths, "" when none.
std::string chromium();

struct Page {
  int code = -1;
  std::string dom, log;
  double wall_seconds = 0;
};

// --dump-dom prints the DOM once the page has loaded and its scripts have run. Root needs
// --no-sandbox; a private profile under `tmp` keeps runs apart and is removed after.
Page render(const std::filesystem::path& html, const std::filesystem::path& tmp);

// Lines Chromium logs for the page's console (errors, warnings, even console.log).
std::string console_lines(const std::string& log);

// The data-marks count of <svg id="CHART" ... data-visible="1">; -1 when absent or not visible.
int marks(const std::string& dom, const std::string& chart);

}  // namespace test
