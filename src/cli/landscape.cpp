// `tapegrad landscape`: the loss around a trained checkpoint along filter-normalised random directions (a 1-D
// slice and a 2-D plane), or the compared optimizers' trajectories on the plane of their main directions (PCA)
// over the loss there (Li et al. 2018). Tables go to CSV, pictures to PNG.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/output.hpp"

namespace cli {
namespace {

std::vector<double> evenly(double low, double high, std::size_t points) {
  std::vector<double> out;
  for (std::size_t i = 0; i < points; ++i) out.push_back(low + (high - low) * double(i) / double(points - 1));
  return out;
}

std::vector<tg::LandscapePoint> grid(const std::vector<double>& alphas, const std::vector<double>& betas) {
  std::vector<tg::LandscapePoint> points;
  for (const double beta : betas)
    for (const double alpha : alphas) points.push_back({alpha, beta, 0, 0});
  return points;
}

// gnuplot's grid format: one block of alphas per beta, blocks separated by a blank line.
std::string grid_data(const std::vector<tg::LandscapePoint>& points, std::size_t per_row) {
  std::string dat;
  for (std::size_t i = 0; i < points.size(); ++i) {
    dat += fmt::format("{:.17g} {:.17g} {:.17g}\n", points[i].alpha, points[i].beta, points[i].loss);
    if ((i + 1) % per_row == 0) dat += "\n";
  }
  return dat;
}

std::string grid_csv(const std::vector<tg::LandscapePoint>& points) {
  std::string csv = "alpha,beta,loss,accuracy\n";
  for (const tg::LandscapePoint& p : points)
    csv += fmt::format("{:.6g},{:.6g},{:.6g},{:.6g}\n", p.alpha, p.beta, p.loss, p.accuracy);
  return csv;
}

// The loss over the plane as colour (log10) with contour lines; ARG1 the PNG, ARG2 the grid, ARG3 (if any) the
// paths, a block per trajectory, labelled with the program's own text.
std::string plane_script(const std::string& title, const std::vector<std::string>& paths) {
  std::string gp = "set terminal pngcairo size 900,760 font ',10'\nset output ARG1\n"
                   "set contour base\nset cntrparam levels 15\nunset surface\nset table $contours\n"
                   "splot ARG2 using 1:2:(log10($3))\nunset table\nunset contour\nset surface\n"
                   "set view map\nset autoscale xfix\nset autoscale yfix\n"
                   "set xlabel 'first direction'\nset ylabel 'second direction'\n"
                   "set cblabel 'log10 loss'\nset colorbox user origin 0.9, 0.15 size 0.02, 0.7\n"
                   "set rmargin at screen 0.72\nset key at screen 0.99, 0.98 top right noenhanced\n";
  gp += fmt::format("set title {} noenhanced\n", gnuplot_string(title));
  gp += "splot ARG2 using 1:2:(log10($3)) with pm3d notitle, $contours using 1:2:3 with lines lc rgb '#FFFFFF' "
        "notitle";
  const char* colors[] = {"d62728", "1f77b4", "2ca02c", "ff7f0e", "9467bd", "8c564b", "e377c2", "17becf"};
  for (std::size_t i = 0; i < paths.size(); ++i)
    gp += fmt::format(", ARG3 index {} using 1:2:(0) with linespoints lw 2 pt 7 ps 0.8 lc rgb '#{}' title {}", i,
                      colors[i % std::size(colors)], gnuplot_string(paths[i]));
  return gp + "\n";
}

std::string slice_script(const std::string& title) {
  return fmt::format(
      "set terminal pngcairo size 800,500 font ',10'\nset output ARG1\nset grid\nset xlabel 'step along the "
      "direction (0: the checkpoint)'\nset ylabel 'loss'\nset y2label 'accuracy'\nset y2tics\nset ytics nomirror\n"
      "set key top center noenhanced\nset title {} noenhanced\n"
      "plot ARG2 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'loss', ARG2 using 1:3 axes x1y2 with lines lw 2 "
      "dt 2 lc rgb '#d62728' title 'accuracy'\n",
      gnuplot_string(title));
}

void check_range(const LandscapeArgs& a) {
  if (!(std::isfinite(a.range) && a.range > 0 && a.range <= 100))
    throw tg::ValueError(fmt::format("landscape: --range {:g} must be a number in (0, 100]", a.range));
}

template <class T>
int around_checkpoint(const LandscapeArgs& a, const tg::Checkpoint& checkpoint, const tg::NetSpec& spec,
                      const tg::Dataset& data) {
  tg::Rng init(0);
  auto net = tg::make_network<T>(spec, init);
  tg::load_checkpoint(checkpoint, *net);
  const std::vector<tg::Parameter<T>*> params = net->parameters();
  const tg::ParameterVector<T> center = tg::parameter_values(params);
  tg::Rng rng(a.run.seed);
  const tg::ParameterVector<T> d1 = tg::filter_normalized_direction(params, rng);
  const tg::ParameterVector<T> d2 = tg::filter_normalized_direction(params, rng);
  fmt::print("{}: {} around its weights on {} training rows, filter-normalised directions (seed {}), range +-{:g}\n",
             checkpoint.path(), spec.str(), data.rows, a.run.seed, a.range);

  const std::vector<double> alphas = evenly(-a.range, a.range, a.points);
  std::vector<tg::LandscapePoint> line;
  for (const double alpha : alphas) line.push_back({alpha, 0, 0, 0});
  line = tg::loss_at(*net, data, center, d1, {}, std::move(line));
  std::string csv = "alpha,loss,accuracy\n", dat;
  for (const tg::LandscapePoint& p : line) {
    csv += fmt::format("{:.6g},{:.6g},{:.6g}\n", p.alpha, p.loss, p.accuracy);
    dat += fmt::format("{:.17g} {:.17g} {:.17g}\n", p.alpha, p.loss, p.accuracy);
  }
  const tg::LandscapePoint& middle = line[line.size() / 2];
  const auto lowest = std::min_element(line.begin(), line.end(), [](auto& x, auto& y) { return x.loss < y.loss; });
  fmt::print("1-D: loss {:.4f} at the checkpoint, {:.4f} at -{:g} and {:.4f} at +{:g}; lowest {:.4f} at {:+.3g}\n",
             middle.loss, line.front().loss, a.range, line.back().loss, a.range, lowest->loss, lowest->alpha);
  write_text(output_path(a.run.out, "landscape_1d.csv"), csv);
  write_text(output_path(a.run.out, "landscape_1d.dat"), dat);
  render_png(output_path(a.run.out, "landscape_1d.gp"), slice_script(fmt::format("{} along one direction", spec.str())),
             output_path(a.run.out, "landscape_1d.png"), {output_path(a.run.out, "landscape_1d.dat")});

  const std::vector<double> axis = evenly(-a.range, a.range, a.grid);
  const std::vector<tg::LandscapePoint> plane = tg::loss_at(*net, data, center, d1, d2, grid(axis, axis));
  double highest = 0;
  for (const tg::LandscapePoint& p : plane) highest = std::max(highest, p.loss);
  fmt::print("2-D: {} x {} points, loss {:.4f} at the checkpoint, up to {:.4f} at the edges\n", a.grid, a.grid,
             plane[plane.size() / 2].loss, highest);
  write_text(output_path(a.run.out, "landscape_2d.csv"), grid_csv(plane));
  write_text(output_path(a.run.out, "landscape_2d.dat"), grid_data(plane, a.grid));
  render_png(output_path(a.run.out, "landscape_2d.gp"),
             plane_script(fmt::format("{} around its weights: two filter-normalised directions", spec.str()), {}),
             output_path(a.run.out, "landscape_2d.png"), {output_path(a.run.out, "landscape_2d.dat")});
  fmt::print("\n1-D: {}, {}\n2-D: {}, {}\n", output_path(a.run.out, "landscape_1d.csv"),
             output_path(a.run.out, "landscape_1d.png"), output_path(a.run.out, "landscape_2d.csv"),
             output_path(a.run.out, "landscape_2d.png"));
  return 0;
}

template <class T>
int trajectories(const LandscapeArgs& a, const std::vector<tg::OptimizerSpec>& specs) {
  const RunOptions& run = a.run;
  const tg::TrainTest data = run.load();
  const tg::Dataset rows = data.train.head(a.rows);
  const tg::NetSpec spec = run.net(data.train.sample_shape(), data.train.classes);
  std::vector<std::vector<tg::ParameterVector<T>>> paths;
  std::vector<std::string> labels;
  std::unique_ptr<tg::Sequential<T>> first;
  for (const tg::OptimizerSpec& o : specs) {
    tg::Rng rng(run.seed);  // the same initial weights for every optimizer
    auto net = tg::make_network<T>(spec, rng);
    auto optimizer = tg::make_optimizer<T>(o, net->parameters());
    run.scope_decay(*optimizer);
    tg::TrainerOptions options;
    options.epochs = run.epochs;
    options.batch_size = run.batch;
    options.seed = run.seed;  // the same batches for every optimizer
    options.progress = tg::TrainerOptions::Progress::Quiet;
    run.set_training(options);
    std::vector<tg::ParameterVector<T>> path{tg::parameter_values(net->parameters())};
    tg::Trainer<T> trainer(*net, *optimizer, options);
    trainer.add_callback([&](const tg::EpochStats& e, const tg::History&) {
      path.push_back(tg::parameter_values(net->parameters()));
      fmt::print("{}: epoch {}/{}  loss {:.4f}  test acc {:.4f}\n", optimizer->describe(), e.epoch, run.epochs,
                 e.train_loss, e.test_accuracy);
      return true;
    });
    trainer.fit(data.train, &data.test);
    paths.push_back(std::move(path));
    labels.push_back(o.str());
    if (!first) first = std::move(net);
  }
  // the plane through the first optimizer's end point, spanned by the main directions of every path
  const tg::ParameterVector<T> center = paths.front().back();
  const tg::TrajectoryPlane<T> plane = tg::trajectory_plane(paths, center);
  double low_a = 0, high_a = 0, low_b = 0, high_b = 0;
  for (const auto& path : plane.paths)
    for (const auto& [alpha, beta] : path)
      low_a = std::min(low_a, alpha), high_a = std::max(high_a, alpha), low_b = std::min(low_b, beta),
      high_b = std::max(high_b, beta);
  const double margin_a = 0.2 * (high_a - low_a), margin_b = 0.2 * (high_b - low_b);
  const std::vector<double> alphas = evenly(low_a - margin_a, high_a + margin_a, a.grid),
                            betas = evenly(low_b - margin_b, high_b + margin_b, a.grid);
  const std::vector<tg::LandscapePoint> surface =
      tg::loss_at(*first, rows, center, plane.d1, plane.d2, grid(alphas, betas));
  fmt::print("\nthe plane of the paths' two main directions holds {:.1f}% of their squared distance from {}'s end\n",
             100 * plane.explained, labels.front());
  std::string csv = "optimizer,epoch,alpha,beta\n", dat;
  std::vector<std::vector<std::string>> table_rows;
  for (std::size_t i = 0; i < plane.paths.size(); ++i) {
    for (std::size_t e = 0; e < plane.paths[i].size(); ++e) {
      csv += fmt::format("{},{},{:.6g},{:.6g}\n", csv_quoted(labels[i]), e, plane.paths[i][e].first,
                         plane.paths[i][e].second);
      dat += fmt::format("{:.17g} {:.17g}\n", plane.paths[i][e].first, plane.paths[i][e].second);
    }
    dat += "\n\n";
    const auto& end = plane.paths[i].back();
    table_rows.push_back({labels[i], fmt::format("{:.4g}", end.first), fmt::format("{:.4g}", end.second)});
  }
  fmt::print("{}", table({"optimizer", "end: first direction", "second direction"}, table_rows));
  write_text(output_path(a.run.out, "landscape_paths.csv"), csv);
  write_text(output_path(a.run.out, "landscape_paths.dat"), dat);
  write_text(output_path(a.run.out, "landscape_plane.csv"), grid_csv(surface));
  write_text(output_path(a.run.out, "landscape_plane.dat"), grid_data(surface, a.grid));
  const std::string png = output_path(a.run.out, "landscape_paths.png");
  render_png(output_path(a.run.out, "landscape_paths.gp"),
             plane_script(fmt::format("{}: the paths on the plane of their main directions ({:.1f}%)", spec.str(),
                                      100 * plane.explained),
                          labels),
             png, {output_path(a.run.out, "landscape_plane.dat"), output_path(a.run.out, "landscape_paths.dat")});
  fmt::print("\npaths: {}\nplane: {}\nplot:  {}\n", output_path(a.run.out, "landscape_paths.csv"),
             output_path(a.run.out, "landscape_plane.csv"), png);
  return 0;
}

}  // namespace

int landscape(const LandscapeArgs& a) {
  check_range(a);
  if (a.model.empty() == a.optimizers.empty())
    throw tg::ValueError("landscape: give --model CHECKPOINT (slices around it) or --opt SPEC... (their paths), "
                         "one of the two");
  if (!a.model.empty()) {
    tg::prepare_output_folder(a.run.out);
    const tg::Checkpoint checkpoint(a.model);  // read once: what is checked is what is loaded
    const auto meta = parse_metadata(checkpoint);
    const tg::NetSpec spec = spec_from(meta);
    tg::TrainTest d = load_data(a.run.data, recorded_seed(meta));
    if (spec.sample.numel() != d.train.features || spec.classes != d.train.classes)
      throw tg::ShapeError(fmt::format("landscape: the model takes {} features and gives {} classes; the data has {} "
                                       "and {}",
                                       spec.sample.numel(), spec.classes, d.train.features, d.train.classes));
    const tg::Dataset rows = d.train.head(a.rows);
    return meta.at("dtype") == "double" ? around_checkpoint<double>(a, checkpoint, spec, rows)
                                        : around_checkpoint<float>(a, checkpoint, spec, rows);
  }
  std::vector<tg::OptimizerSpec> specs;
  for (const std::string& text : a.optimizers) specs.push_back(tg::OptimizerSpec::parse(text));
  for (const tg::OptimizerSpec& s : specs) check_decay_scope(a.run.decay_scope, s, s.str());
  a.run.check_net();
  tg::prepare_output_folder(a.run.out);
  return a.run.use_double ? trajectories<double>(a, specs) : trajectories<float>(a, specs);
}

}  // namespace cli
