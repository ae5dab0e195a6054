#pragma once
// Text as token ids, for sequence models: a character vocabulary, the book's addition problems (volume 2, ch7)
// and the words of a word list (Debian's wamerican) for a character-level language model.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tapegrad {

/// Characters and their ids, in the order given (id i is characters[i]).
class CharVocabulary {
 public:
  /// ValueError for no characters or a repeated one.
  explicit CharVocabulary(std::string characters);
  std::size_t size() const { return characters_.size(); }
  const std::string& characters() const { return characters_; }
  /// ValueError naming a character that is not in the vocabulary (escaped when not printable).
  std::size_t id(char c) const;
  /// ValueError for an id out of range.
  char character(std::size_t id) const;
  std::vector<std::size_t> encode(std::string_view text) const;
  std::string decode(const std::vector<std::size_t>& ids) const;

 private:
  std::string characters_;
  std::array<std::size_t, 256> ids_;  // size() for a character not in it
};

/// The book's addition.txt, generated: "a+b" padded with spaces to 7 characters, and the answer as "_" + the sum
/// padded to 5 (the decoder starts from "_"). Each operand has 1, 2 or 3 digits (drawn equally often), then a
/// value of that many digits, so "16+75" and "5+300" are as common as in the book's file. The same seed gives
/// the same problems.
struct AdditionProblems {
  std::vector<std::string> questions, answers;
};
inline constexpr std::string_view kAdditionCharacters = "0123456789+ _";
inline constexpr std::size_t kAdditionQuestionLength = 7, kAdditionAnswerLength = 5;
AdditionProblems addition_problems(std::size_t count, std::uint64_t seed);

/// Where Debian's wamerican installs its list of English words.
std::string default_word_list();
/// The words of a list with one word per line that are made of the letters a-z only (proper names, possessives
/// and accented words are left out), in the file's order. DataError naming the file when it is missing, not a
/// regular file, larger than 64 MB, holds a NUL byte, or has no such word.
std::vector<std::string> read_words(const std::string& path);

}  // namespace tapegrad
