#include "train/progress.hpp"

#include <fmt/format.h>

#include "tapegrad/train/trainer.hpp"

namespace tapegrad::detail {

void ProgressBar::update(std::size_t done, double loss, double seconds_left) {
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  constexpr std::size_t width = 30;
  const std::size_t filled = total_ ? done * width / total_ : width;
  const std::string left = seconds_left >= 0 ? fmt::format(", about {} left", duration_text(seconds_left)) : "";
  fmt::print(out_, "\r{} [{}{}] {}/{}  loss {:.4f}{}\x1b[K", label_, std::string(filled, '='),
             std::string(width - filled, ' '), done, total_, loss, left);
  std::fflush(out_);
}

void ProgressBar::finish() {
  fmt::print(out_, "\r\x1b[K");
  std::fflush(out_);
}

}  // namespace tapegrad::detail
