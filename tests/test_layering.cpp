// The floors of the library, held by reading every include: a file may include its own floor and the floors
// below it, never one above (the engine knows no op; values know no tape).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kSource = TAPEGRAD_SOURCE_DIR;

// Each floor and the floors it may include besides itself.
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> table{
      {"tensor", {}},
      {"io", {"tensor"}},
      {"data", {"tensor"}},
      {"autograd", {"tensor"}},
      {"ops", {"tensor", "autograd"}},
      {"calculus", {"tensor", "autograd", "ops"}},
      {"nn", {"tensor", "autograd", "ops", "calculus"}},
      {"optim", {"tensor", "autograd", "ops", "calculus", "nn"}},
      {"viz", {"tensor", "autograd", "ops", "nn"}},
      {"train", {"tensor", "io", "data", "autograd", "ops", "calculus", "nn", "optim"}},
      {"distributed", {"tensor", "train"}},
  };
  return table;
}

// The floor an include names: "tapegrad/ops/x.hpp" and the private "ops/x.hpp" are both "ops";
// "tapegrad/xtensor.hpp" (xtensor interop for tensors) is "tensor"; the umbrella header is "all".
std::string floor_of(const std::string& include) {
  if (include == "tapegrad/xtensor.hpp") return "tensor";
  if (include == "tapegrad/tapegrad.hpp") return "all";
  std::string path = include.rfind("tapegrad/", 0) == 0 ? include.substr(9) : include;
  const auto slash = path.find('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

struct Violation {
  std::string file, include;
};

std::vector<Violation> violations() {
  std::vector<Violation> found;
  const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  for (const auto& [floor, below] : allowed())
    for (const std::string root : {kSource + "/include/tapegrad/" + floor, kSource + "/src/" + floor}) {
      if (!fs::is_directory(root)) continue;
      for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line)) {
          std::smatch m;
          if (!std::regex_search(line, m, include_line)) continue;
          const std::string to = floor_of(m[1]);
          if (to != floor && !below.count(to)) found.push_back({entry.path().string(), m[1]});
        }
      }
    }
  return found;
}

}  // namespace

TEST_CASE("layering: every file of the library includes only its own floor and the floors below it") {
  const std::vector<Violation> found = violations();
  for (const Violation& v : found) FAIL_CHECK(std::string(v.file + " includes \"" + v.include + "\""));
  CHECK(found.empty());
}

TEST_CASE("layering: the floors are where the table says, and each is checked") {
  for (const char* floor : {"tensor", "autograd", "ops", "calculus", "nn", "optim", "data", "io", "train"}) {
    CAPTURE(floor);
    CHECK(fs::is_directory(kSource + "/include/tapegrad/" + floor));
    CHECK(allowed().count(floor) == 1);
  }
  // the engine knows no op: the tape's sums of gradients are its own rule
  std::ifstream tape(kSource + "/src/autograd/tape.cpp");
  REQUIRE(tape);
  const std::string text((std::istreambuf_iterator<char>(tape)), std::istreambuf_iterator<char>());
  CHECK(text.find("tapegrad/ops/") == std::string::npos);
  CHECK(text.find("detail::accumulate(") != std::string::npos);
}

TEST_CASE("layering: the old include paths are one-line forwards to the new ones, for one release") {
  const std::regex forward(R"re(#include "tapegrad/(tensor|autograd|calculus|io)/[a-z_]+\.hpp")re");
  for (const std::string folder : {"core", "gradcheck"})
    for (const auto& entry : fs::directory_iterator(kSource + "/include/tapegrad/" + folder)) {
      CAPTURE(entry.path().string());
      std::ifstream in(entry.path());
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CHECK(std::regex_search(text, forward));
      CHECK(text.find("namespace") == std::string::npos);  // nothing but includes
    }
}

TEST_CASE("layering: clients depend downward only: nothing includes examples/, examples include only tapegrad/") {
  const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  for (const std::string folder : {"src", "tests", "benchmarks", "examples"})
    for (const auto& entry : fs::recursive_directory_iterator(kSource + "/" + folder)) {
      if (!entry.is_regular_file()) continue;
      const std::string ext = entry.path().extension().string();
      if (ext != ".cpp" && ext != ".hpp") continue;
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, include_line)) continue;
        const std::string included = m[1];
        CAPTURE(entry.path().string());
        CAPTURE(included);
        CHECK(included.find("examples/") == std::string::npos);
        if (folder == "examples") CHECK(included.rfind("tapegrad/", 0) == 0);
      }
    }
}
