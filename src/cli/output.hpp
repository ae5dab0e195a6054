#pragma once
// How the program writes its results and runs gnuplot: every file atomically and checked, every external
// program with an argument vector (no shell), no user text inside a gnuplot script.
#include <string>
#include <vector>

namespace cli {

/// Writes `text` to `path` atomically (tapegrad::write_file_atomically); DataError naming the file on failure.
void write_text(const std::string& path, const std::string& text);

struct ProgramResult {
  bool started = false;  // false: not found or not executable
  int status = -1;       // exit status; -1 if it died of a signal
  std::string output;    // stdout and stderr together
};
/// Runs argv[0] (looked up in PATH) with these arguments, no shell involved, and waits for it.
ProgramResult run_program(const std::vector<std::string>& argv);

/// A gnuplot string literal for text the program generated (labels): single-quoted, quotes doubled, line
/// breaks made spaces. gnuplot substitutes nothing inside single quotes. User text (paths, folder names) is
/// not put in scripts at all: it goes in as ARG1..ARG9 (see render_png).
std::string gnuplot_string(const std::string& text);

/// Writes `script` to `script_path`, runs `gnuplot -c script_path <temporary png> args...` (the script reads
/// its output file as ARG1 and the rest as ARG2...), checks that gnuplot succeeded and wrote a non-empty
/// PNG, then renames it to `png`. DataError naming the PNG (with gnuplot's own message, or how to install
/// gnuplot) otherwise; `png` is then left as it was.
void render_png(const std::string& script_path, const std::string& script, const std::string& png,
                const std::vector<std::string>& args);

/// Writes `dot` to `base`.dot, then renders it with Graphviz's `dot` (argument vector, no shell) to `base`.png
/// and `base`.svg, each through a temporary that must come out whole. DataError naming the file otherwise; a
/// missing Graphviz says how to install it (the .dot file is written either way).
void render_dot(const std::string& base, const std::string& dot);

}  // namespace cli
