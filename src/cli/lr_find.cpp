// `tapegrad lr-find`: the learning-rate range test (Smith; fastai's lr_find) on the network the options build:
// the loss against an exponentially growing rate, as a table, a CSV and a plot, and the rate it suggests.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/output.hpp"

namespace cli {
namespace {

// The raw and smoothed loss against the rate (log scale), with the minimum and the suggestion marked. ARG1 is
// the PNG and ARG2 the data: no path is written into the script.
std::string plot_script(const tg::LrRangeResult& r, double top) {
  std::string gp = "set terminal pngcairo size 800,500 font ',10'\nset output ARG1\nset logscale x\nset grid\n"
                   "set format x '%g'\nset xlabel 'learning rate (log scale)'\nset ylabel 'loss'\nset key top left\n";
  gp += fmt::format("set yrange [*:{:.6g}]\n", top);
  gp += fmt::format("set arrow from {0:.6g}, graph 0 to {0:.6g}, graph 1 nohead dt 2 lc rgb '#2ca02c'\n", r.minimum_lr);
  gp += fmt::format("set arrow from {0:.6g}, graph 0 to {0:.6g}, graph 1 nohead lw 2 lc rgb '#d62728'\n",
                    r.suggested_lr);
  gp += fmt::format("set title {} noenhanced\n",
                    gnuplot_string(fmt::format("suggested lr {:.3g}: {}", r.suggested_lr, r.rule)));
  gp += "plot ARG2 using 1:2 with lines lc rgb '#B0B0B0' title 'loss of each batch', "
        "ARG2 using 1:3 with lines lw 2 lc rgb '#1f77b4' title 'smoothed loss', "
        "NaN with lines dt 2 lc rgb '#2ca02c' title 'minimum of the smoothed loss', "
        "NaN with lines lw 2 lc rgb '#d62728' title 'suggested rate'\n";
  return gp;
}

template <class T>
int lr_find_as(const RunOptions& run, const tg::OptimizerSpec& spec, const tg::LrRangeOptions& options) {
  tg::prepare_output_folder(run.out);
  const tg::TrainTest data = run.load();
  const tg::NetSpec net_spec = run.net(data.train.sample_shape(), data.train.classes);
  tg::Rng rng(run.seed);
  auto net = tg::make_network<T>(net_spec, rng);
  auto optimizer = tg::make_optimizer<T>(spec, net->parameters());
  run.scope_decay(*optimizer);
  fmt::print("{} on {} ({} training images)\n{}\n", net_spec.str(), run.data, data.train.rows, optimizer->describe());
  fmt::print("rates from {:g} to {:g}, {} steps, one batch of {} each\n", options.start, options.end, options.steps,
             options.batch);
  const tg::LrRangeResult r = tg::lr_range_test(*net, *optimizer, data.train, options);

  std::string csv = "lr,loss,smoothed loss\n", dat;
  for (const tg::LrRangePoint& p : r.points) {
    csv += fmt::format("{:.6g},{:.6g},{:.6g}\n", p.lr, p.loss, p.smoothed_loss);
    dat += fmt::format("{:.17g} {:.17g} {:.17g}\n", p.lr, p.loss, p.smoothed_loss);
  }
  // every tenth point, and the last, as a table
  std::vector<std::vector<std::string>> rows;
  const std::size_t every = std::max<std::size_t>(1, r.points.size() / 10);
  for (std::size_t i = 0; i < r.points.size(); ++i)
    if (i % every == 0 || i + 1 == r.points.size())
      rows.push_back({fmt::format("{:.3g}", r.points[i].lr), fmt::format("{:.4f}", r.points[i].loss),
                      fmt::format("{:.4f}", r.points[i].smoothed_loss)});
  const std::string text = table({"lr", "loss", "smoothed loss"}, rows);
  const std::string verdict =
      fmt::format("{} rates tried{}; the smoothed loss is lowest at lr {:.3g}\nsuggested lr {:.3g}: {}\n",
                  r.points.size(),
                  r.stopped_early ? fmt::format(", stopped at lr {:.3g} where the loss diverged", r.points.back().lr)
                                  : "",
                  r.minimum_lr, r.suggested_lr, r.rule);
  fmt::print("\n{}\n{}", text, verdict);
  tg::OptimizerSpec chosen = spec;
  chosen.options.lr = std::stod(fmt::format("{:.3g}", r.suggested_lr));
  fmt::print("to train at it: tapegrad train --opt {}\n", chosen.str());

  write_text(output_path(run.out, "lr_find.txt"), text + "\n" + verdict);
  write_text(output_path(run.out, "lr_find.csv"), csv);
  const std::string points = output_path(run.out, "lr_find.dat");
  write_text(points, dat);
  // the plot's top: a little above the loss where the test started, so a diverging tail does not flatten it
  double top = 0;
  for (const tg::LrRangePoint& p : r.points)
    if (std::isfinite(p.smoothed_loss)) top = std::max(top, p.smoothed_loss);
  top = std::min(top, 1.5 * r.points.front().smoothed_loss);
  const std::string png = output_path(run.out, "lr_find.png");
  render_png(output_path(run.out, "lr_find.gp"), plot_script(r, top), png, {points});
  fmt::print("\ntable: {}\ncurve: {}\nplot:  {}\n", output_path(run.out, "lr_find.txt"),
             output_path(run.out, "lr_find.csv"), png);
  return 0;
}

}  // namespace

int lr_find(const RunOptions& run, const std::string& optimizer, const tg::LrRangeOptions& options) {
  const tg::OptimizerSpec spec = tg::OptimizerSpec::parse(optimizer);
  if (tg::make_optimizer<double>(spec, {})->needs_closure())
    throw tg::ValueError(fmt::format("lr-find: {} searches its own step along each direction (a line search), so its "
                                     "rate is not the step a range test varies; use a first-order optimizer",
                                     spec.name));
  check_decay_scope(run.decay_scope, spec, spec.str());
  if (!(std::isfinite(options.start) && options.start > 0) || !std::isfinite(options.end) ||
      !(options.end > options.start))
    throw tg::ValueError(fmt::format("lr-find: --start {:g} and --end {:g} must be finite, with 0 < start < end",
                                     options.start, options.end));
  if (!(std::isfinite(options.divisor) && options.divisor >= 1))
    throw tg::ValueError(fmt::format("lr-find: --divisor {:g} must be a finite number of at least 1", options.divisor));
  run.check_net();  // the options, before the data is read
  tg::LrRangeOptions checked = options;
  checked.batch = run.batch;
  checked.seed = run.seed;
  return run.use_double ? lr_find_as<double>(run, spec, checked) : lr_find_as<float>(run, spec, checked);
}

}  // namespace cli
