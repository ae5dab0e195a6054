// Text as token ids: the character vocabulary, the generated addition problems and the word-list reader, with
// the files a hostile user would give it.
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "helpers.hpp"

namespace {

void write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

}  // namespace

TEST_CASE("a character vocabulary encodes and decodes in the order given, and names what it does not hold") {
  const tg::CharVocabulary vocab("ab\n");
  CHECK(vocab.size() == 3);
  CHECK(vocab.encode("ba\na") == std::vector<std::size_t>{1, 0, 2, 0});
  CHECK(vocab.decode({2, 1, 0}) == "\nba");
  CHECK(testing::message_of<tg::ValueError>([&] { vocab.id('z'); }) ==
        "CharVocabulary: 'z' is not one of its 3 characters");
  CHECK(testing::message_of<tg::ValueError>([&] { vocab.id('\x01'); }) ==
        "CharVocabulary: '\\x01' is not one of its 3 characters");
  CHECK(testing::message_of<tg::ValueError>([&] { vocab.character(3); }) ==
        "CharVocabulary: id 3 is out of range (it has 3 characters)");
  CHECK(testing::message_of<tg::ValueError>([] { tg::CharVocabulary("aba"); }) ==
        "CharVocabulary: 'a' appears twice (at 0 and 2)");
  CHECK(testing::message_of<tg::ValueError>([] { tg::CharVocabulary(""); }) == "CharVocabulary: no characters");
}

TEST_CASE("the addition problems: padded as the book's file, every sum right, operands of 1 to 3 digits alike") {
  const tg::AdditionProblems p = tg::addition_problems(3000, 5);
  REQUIRE(p.questions.size() == 3000);
  REQUIRE(p.answers.size() == 3000);
  const tg::CharVocabulary vocab{std::string(tg::kAdditionCharacters)};
  std::size_t digits[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::string& q = p.questions[i];
    const std::string& a = p.answers[i];
    REQUIRE(q.size() == tg::kAdditionQuestionLength);
    REQUIRE(a.size() == tg::kAdditionAnswerLength);
    CHECK_NOTHROW(vocab.encode(q + a));
    CHECK(a[0] == '_');
    const std::size_t plus = q.find('+');
    REQUIRE(plus != std::string::npos);
    const std::string left = q.substr(0, plus), right = q.substr(plus + 1, q.find(' ', plus) - plus - 1);
    ++digits[left.size()];
    ++digits[right.size()];
    CHECK(std::stoul(a.substr(1)) == std::stoul(left) + std::stoul(right));
  }
  for (int d = 1; d <= 3; ++d) CHECK(digits[d] == doctest::Approx(2000).epsilon(0.1));  // 6000 operands / 3
  CHECK(tg::addition_problems(3000, 5).questions == p.questions);  // the same seed, the same problems
  CHECK(tg::addition_problems(3000, 6).questions != p.questions);
  CHECK(tg::addition_problems(0, 5).questions.empty());
}

TEST_CASE("read_words keeps the words of a-z only, in order, and refuses what is not a word list") {
  testing::TempDir dir;
  const std::string list = dir.file("words");
  write(list, "Aaron\nabbey\nabbey's\ncafé\nzoo\r\n\nquartz\n");
  CHECK(tg::read_words(list) == std::vector<std::string>{"abbey", "zoo", "quartz"});

  CHECK(testing::message_of<tg::DataError>([&] { tg::read_words(dir.file("missing")); }) ==
        dir.file("missing") + ": not found (install Debian's wamerican: scripts/install-deps.sh does)");
  CHECK(testing::message_of<tg::DataError>([&] { tg::read_words(dir.str()); }) ==
        dir.str() + ": not a regular file (a word list is one word per line)");
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // refused without opening it: no writer would ever come
  CHECK(testing::message_of<tg::DataError>([&] { tg::read_words(fifo); }) ==
        fifo + ": not a regular file (a word list is one word per line)");
  CHECK(testing::message_of<tg::DataError>([] { tg::read_words("/dev/zero"); }) ==
        "/dev/zero: not a regular file (a word list is one word per line)");
  write(dir.file("binary"), std::string("abc\ndef\0ghi\n", 12));
  CHECK(testing::message_of<tg::DataError>([&] { tg::read_words(dir.file("binary")); }) ==
        dir.file("binary") + ": line 2 holds a NUL byte; not a text file");
  write(dir.file("names"), "Alice\nBob\n'quoted'\n$HOME\n`ls`\n");
  CHECK(testing::message_of<tg::DataError>([&] { tg::read_words(dir.file("names")); }) ==
        dir.file("names") + ": no word made of the letters a-z only");
  write(dir.file("empty"), "");
  CHECK_THROWS_AS(tg::read_words(dir.file("empty")), tg::DataError);
  {  // a sparse file of 65 MB: refused by its size before a byte is read
    std::ofstream big(dir.file("big"), std::ios::binary);
    big.seekp((std::streamoff{65} << 20) - 1);
    big.put('a');
  }
  CHECK(testing::message_of<tg::DataError>([&] { tg::read_words(dir.file("big")); }) ==
        dir.file("big") + ": 68157440 bytes, larger than 64 MB; not a word list");
  std::filesystem::create_symlink(list, dir.file("link"));  // a link to a list is read as the list
  CHECK(tg::read_words(dir.file("link")).size() == 3);
  const std::string quoted = dir.file("it's $a `b`\nlist");
  write(quoted, "one\n");
  CHECK(tg::read_words(quoted) == std::vector<std::string>{"one"});
}

TEST_CASE("Debian's word list (wamerican, installed by the set-up) has tens of thousands of lowercase words") {
  const std::string path = tg::default_word_list();
  REQUIRE_MESSAGE(std::filesystem::exists(path), path << " is missing: scripts/install-deps.sh installs wamerican");
  const std::vector<std::string> words = tg::read_words(path);
  CHECK(words.size() > 50000);
  CHECK(std::set<std::string>(words.begin(), words.end()).count("zebra") == 1);
}
