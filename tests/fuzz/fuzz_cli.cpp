// libFuzzer target: any command line (arguments separated by NUL bytes) given to the program's parser must be
// accepted or refused with a message -- CLI11's ParseError or a tapegrad error naming the option -- never a
// crash, a leak or a hang. Nothing is run and no file is read: this is the parser and the option grammars.
#include <cstdint>
#include <string>
#include <vector>

#include "cli/app.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"tapegrad"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (!current.empty()) args.push_back(current);
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  cli::Command command;
  const auto app = cli::make_app(command);
  try {
    app->parse(static_cast<int>(argv.size()), argv.data());
    command.check_text();
    command.given_train_options();
  } catch (const CLI::Error&) {
  } catch (const tapegrad::Error&) {
  }
  return 0;
}
