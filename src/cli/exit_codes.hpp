#pragma once
// The program's exit codes: one table that main, --help and docs/reference/exit-codes.md all read.
#include <string>
#include <vector>

namespace cli {

enum class Exit : int {
  ok = 0,
  check_failed = 1,
  error = 2,
  out_of_memory = 3,
  internal = 70,
  interrupted = 130,
};

struct ExitCodeRow {
  Exit code;
  const char* meaning;
};

/// Every exit code the program ends with, and when.
const std::vector<ExitCodeRow>& exit_codes();
/// The table as --help's footer, and as the Markdown of docs/reference/exit-codes.md (a test keeps it current).
std::string exit_codes_help();
std::string exit_codes_markdown();

}  // namespace cli
