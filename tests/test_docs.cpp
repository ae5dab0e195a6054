// The docs cannot point nowhere: every relative link and image of README.md, CHANGELOG.md and docs/ names a file
// that exists, and every link to a heading names a heading of that page.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kSource = TAPEGRAD_SOURCE_DIR;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The page's text without its fenced code blocks (a link-like text in code is code).
std::string prose(const std::string& text) {
  std::string out;
  bool fenced = false;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    else if (!fenced) out += line + "\n";
    start = end + 1;
  }
  return out;
}

// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as '-'.
std::string anchor_of(const std::string& heading) {
  std::string out;
  for (const char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || u >= 0x80) out += char(std::tolower(u));
    else if (c == ' ') out += '-';
  }
  return out;
}

std::set<std::string> anchors(const std::string& text) {
  std::set<std::string> out;
  const std::regex heading(R"(^#+ (.+)$)");
  std::istringstream lines(prose(text));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, heading)) out.insert(anchor_of(m[1]));
  }
  return out;
}

std::vector<fs::path> pages() {
  std::vector<fs::path> out{kSource / "README.md", kSource / "CHANGELOG.md"};
  for (const auto& entry : fs::recursive_directory_iterator(kSource / "docs"))
    if (entry.is_regular_file() && entry.path().extension() == ".md") out.push_back(entry.path());
  if (fs::exists(kSource / "README.ja.md")) out.push_back(kSource / "README.ja.md");
  return out;
}

}  // namespace

TEST_CASE("docs: every relative link and image of the docs names a file that exists, and a heading of it") {
  const std::regex link(R"(\]\(([^)\s]+)\))");
  std::size_t checked = 0;
  for (const fs::path& page : pages()) {
    const std::string text = prose(read(page));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1];
      if (target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
      CAPTURE(page.string());
      CAPTURE(target);
      const std::size_t hash = target.find('#');
      const std::string file = target.substr(0, hash);
      const fs::path resolved = file.empty() ? page : page.parent_path() / file;
      CHECK(fs::exists(resolved));
      if (hash != std::string::npos && fs::exists(resolved) && resolved.extension() == ".md")
        CHECK(anchors(read(resolved)).count(target.substr(hash + 1)) == 1);
      ++checked;
    }
  }
  CHECK(checked > 20);  // the docs do link: a regex that matched nothing would pass everything
}

TEST_CASE("docs: a GitHub anchor is the heading in lower case, punctuation dropped, spaces as dashes") {
  CHECK(anchor_of("The book's chapter 5, by hand") == "the-books-chapter-5-by-hand");
  CHECK(anchor_of("Convolutional networks (the book's chapter 7)") == "convolutional-networks-the-books-chapter-7");
  CHECK(anchor_of("`tapegrad graph` and `tapegrad summary`") == "tapegrad-graph-and-tapegrad-summary");
}
