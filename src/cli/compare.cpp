// `tapegrad compare`: the same network, initial weights and batches under each optimizer; and `--function`,
// the book's 2-D comparison on f(x, y) = x^2/20 + y^2.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/parallel.hpp"
#include "cli/processes.hpp"
#include "cli/progress.hpp"
#include "support/curves.hpp"
#include "support/descend.hpp"

namespace cli {
namespace {

const char* const kColors[] = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f"};

// The book's optimizer_compare_mnist.py: SGD, Momentum, AdaGrad and Adam at their default settings.
const std::vector<std::string> kDefaultOptimizers{"sgd", "momentum", "adagrad", "adam"};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::vector<tg::OptimizerSpec> parse_specs(const std::vector<std::string>& texts) {
  std::vector<tg::OptimizerSpec> specs;
  for (const std::string& t : texts) specs.push_back(tg::OptimizerSpec::parse(t));
  return specs;
}

struct Run {
  std::string label;
  tg::History history;
  std::vector<double> smoothed;
  double seconds_per_epoch = 0;
};

std::string loss_csv(const std::vector<Run>& runs) {
  std::string csv = "iteration";
  for (const Run& r : runs) csv += "," + quoted(r.label + " loss") + "," + quoted(r.label + " smoothed");
  csv += "\n";
  std::size_t n = 0;
  for (const Run& r : runs) n = std::max(n, r.history.loss.size());
  for (std::size_t i = 0; i < n; ++i) {
    csv += std::to_string(i + 1);
    for (const Run& r : runs)
      csv += i < r.history.loss.size() ? fmt::format(",{:.6g},{:.6g}", r.history.loss[i], r.smoothed[i]) : ",,";
    csv += "\n";
  }
  return csv;
}

// The script holds no user text: the PNG is ARG1, the CSV ARG2, the title ARG3 (paths and the data folder's
// name reach gnuplot as values, never as code); labels are the program's own, quoted.
std::string loss_plot_script(const std::vector<Run>& runs) {
  std::string gp =
      "set terminal pngcairo size 1000,640 font ',11'\nset output ARG1\nset datafile separator ','\n"
      "set title ARG3 noenhanced\nset xlabel 'iteration'\nset ylabel 'training loss (smoothed; raw behind)'\n"
      "set yrange [0:2.5]\nset grid\nset key top right noenhanced\nplot ";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    gp += fmt::format("{}ARG2 using 1:{} with lines lc rgb '#C8{}' notitle, \\\n     ARG2 using 1:{} with lines lw 2.5 "
                      "lc rgb '#{}' title {}",
                      i ? ", \\\n     " : "", 2 * i + 2, color, 2 * i + 3, color, gnuplot_string(runs[i].label));
  }
  return gp + "\n";
}

// Everything a comparison shows, written again after each finished run: Ctrl-C or a failure in a later run
// keeps the table and curves of the runs before it.
struct CompareOutputs {
  std::string table_path, csv_path;
  double threshold;
  std::string write(const std::vector<Run>& runs) const {
    std::vector<std::vector<std::string>> rows;
    for (const Run& r : runs) {
      const long below = tg::support::first_below(r.smoothed, threshold);
      rows.push_back({r.label, fmt::format("{:.4f}", r.history.epochs.back().train_loss),
                      fmt::format("{:.2f}%", 100 * r.history.epochs.back().test_accuracy),
                      fmt::format("{:.2f}", r.seconds_per_epoch), below < 0 ? "never" : std::to_string(below + 1)});
    }
    if (runs.empty()) {
      write_text(table_path, "no run has finished yet\n");
      write_text(csv_path, "iteration\n");
      return "";
    }
    const std::string text = table(
        {"optimizer", "final train loss", "test accuracy", "s/epoch", fmt::format("iter: loss < {:g}", threshold)}, rows);
    write_text(table_path, text);
    write_text(csv_path, loss_csv(runs));
    return text;
  }
};

// What one run prints (its header and a line per epoch), written by the run's thread and printed by the main
// thread, so that output keeps the order of the runs whatever the number of jobs.
class RunLog {
 public:
  void append(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    text_ += text;
  }
  std::string take_new() {  // what was appended since the last call
    std::lock_guard<std::mutex> lock(mutex_);
    std::string fresh = text_.substr(taken_);
    taken_ = text_.size();
    return fresh;
  }
  std::string all() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
  std::size_t taken_ = 0;
};

template <class T>
Run train_one(const RunOptions& run, const tg::TrainTest& data, const tg::OptimizerSpec& spec, RunLog& log,
              OverallProgress& progress, const std::function<bool()>& should_stop) {
  const tg::NetSpec net_spec = run.net(data.train.sample_shape(), data.train.classes);
  tg::Rng rng(run.seed);  // the same initial weights for every optimizer
  auto net = tg::make_network<T>(net_spec, rng);
  auto optimizer = tg::make_optimizer<T>(spec, net->parameters());
  log.append(fmt::format("== {} on {} ({})\n", optimizer->describe(), net_spec.str(), sizeof(T) == 4 ? "float" : "double"));
  tg::TrainerOptions options;
  options.epochs = run.epochs;
  options.batch_size = run.batch;
  options.seed = run.seed;  // the same batches for every optimizer
  options.evaluate_train = false;
  options.progress = tg::TrainerOptions::Progress::Quiet;  // the lines go to the log, the bar is the comparison's
  options.should_stop = [&should_stop] { return interrupted() || should_stop(); };
  options.after_step = [&progress] { progress.step(); };
  run.set_training(options);
  tg::Trainer<T> trainer(*net, *optimizer, options);
  trainer.add_callback([&](const tg::EpochStats& e, const tg::History&) {
    log.append(fmt::format("epoch {:>2}/{}  loss {:.4f}  test acc {:.4f}  {:.2f} s\n", e.epoch, run.epochs,
                           e.train_loss, e.test_accuracy, e.seconds));
    if (run.grad_norms) {
      std::string line = "grad norms:";
      for (const auto& [name, p] : net->named_parameters())
        line += fmt::format("  {} {:.4g}", name, tg::gradient_norm(std::vector<tg::Parameter<T>*>{p}));
      log.append(line + "\n");
    }
    return true;
  });
  Run r;
  r.label = optimizer->describe();
  r.history = trainer.fit(data.train, &data.test);
  for (const tg::EpochStats& e : r.history.epochs) r.seconds_per_epoch += e.seconds / double(r.history.epochs.size());
  return r;
}

// A run as bytes, to send from the process that trained it to process 0 (same machine type: raw doubles).
struct Packer {
  std::string bytes;
  template <class V>
  void value(const V& v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void text(const std::string& t) {
    value(t.size());
    bytes += t;
  }
};
struct Unpacker {
  const std::string& bytes;
  std::size_t at = 0;
  template <class V>
  V value() {
    V v{};
    if (at + sizeof v > bytes.size()) throw tg::CommunicationError("compare: a run's results arrived truncated");
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string text() {
    const auto n = value<std::size_t>();
    if (n > bytes.size() - at) throw tg::CommunicationError("compare: a run's results arrived truncated");
    at += n;
    return bytes.substr(at - n, n);
  }
};

void pack(Packer& p, std::size_t index, const Run& r, const std::string& log) {
  p.value(index);
  p.text(r.label);
  p.text(log);
  p.value(r.seconds_per_epoch);
  p.value(r.history.loss.size());
  for (double l : r.history.loss) p.value(l);
  p.value(r.history.epochs.size());
  for (const tg::EpochStats& e : r.history.epochs) p.value(e);
}

std::size_t unpack(Unpacker& u, Run& r, std::string& log) {
  const auto index = u.value<std::size_t>();
  r.label = u.text();
  log = u.text();
  r.seconds_per_epoch = u.value<double>();
  r.history.loss.resize(u.value<std::size_t>());
  for (double& l : r.history.loss) l = u.value<double>();
  r.history.epochs.resize(u.value<std::size_t>());
  for (tg::EpochStats& e : r.history.epochs) e = u.value<tg::EpochStats>();
  return index;
}

}  // namespace

int compare_networks(const RunOptions& run, const std::vector<std::string>& optimizers, double threshold,
                     std::size_t jobs, Processes& processes) {
  const std::vector<tg::OptimizerSpec> specs = parse_specs(optimizers.empty() ? kDefaultOptimizers : optimizers);
  tg::TrainTest data;
  processes.all_or_none([&] {
    run.check_net();  // the network options before spending time on the data
    if (processes.root()) tg::prepare_output_folder(run.out);  // before any training: not found out at its end
    data = run.load();
  });
  const std::string described = run.net(data.train.sample_shape(), data.train.classes).str();
  // Run i is trained by process i mod N; each process runs its share `jobs` at a time, one thread each.
  std::vector<std::size_t> mine;
  for (std::size_t i = processes.rank(); i < specs.size(); i += processes.size()) mine.push_back(i);
  if (jobs == 0) jobs = std::max<std::size_t>(1, available_cores() / processes.local_size());
  if (jobs > 1) tg::set_blas_threads(1);
  if (processes.root()) {
    fmt::print("data: {} ({} training, {} test images)\nread: {}\n", run.data, data.train.rows, data.test.rows,
               files_read(data));
    fmt::print("{} runs of {} epochs, {} at a time{}\n", specs.size(), run.epochs, std::min(jobs, mine.size()),
               processes.distributed() ? fmt::format(" on each of {} processes", processes.size()) : "");
    std::fflush(stdout);
  }
  const CompareOutputs outputs{output_path(run.out, "compare_table.txt"), output_path(run.out, "compare_loss.csv"),
                               threshold};
  const std::size_t steps_per_run = run.epochs * ((data.train.rows + run.batch - 1) / run.batch);
  OverallProgress progress(mine.size() * steps_per_run, mine.size(), processes.root());
  std::vector<RunLog> logs(mine.size());
  std::vector<Run> trained(mine.size());
  std::vector<Run> runs;  // process 0, one process: the finished runs, in order
  if (processes.root() && !processes.distributed()) outputs.write(runs);  // no stale table from an earlier run
  const auto task = [&](std::size_t k, const std::function<bool()>& should_stop) {
    const tg::OptimizerSpec& spec = specs[mine[k]];
    trained[k] = run.use_double ? train_one<double>(run, data, spec, logs[k], progress, should_stop)
                                : train_one<float>(run, data, spec, logs[k], progress, should_stop);
  };
  std::size_t live = 0;  // the run whose lines are printed as they come (one process only)
  const auto print_live = [&] {
    if (processes.distributed() || live >= mine.size()) return;
    const std::string fresh = logs[live].take_new();
    if (!fresh.empty()) progress.print(fresh);
  };
  const auto finished = [&](std::size_t k) {
    progress.run_done();
    if (processes.distributed()) return;
    print_live();
    ++live;
    trained[k].smoothed = tg::support::smooth_curve(trained[k].history.loss);
    runs.push_back(std::move(trained[k]));
    outputs.write(runs);  // after each run: Ctrl-C or a failure later keeps this one
  };
  try {
    run_in_order(mine.size(), jobs, task, finished, [&] {
      print_live();
      progress.draw();
    });
  } catch (const tg::Interrupted&) {
    progress.clear();
    if (processes.distributed()) throw;
    throw tg::Interrupted(fmt::format("interrupted; the finished runs are kept in {} and {}", outputs.table_path,
                                      outputs.csv_path));
  }
  progress.clear();
  if (processes.distributed()) {
    Packer packed;
    for (std::size_t k = 0; k < mine.size(); ++k) pack(packed, mine[k], trained[k], logs[k].all());
    const std::vector<std::string> parts = processes.gather(packed.bytes);
    if (!processes.root()) return 0;
    std::vector<Run> all(specs.size());
    std::vector<std::string> all_logs(specs.size());
    for (const std::string& part : parts)
      for (Unpacker u{part}; u.at < part.size();) {
        Run r;
        std::string log;
        const std::size_t index = unpack(u, r, log);
        if (index >= specs.size()) throw tg::CommunicationError("compare: a run's results arrived with a bad index");
        all[index] = std::move(r);
        all_logs[index] = std::move(log);
      }
    for (std::size_t i = 0; i < specs.size(); ++i) {
      fmt::print("{}", all_logs[i]);
      all[i].smoothed = tg::support::smooth_curve(all[i].history.loss);
    }
    runs = std::move(all);
  }
  fmt::print("\n{}", outputs.write(runs));
  fmt::print("\ntable: {}\ncurves: {}\n", outputs.table_path, outputs.csv_path);
  const std::string png = output_path(run.out, "compare_loss.png");
  render_png(output_path(run.out, "compare_loss.gp"), loss_plot_script(runs), png,
             {outputs.csv_path, fmt::format("{} on {}, batch {}, seed {}", described,
                                            std::filesystem::path(run.data).filename().string(), run.batch, run.seed)});
  fmt::print("plot:  {}\n", png);
  return 0;
}

int compare_function(const std::vector<std::string>& optimizers, bool all, int steps, const std::string& out) {
  const std::vector<tg::OptimizerSpec> specs =
      optimizers.empty() ? tg::support::book_bowl_optimizers(all) : parse_specs(optimizers);
  tg::prepare_output_folder(out);
  std::vector<std::vector<tg::support::Point2>> paths;
  std::vector<std::vector<std::string>> rows;
  for (const tg::OptimizerSpec& spec : specs) {
    paths.push_back(tg::support::descend(spec, tg::support::book_bowl, tg::support::kBookStart, steps));
    const tg::support::Point2 end = paths.back().back();
    rows.push_back({spec.str(), fmt::format("{:.10g}", end[0]), fmt::format("{:.10g}", end[1]),
                    fmt::format("{:.6g}", tg::support::book_bowl_value(end))});
  }
  fmt::print("f(x, y) = x^2/20 + y^2 from (-7, 2), {} steps\n\n", steps);
  const std::string text = table({"optimizer", "x", "y", "f(x, y)"}, rows);
  fmt::print("{}", text);
  write_text(output_path(out, "function_table.txt"), text);

  const std::string csv = output_path(out, "function_paths.csv");
  std::string data = "optimizer,step,x,y\n";
  for (std::size_t i = 0; i < specs.size(); ++i)
    for (std::size_t s = 0; s < paths[i].size(); ++s)
      data += fmt::format("{},{},{:.17g},{:.17g}\n", quoted(specs[i].str()), s, paths[i][s][0], paths[i][s][1]);
  write_text(csv, data);
  // gnuplot reads the paths as blocks, one per optimizer
  const std::string blocks = output_path(out, "function_paths.dat");
  std::string dat;
  for (const auto& path : paths) {
    for (const tg::support::Point2& p : path) dat += fmt::format("{:.17g} {:.17g}\n", p[0], p[1]);
    dat += "\n\n";
  }
  write_text(blocks, dat);

  // One panel per optimizer: contours of f with the path over them, as the book's figure. The PNG is ARG1 and
  // the paths ARG2: no path is written into the script.
  const std::size_t cols = specs.size() <= 4 ? 2 : 3;
  const std::size_t plot_rows = (specs.size() + cols - 1) / cols;
  std::string gp = fmt::format("set terminal pngcairo size {},{} font ',10'\n", 480 * cols, 400 * plot_rows);
  gp += "set output ARG1\n"
        "f(x, y) = x**2/20 + y**2\nset xrange [-10:10]\nset yrange [-5:5]\n"
        // contour lines of f, computed once into a table, then drawn as plain lines under each path
        "set contour base\nset cntrparam levels discrete 0.25, 1, 2.5, 5, 10, 20\nunset surface\nset view map\n"
        "set isosamples 100\nset table $contours\nsplot f(x, y)\nunset table\nunset contour\n"
        "unset key\nset grid\n";
  gp += fmt::format("set multiplot layout {},{}\n", plot_rows, cols);
  for (std::size_t i = 0; i < specs.size(); ++i)
    gp += fmt::format("set title {} noenhanced\n", gnuplot_string(specs[i].str())) +
          fmt::format("plot $contours using 1:2 with lines lc rgb '#B0B0B0', ARG2 index {} using 1:2 with linespoints "
                      "pt 7 ps 0.6 lw 1.5 lc rgb '#d62728', '-' using 1:2 with points pt 1 ps 2.5 lw 2 lc rgb 'black'\n"
                      "0 0\ne\n",
                      i);
  gp += "unset multiplot\n";
  fmt::print("\ntable: {}\npaths: {}\n", output_path(out, "function_table.txt"), csv);
  const std::string png = output_path(out, "function_paths.png");
  render_png(output_path(out, "function_paths.gp"), gp, png, {blocks});
  fmt::print("plot:  {}\n", png);
  return 0;
}

}  // namespace cli
