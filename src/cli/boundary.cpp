#include "cli/boundary.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/output.hpp"

namespace tg = tapegrad;

namespace cli {

BoundaryRecorder::BoundaryRecorder(const tg::Dataset& train, std::size_t first_epoch, std::size_t last_epoch)
    : train_(train) {
  if (train.features != 2)
    throw tg::ValueError(fmt::format("--boundary draws classifiers of 2-D points; this data has {} features per row "
                                     "(try --data spiral, moons, circles or xor)",
                                     train.features));
  float low[2] = {INFINITY, INFINITY}, high[2] = {-INFINITY, -INFINITY};
  for (std::size_t i = 0; i < train.rows; ++i)
    for (std::size_t j = 0; j < 2; ++j)
      low[j] = std::min(low[j], train.feature(i, j)), high[j] = std::max(high[j], train.feature(i, j));
  grid_.name = "boundary grid";
  grid_.features = 2;
  grid_.classes = train.classes;
  grid_.rows = side_ * side_;
  for (std::size_t r = 0; r < side_; ++r)
    for (std::size_t c = 0; c < side_; ++c) {
      for (std::size_t j = 0; j < 2; ++j) {
        const float margin = 0.1f * (high[j] - low[j]);
        const std::size_t k = j == 0 ? c : r;
        grid_.values.push_back(low[j] - margin + (high[j] - low[j] + 2 * margin) * float(k) / float(side_ - 1));
      }
      grid_.labels.push_back(0);
    }
  // up to six panels, evenly over the epochs this run trains, the last one included
  const std::size_t count = last_epoch - first_epoch;
  for (std::size_t k = 0; k < std::min<std::size_t>(6, count); ++k)
    epochs_.push_back(first_epoch + 1 +
                      (count <= 6 ? k : std::size_t(std::llround(double(k) * double(count - 1) / 5.0))));
}

template <class T>
void BoundaryRecorder::after_epoch(tg::Module<T>& model, std::size_t epoch) {
  if (std::find(epochs_.begin(), epochs_.end(), epoch) == epochs_.end()) return;
  drawn_.emplace_back(epoch, tg::predict(model, grid_));
}
template void BoundaryRecorder::after_epoch(tg::Module<float>&, std::size_t);
template void BoundaryRecorder::after_epoch(tg::Module<double>&, std::size_t);

std::string BoundaryRecorder::write(const std::string& out, const std::string& title) const {
  std::string csv = "epoch,x,y,class\n", regions, points;
  for (const auto& [epoch, classes] : drawn_) {
    for (std::size_t i = 0; i < grid_.rows; ++i) {
      const float x = grid_.values[2 * i], y = grid_.values[2 * i + 1];
      csv += fmt::format("{},{:.6g},{:.6g},{}\n", epoch, x, y, classes[i]);
      regions += fmt::format("{:.9g} {:.9g} {}\n", x, y, classes[i]);
      if ((i + 1) % side_ == 0) regions += "\n";
    }
    regions += "\n";
  }
  static const unsigned strong[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                    0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  for (std::size_t i = 0; i < train_.rows; ++i)  // x, y, class, the class's colour as gnuplot's rgb integer
    points += fmt::format("{:.9g} {:.9g} {} {}\n", train_.feature(i, 0), train_.feature(i, 1), train_.labels[i],
                          strong[train_.labels[i] % 10]);
  write_text(output_path(out, "boundary.csv"), csv);
  write_text(output_path(out, "boundary_regions.dat"), regions);
  write_text(output_path(out, "boundary_points.dat"), points);
  const std::size_t panels = drawn_.size(), cols = std::min<std::size_t>(3, panels),
                    rows = (panels + cols - 1) / cols;
  static const char* light[] = {"#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
                                "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};
  const auto palette = [&](const char* const* colors) {
    std::string p = "set palette defined (";
    for (std::size_t c = 0; c < train_.classes; ++c) p += fmt::format("{}{} '{}'", c ? ", " : "", c, colors[c % 10]);
    return p + ")\n";
  };
  std::string gp = fmt::format("set terminal pngcairo size {},{} font ',10'\nset output ARG1\nunset colorbox\n"
                               "unset key\nset size ratio -1\nset cbrange [0:{}]\nset palette maxcolors {}\n",
                               360 * cols, 340 * rows + 40, std::max<std::size_t>(1, train_.classes - 1),
                               train_.classes);
  gp += fmt::format("set multiplot layout {},{} title {} noenhanced\n", rows, cols, gnuplot_string(title));
  for (std::size_t k = 0; k < panels; ++k) {
    gp += fmt::format("set title 'epoch {}'\n", drawn_[k].first);
    gp += "set autoscale xfix\nset autoscale yfix\n" + palette(light);
    gp += fmt::format("plot ARG2 index {} using 1:2:3 with image, ARG3 using 1:2:4 with points pt 7 ps 0.6 lc rgb "
                      "variable, ARG3 using 1:2 with points pt 6 ps 0.6 lc rgb '#000000'\n",
                      k);
  }
  gp += "unset multiplot\n";
  const std::string png = output_path(out, "boundary.png");
  render_png(output_path(out, "boundary.gp"), gp, png,
             {output_path(out, "boundary_regions.dat"), output_path(out, "boundary_points.dat")});
  return png;
}

}  // namespace cli
