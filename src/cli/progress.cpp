#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "tapegrad/train/trainer.hpp"

namespace cli {

OverallProgress::OverallProgress(std::size_t total_steps, std::size_t runs, bool visible)
    : total_steps_(total_steps), runs_(runs), visible_(visible && isatty(fileno(stderr))) {}

void OverallProgress::draw() {
  if (!visible_ || total_steps_ == 0) return;
  const std::size_t done = std::min(steps_done_.load(std::memory_order_relaxed), total_steps_);
  const double fraction = double(done) / double(total_steps_);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  constexpr std::size_t width = 30;
  const std::size_t filled = std::size_t(fraction * width);
  const std::string left =
      done > 0 && elapsed > 1 ? "about " + tapegrad::duration_text(elapsed * (1 - fraction) / fraction) + " left" : "";
  fmt::print(stderr, "\r{}/{} runs done [{}{}] {:3.0f}%  {}\x1b[K", runs_done_, runs_, std::string(filled, '='),
             std::string(width - filled, ' '), 100 * fraction, left);
  std::fflush(stderr);
  drawn_ = true;
}

void OverallProgress::print(const std::string& text) {
  clear();
  fmt::print("{}", text);
  std::fflush(stdout);
  draw();
}

void OverallProgress::clear() {
  if (!drawn_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace cli
