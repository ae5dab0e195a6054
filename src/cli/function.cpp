// `tapegrad compare --function [SURFACE]`: optimizers on a function of two variables (the book's
// optimizer_compare_naive.py and harder surfaces), each path drawn over the surface's contours.
#include <cmath>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "support/descend.hpp"

namespace cli {
namespace {

std::string point_text(const tg::support::Point2& p) { return fmt::format("({:g}, {:g})", p[0], p[1]); }

// One panel per optimizer: the surface's contours with the path over them and its marked point, as the book's
// figure. The PNG is ARG1 and the paths ARG2: no path is written into the script; the rest is the program's text.
std::string paths_plot_script(const tg::support::Surface& s, const std::vector<tg::OptimizerSpec>& specs, int steps) {
  const std::size_t cols = specs.size() <= 4 ? 2 : 3;
  const std::size_t rows = (specs.size() + cols - 1) / cols;
  std::string gp = fmt::format("set terminal pngcairo size {},{} font ',10'\nset output ARG1\n", 480 * cols, 400 * rows);
  gp += fmt::format("f(x, y) = {}\nset xrange [{}:{}]\nset yrange [{}:{}]\n", s.gnuplot, s.view[0], s.view[1],
                    s.view[2], s.view[3]);
  // contour lines of f, computed once into a table, then drawn as plain lines under each path
  gp += fmt::format("set contour base\nset cntrparam levels discrete {}\nunset surface\nset view map\n"
                    "set isosamples 150\nset table $contours\nsplot f(x, y)\nunset table\nunset contour\n"
                    "unset key\nset grid\n",
                    s.contour_levels);
  gp += fmt::format("set multiplot layout {},{} title {} noenhanced\n", rows, cols,
                    gnuplot_string(fmt::format("f(x, y) = {} from {}, {} steps", s.formula, point_text(s.start), steps)));
  const int every = std::max(1, steps / 40);  // a point per step while they can be told apart
  for (const tg::OptimizerSpec& spec : specs) {
    const std::size_t i = &spec - specs.data();
    gp += fmt::format("set title {} noenhanced\n", gnuplot_string(spec.str()));
    gp += fmt::format("plot $contours using 1:2 with lines lc rgb '#B0B0B0', ARG2 index {} using 1:2 with linespoints "
                      "pt 7 ps 0.6 pi {} lw 1.5 lc rgb '#d62728', '-' using 1:2 with points pt 1 ps 2.5 lw 2 "
                      "lc rgb 'black'\n{} {}\ne\n",
                      i, every, s.marked[0], s.marked[1]);
  }
  return gp + "unset multiplot\n";
}

// What the Hessian at the start says about rates: its eigenvalues and, where the largest is positive, the rate
// 2/lambda_max above which plain gradient descent overshoots along that direction (|1 - lr lambda_max| > 1).
std::string curvature_text(const tg::support::Surface& s, const std::vector<tg::OptimizerSpec>& specs) {
  const tg::Tensor<double> h = tg::hessian<double>(s.f, tg::Tensor<double>({2}, {s.start[0], s.start[1]}));
  const tg::SymmetricEigen e = tg::symmetric_eigen({h[0], h[1], h[2], h[3]}, 2);
  const double top = e.values[1];
  std::string text = fmt::format("Hessian at the start: eigenvalues {:.6g} and {:.6g}", e.values[0], top);
  if (!(top > 0)) return text + ": no positive curvature there, so no rate is too large for gradient descent\n";
  const double limit = 2 / top;
  text += fmt::format("; gradient descent overshoots above lr = 2/lambda_max = {:.6g}\n", limit);
  for (const tg::OptimizerSpec& spec : specs)
    if (spec.name == "sgd" && spec.value("lr") > limit)
      text += fmt::format("  {}: lr {:g} > {:.6g}, so each step multiplies the distance along the steepest direction "
                          "by |1 - lr lambda_max| = {:.3g}: it diverges while the curvature stays like this\n",
                          spec.str(), spec.value("lr"), limit, std::abs(1 - spec.value("lr") * top));
  return text;
}

}  // namespace

int compare_function(const std::string& surface_name, const std::vector<std::string>& optimizers, bool all, int steps,
                     const std::string& out) {
  const tg::support::Surface& s = tg::support::surface(surface_name);
  std::vector<tg::OptimizerSpec> specs;
  for (const std::string& text : optimizers) specs.push_back(tg::OptimizerSpec::parse(text));
  if (specs.empty()) specs = tg::support::surface_optimizers(s, all);
  if (steps == 0) steps = s.steps;
  tg::prepare_output_folder(out);

  std::vector<tg::support::Descent> descents;
  bool any_diverged = false;
  for (const tg::OptimizerSpec& spec : specs) {
    descents.push_back(tg::support::descend(spec, s.f, s.start, steps));
    any_diverged = any_diverged || descents.back().diverged;
  }
  std::vector<std::vector<std::string>> rows;
  for (const tg::support::Descent& d : descents) {
    const tg::support::Point2 end = d.path.back();
    std::vector<std::string> row{specs[&d - descents.data()].str(), fmt::format("{:.10g}", end[0]),
                                 fmt::format("{:.10g}", end[1]), fmt::format("{:.6g}", d.values.back())};
    if (s.has_minimum) row.push_back(fmt::format("{:.3g}", std::hypot(end[0] - s.marked[0], end[1] - s.marked[1])));
    if (any_diverged) row.push_back(d.diverged ? fmt::format("overflowed after step {}", d.path.size() - 1) : "");
    rows.push_back(std::move(row));
  }
  fmt::print("f(x, y) = {} from {}, {} steps: {}\n", s.formula, point_text(s.start), steps, s.lesson);
  const std::string curvature = curvature_text(s, specs);
  fmt::print("{}\n", curvature);
  std::vector<std::string> header{"optimizer", "x", "y", "f(x, y)"};
  if (s.has_minimum) header.push_back(fmt::format("distance to the minimum {}", point_text(s.marked)));
  if (any_diverged) header.push_back("note (the path stops at its last finite point)");
  const std::string text = table(header, rows);
  fmt::print("{}", text);
  write_text(output_path(out, "function_table.txt"), curvature + "\n" + text);

  const std::string csv = output_path(out, "function_paths.csv");
  std::string data = "optimizer,step,x,y,f\n";
  std::string dat;  // gnuplot reads the paths as blocks, one per optimizer
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::vector<tg::support::Point2>& path = descents[i].path;
    for (std::size_t step = 0; step < path.size(); ++step)
      data += fmt::format("{},{},{:.17g},{:.17g},{:.17g}\n", csv_quoted(specs[i].str()), step, path[step][0],
                          path[step][1], descents[i].values[step]);
    for (const tg::support::Point2& p : path) dat += fmt::format("{:.17g} {:.17g}\n", p[0], p[1]);
    dat += "\n\n";
  }
  write_text(csv, data);
  const std::string blocks = output_path(out, "function_paths.dat");
  write_text(blocks, dat);
  fmt::print("\ntable: {}\npaths: {}\n", output_path(out, "function_table.txt"), csv);
  const std::string png = output_path(out, "function_paths.png");
  render_png(output_path(out, "function_paths.gp"), paths_plot_script(s, specs, steps), png, {blocks});
  fmt::print("plot:  {}\n", png);
  return 0;
}

}  // namespace cli
