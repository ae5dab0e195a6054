#include "tapegrad/data/text.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/tensor/random.hpp"

namespace tapegrad {
namespace {

std::string shown(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isprint(u) ? fmt::format("'{}'", c) : fmt::format("'\\x{:02x}'", u);
}

constexpr std::uintmax_t kMaxWordListBytes = std::uintmax_t{64} << 20;  // wamerican's is 1 MB

}  // namespace

CharVocabulary::CharVocabulary(std::string characters) : characters_(std::move(characters)) {
  if (characters_.empty()) throw ValueError("CharVocabulary: no characters");
  ids_.fill(characters_.size());
  for (std::size_t i = 0; i < characters_.size(); ++i) {
    std::size_t& slot = ids_[static_cast<unsigned char>(characters_[i])];
    if (slot != characters_.size())
      throw ValueError(fmt::format("CharVocabulary: {} appears twice (at {} and {})", shown(characters_[i]), slot, i));
    slot = i;
  }
}

std::size_t CharVocabulary::id(char c) const {
  const std::size_t i = ids_[static_cast<unsigned char>(c)];
  if (i == characters_.size())
    throw ValueError(fmt::format("CharVocabulary: {} is not one of its {} characters", shown(c), characters_.size()));
  return i;
}

char CharVocabulary::character(std::size_t id) const {
  if (id >= characters_.size())
    throw ValueError(fmt::format("CharVocabulary: id {} is out of range (it has {} characters)", id, characters_.size()));
  return characters_[id];
}

std::vector<std::size_t> CharVocabulary::encode(std::string_view text) const {
  std::vector<std::size_t> out;
  out.reserve(text.size());
  for (char c : text) out.push_back(id(c));
  return out;
}

std::string CharVocabulary::decode(const std::vector<std::size_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (std::size_t i : ids) out += character(i);
  return out;
}

AdditionProblems addition_problems(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  const auto operand = [&rng] {
    const std::uint64_t digits = 1 + rng.below(3);
    const std::uint64_t low = digits == 1 ? 0 : digits == 2 ? 10 : 100;
    const std::uint64_t high = digits == 1 ? 10 : digits == 2 ? 100 : 1000;
    return low + rng.below(high - low);
  };
  AdditionProblems out;
  out.questions.reserve(count);
  out.answers.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t a = operand(), b = operand();
    out.questions.push_back(fmt::format("{:<{}}", fmt::format("{}+{}", a, b), kAdditionQuestionLength));
    out.answers.push_back(fmt::format("{:<{}}", fmt::format("_{}", a + b), kAdditionAnswerLength));
  }
  return out;
}

std::string default_word_list() { return "/usr/share/dict/american-english"; }

std::vector<std::string> read_words(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw DataError(fmt::format("{}: not found (install Debian's wamerican: scripts/install-deps.sh does)", path));
  if (!std::filesystem::is_regular_file(path, ec))
    throw DataError(fmt::format("{}: not a regular file (a word list is one word per line)", path));
  const std::uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(fmt::format("{}: cannot read its size: {}", path, ec.message()));
  if (bytes > kMaxWordListBytes)
    throw DataError(fmt::format("{}: {} bytes, larger than {} MB; not a word list", path, bytes,
                                kMaxWordListBytes >> 20));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open", path));
  std::vector<std::string> words;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find('\0') != std::string::npos)
      throw DataError(fmt::format("{}: line {} holds a NUL byte; not a text file", path, number));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    bool letters = !line.empty();
    for (char c : line) letters = letters && c >= 'a' && c <= 'z';
    if (letters) words.push_back(line);
  }
  if (in.bad()) throw DataError(fmt::format("{}: read error after line {}", path, number));
  if (words.empty()) throw DataError(fmt::format("{}: no word made of the letters a-z only", path));
  return words;
}

}  // namespace tapegrad
