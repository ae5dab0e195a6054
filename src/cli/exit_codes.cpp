#include "cli/exit_codes.hpp"

#include <fmt/format.h>

namespace cli {

const std::vector<ExitCodeRow>& exit_codes() {
  static const std::vector<ExitCodeRow> rows{
      {Exit::ok, "success (also --help and --version)"},
      {Exit::check_failed, "`tapegrad gradcheck` or `tapegrad doctor`: at least one check failed (its table says which)"},
      {Exit::error,
       "an error the message names: a bad or inapplicable option or value, no subcommand, a file or data set that "
       "cannot be read or is malformed (NaN features, a crafted checkpoint), an output that may not be replaced "
       "(a device node, FIFO, socket or folder) or cannot be written, a run that diverged, MPI processes that "
       "disagree or one that failed"},
      {Exit::out_of_memory, "out of memory: the sizes asked for need more memory than the machine gives"},
      {Exit::internal, "an unexpected internal error (a bug in tapegrad: please report the message)"},
      {Exit::interrupted, "stopped by Ctrl-C (SIGINT) or SIGTERM; the message says which results were kept"},
  };
  return rows;
}

std::string exit_codes_help() {
  std::string text = "Exit codes:\n";
  for (const ExitCodeRow& row : exit_codes()) text += fmt::format("  {:<4} {}\n", static_cast<int>(row.code), row.meaning);
  return text;
}

std::string exit_codes_markdown() {
  std::string text =
      "# Exit codes of the `tapegrad` program\n\n"
      "Generated from `src/cli/exit_codes.cpp` (`tapegrad exit-codes` prints it; a test fails when this page is stale).\n"
      "Under `mpirun`, every process ends with the same code.\n\n"
      "| code | when |\n|---|---|\n";
  for (const ExitCodeRow& row : exit_codes()) text += fmt::format("| {} | {} |\n", static_cast<int>(row.code), row.meaning);
  return text;
}

}  // namespace cli
