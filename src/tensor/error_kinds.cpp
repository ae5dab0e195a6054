#include "tapegrad/tensor/error_kinds.hpp"

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {
template <class E>
[[noreturn]] void raise(const std::string& message) {
  throw E(message);
}
}  // namespace

const std::vector<ErrorKind>& error_kinds() {
  static const std::vector<ErrorKind> kinds{
      {"Error", "the base of every kind below: `catch (const tapegrad::Error&)` catches all of them", &raise<Error>},
      {"ShapeError", "shapes that do not fit an op; the message names the op and every shape involved",
       &raise<ShapeError>},
      {"TapeError",
       "misuse of a tape: backward twice without create_graph, a Var of a cleared or destroyed tape, a tape used "
       "from a second thread; the message says what to do",
       &raise<TapeError>},
      {"ValueError", "an argument outside its domain: a label out of range, a bad option, a model with no parameters",
       &raise<ValueError>},
      {"DataError", "a data or checkpoint file that is missing, truncated, crafted or not a regular file; the message "
                    "starts with its path",
       &raise<DataError>},
      {"NumericError", "a value or gradient that became NaN or infinite (a diverging run, a log of zero), named",
       &raise<NumericError>},
      {"OpError", "an op that failed or broke its contract: a custom op's forward or backward threw, returned the "
                  "wrong number of gradients, or read an input it does not have; the message names the op",
       &raise<OpError>},
      {"MemoryError", "an allocation that cannot succeed (a tensor larger than memory), instead of std::bad_alloc",
       &raise<MemoryError>},
      {"CommunicationError", "processes training together failed to exchange data, or one of them failed; the "
                             "message names the call and the process",
       &raise<CommunicationError>},
      {"Interrupted", "work stopped on request (TrainerOptions::should_stop, e.g. Ctrl-C); the message says what was "
                      "kept",
       &raise<Interrupted>},
  };
  return kinds;
}

std::string errors_markdown() {
  std::string out =
      "# Errors\n\n"
      "Generated from `src/tensor/error_kinds.cpp` (`tapegrad errors` prints it; a test fails when this page is "
      "stale). Every failure tapegrad reports is one of these exceptions, declared in "
      "`tapegrad/tensor/error.hpp`; how the `tapegrad` program ends on each is in "
      "[exit-codes.md](exit-codes.md).\n\n"
      "| error | when |\n|---|---|\n";
  for (const ErrorKind& kind : error_kinds()) out += fmt::format("| `tapegrad::{}` | {} |\n", kind.name, kind.meaning);
  return out;
}

}  // namespace tapegrad
