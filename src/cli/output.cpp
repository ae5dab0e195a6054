#include "cli/output.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/io/files.hpp"

extern char** environ;

namespace cli {

void write_text(const std::string& path, const std::string& text) { tapegrad::write_file_atomically(path, text); }

ProgramResult run_program(const std::vector<std::string>& argv) {
  ProgramResult result;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return result;
  }
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // posix_spawnp reports a missing program as exit status 127 from the child on glibc
  result.started = !(WIFEXITED(status) && WEXITSTATUS(status) == 127);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

namespace {
// A PNG file ends with the IEND chunk: a PNG cut short by a full disk or a size limit does not.
bool ends_with_png_trailer(const std::string& path) {
  static const unsigned char kTrailer[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char tail[12];
  const bool ok = std::fseek(f, -12, SEEK_END) == 0 && std::fread(tail, 1, 12, f) == 12 &&
                  std::memcmp(tail, kTrailer, 12) == 0;
  std::fclose(f);
  return ok;
}
}  // namespace

std::string gnuplot_string(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}

namespace {
// Runs a renderer (`argv`, whose output file is `tmp`, a temporary beside `target`) and moves its output into
// place only if it came out whole: the program found and exited 0, the file not empty, a PNG ending in IEND.
// DataError "<target>: <what> not written/drawn: why" otherwise, the temporary removed and `target` untouched.
void render_into(const std::vector<std::string>& argv, const std::string& tmp, const std::string& target,
                 const std::string& failure, const std::string& not_installed) {
  const ProgramResult r = run_program(argv);
  const std::string& tool = argv.front();
  std::error_code ec;
  const auto size = std::filesystem::file_size(tmp, ec);
  const auto fail = [&](const std::string& why) {
    std::remove(tmp.c_str());
    throw tapegrad::DataError(fmt::format("{}: {}: {}", target, failure, why));
  };
  const std::string message = r.output.empty() ? "no message" : r.output;
  if (!r.started) fail(not_installed);
  if (r.status != 0) fail(fmt::format("{} failed (exit status {}): {}", tool, r.status, message));
  if (ec || size == 0) fail(fmt::format("{} wrote nothing: {}", tool, message));
  const bool png = target.size() > 4 && target.compare(target.size() - 4, 4, ".png") == 0;
  if (png && !ends_with_png_trailer(tmp))
    fail(fmt::format("{}'s PNG is incomplete ({} bytes, no IEND chunk): {}", tool, size,
                     r.output.empty() ? "the disk is full or a file-size limit was hit" : r.output));
  if (std::rename(tmp.c_str(), target.c_str()) != 0)
    fail(fmt::format("cannot rename it into place ({})", std::strerror(errno)));
}
}  // namespace

void render_png(const std::string& script_path, const std::string& script, const std::string& png,
                const std::vector<std::string>& args) {
  write_text(script_path, script);
  const std::string target = tapegrad::output_target(png);
  const std::string tmp = tapegrad::make_temporary_beside(target);
  std::vector<std::string> argv{"gnuplot", "-c", script_path, tmp};
  argv.insert(argv.end(), args.begin(), args.end());
  render_into(argv, tmp, target, "plot not written",
              "gnuplot is not installed (apt-get install gnuplot-nox); the tables and CSV files are written");
}

void render_dot(const std::string& base, const std::string& dot) {
  const std::string source = base + ".dot";
  write_text(source, dot);
  for (const std::string format : {"png", "svg"}) {
    const std::string target = tapegrad::output_target(base + "." + format);
    const std::string tmp = tapegrad::make_temporary_beside(target);
    render_into({"dot", "-T" + format, "-o", tmp, source}, tmp, target, "graph not drawn",
                fmt::format("Graphviz's dot is not installed (apt-get install graphviz); the graph is written as {}",
                            source));
  }
}

}  // namespace cli
