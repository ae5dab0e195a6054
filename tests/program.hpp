#pragma once
// The tapegrad program as a real process: started with an argument vector (no shell), its output and exit code
// read back; and the toy MNIST-format folder the program tests train on.
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.hpp"

namespace testing {
struct Proc {
  int code = -1;  // exit status, or -1 if killed by a signal
  std::string output;
};

// Starts the tapegrad program with `args` in folder `cwd`; `setup` runs in the child before exec (limits,
// environment). With `ready`: SIGINT is sent once ready() is true, plus `delay` seconds.
inline Proc spawn(const std::vector<std::string>& args, const std::string& cwd, const std::function<void()>& setup = {},
           const std::function<bool()>& ready = {}, double delay = 0) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    if (chdir(cwd.c_str()) != 0) _exit(120);
    if (setup) setup();
    std::vector<char*> argv{const_cast<char*>(TAPEGRAD_CLI)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TAPEGRAD_CLI, argv.data());
    _exit(121);
  }
  close(fds[1]);
  std::thread interrupter;
  if (ready)
    interrupter = std::thread([=] {
      const auto start = std::chrono::steady_clock::now();
      while (!ready() && std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      kill(child, SIGINT);
    });
  Proc p;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) p.output.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  if (interrupter.joinable()) interrupter.join();  // before the child is reaped: its pid stays its own
  int status = 0;
  waitpid(child, &status, 0);
  p.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return p;
}

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The toy MNIST-format folder of test_cli (4x4 images, class = brightest pixel).
inline void write_toy_mnist(const std::string& dir, std::size_t test_side = 4, std::size_t train_rows = 400) {
  std::filesystem::create_directories(dir);
  tg::Rng rng(11);
  for (const auto& [split, n] : {std::pair<std::string, std::size_t>{"train", train_rows}, {"t10k", 100}}) {
    const std::size_t side = split == "train" ? 4 : test_side;
    tg::IdxArray images{{n, side, side}, {}}, labels{{n}, {}};
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t hot = rng.below(10);
      for (std::size_t p = 0; p < side * side; ++p)
        images.data.push_back(p == hot ? 250 : static_cast<std::uint8_t>(rng.below(60)));
      labels.data.push_back(static_cast<std::uint8_t>(hot));
    }
    tg::write_idx(dir + "/" + split + "-images-idx3-ubyte.gz", images);
    tg::write_idx(dir + "/" + split + "-labels-idx1-ubyte.gz", labels);
  }
}

inline bool is_complete_png(const std::string& path) {
  const auto bytes = testing::read_bytes(path);
  static const unsigned char trailer[] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  return bytes.size() > 100 && std::equal(std::begin(trailer), std::end(trailer), bytes.end() - 8);
}

// A folder name with everything a shell or gnuplot might run or split on.
inline const std::string kHostile = "o'ut \"q\" $(touch PWNED1) `touch PWNED2` ;touch PWNED3\nnext line @ARG1";


}  // namespace testing
