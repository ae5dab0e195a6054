// `tapegrad train` and `tapegrad eval`: one configuration, saved with its optimizer's state; accuracy and a
// confusion matrix from a saved model.
#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cli/boundary.hpp"
#include "cli/diagnostics.hpp"
#include "cli/common.hpp"
#include "cli/output.hpp"
#include "cli/pictures.hpp"
#include "cli/processes.hpp"

namespace cli {

std::map<std::string, std::string> parse_metadata(const std::string& path) { return parse_metadata(tg::Checkpoint(path)); }

std::map<std::string, std::string> parse_metadata(const tg::Checkpoint& checkpoint) {
  const std::string& path = checkpoint.path();
  const std::map<std::string, std::string> meta = checkpoint.fields();
  for (const char* key : {"activation", "init", "dtype", "optimizer"})
    if (!meta.count(key)) throw tg::DataError(fmt::format("{}: not saved by `tapegrad train` (no '{}')", path, key));
  if (!meta.count("sizes") && !(meta.count("net") && meta.count("sample") && meta.count("classes")))
    throw tg::DataError(fmt::format("{}: not saved by `tapegrad train` (no network: 'sizes' or 'net')", path));
  return meta;
}

namespace {
// A number in a checkpoint's metadata; DataError naming the field when it is not one (a crafted or damaged file).
double number_field(const std::map<std::string, std::string>& meta, const std::string& key) {
  const std::string& text = meta.at(key);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value))
    throw tg::DataError(fmt::format("checkpoint metadata: {}={} is not a number", key, text));
  return value;
}
std::uint64_t count_field(const std::map<std::string, std::string>& meta, const std::string& key) {
  const std::string& text = meta.at(key);
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw tg::DataError(fmt::format("checkpoint metadata: {}={} is not a whole number", key, text));
  return value;
}
}  // namespace

// Checkpoints of MLPs carry sizes=784-100-10 (as before layer lists existed); others net=, sample= and classes=.
tg::NetSpec spec_from(const std::map<std::string, std::string>& meta) {
  tg::NetSpec spec;
  spec.activation = tg::parse_activation(meta.at("activation"));
  spec.init = tg::Init::parse(meta.at("init"));
  // checkpoints from before these settings had neither
  spec.batchnorm = meta.count("batchnorm") && meta.at("batchnorm") == "1";
  if (meta.count("dropout")) spec.dropout = number_field(meta, "dropout");
  if (meta.count("net")) {
    spec.layers = meta.at("net");
    std::vector<std::size_t> dims;
    std::istringstream sample(meta.at("sample"));
    for (std::string d; std::getline(sample, d, 'x');) {
      const std::vector<std::size_t> extent = tg::parse_layer_sizes(d);
      if (extent.size() != 1) throw tg::DataError(fmt::format("sample={}: not a shape like 1x28x28", meta.at("sample")));
      dims.push_back(extent[0]);
    }
    spec.sample = tg::Shape(dims);
    spec.classes = tg::parse_layer_sizes(meta.at("classes")).at(0);
    return spec;
  }
  const std::vector<std::size_t> sizes = tg::parse_layer_sizes(meta.at("sizes"));
  if (sizes.size() < 2) throw tg::DataError(fmt::format("sizes={}: needs an input and an output size", meta.at("sizes")));
  spec.sample = tg::Shape{sizes.front()};
  spec.classes = sizes.back();
  spec.layers = sizes.size() == 2 ? "none" : fmt::format("{}", fmt::join(sizes.begin() + 1, sizes.end() - 1, "-"));
  return spec;
}

// The --net text in one spelling, so that "simple_conv" and its layers, or "100" and "0100", compare equal.
std::string normalized_net(const std::string& text) {
  tg::NetSpec spec;
  spec.layers = text;
  if (!spec.is_mlp()) return spec.layer_list();
  const std::vector<std::size_t> hidden = tg::parse_layer_sizes(text);
  return hidden.empty() ? "none" : fmt::format("{}", fmt::join(hidden, "-"));
}

namespace {

// The filters of the network's first convolution, or null when it has none.
template <class T>
const tg::Conv2D<T>* first_conv(tg::Sequential<T>& net) {
  for (const auto& [name, module] : net.named_modules())
    if (const auto* conv = dynamic_cast<const tg::Conv2D<T>*>(module)) return conv;
  return nullptr;
}

template <class T>
void draw_filters(tg::Sequential<T>& net, const std::string& folder, const std::string& name, const std::string& when) {
  const tg::Conv2D<T>* conv = first_conv(net);
  if (!conv) return;
  const std::string png = render_filters(conv->W.value.template cast<float>(), output_path(folder, name),
                                         fmt::format("{} filters, {}", conv->describe(), when));
  fmt::print("filters {}: {}\n", when, png);
}

// Train and test accuracy per epoch from train_history.csv (a resumed run's rows included): OUT/train_accuracy.png.
std::string draw_accuracy_curve(const std::string& history_csv, const std::string& folder, const std::string& title) {
  const std::string script =
      "set terminal pngcairo size 800,500 font ',10'\nset output ARG1\nset datafile separator ','\nset grid\n"
      "set xlabel 'epoch'\nset ylabel 'accuracy'\nset key bottom right\nset title ARG3 noenhanced\n"
      "plot ARG2 every ::1 using 1:3 with linespoints lw 2 title 'train', "
      "ARG2 every ::1 using 1:4 with linespoints lw 2 title 'test'\n";
  const std::string png = output_path(folder, "train_accuracy.png");
  render_png(output_path(folder, "train_accuracy.gp"), script, png, {history_csv, title});  // user text as ARGs
  return png;
}

const char* const kFashionClasses[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The metadata a checkpoint carries so that eval rebuilds the model and resume continues the run with no option
// repeated: "key=value" lines (the Trainer appends epochs_done and iteration).
std::string absolute(const std::string& path) { return std::filesystem::weakly_canonical(std::filesystem::absolute(path)).string(); }

std::string describe_run(const RunOptions& run, const tg::NetSpec& net, const std::string& optimizer,
                         const std::string& contents) {
  const std::string network =
      net.is_mlp() ? fmt::format("sizes={}", fmt::join(net.mlp().sizes, "-"))
                   : fmt::format("net={}\nsample={}\nclasses={}", net.layer_list(), fmt::join(net.sample.dims(), "x"),
                                 net.classes);
  return fmt::format(
      "{}\nactivation={}\ninit={}\nbatchnorm={}\ndropout={}\ndtype={}\noptimizer={}\ndata={}\ndata_contents={}\n"
      "limit={}\nbatch={}\nseed={}\nschedule={}\nclip={}\ndecay_scope={}\naugment={}\n",
      network, run.activation, run.init, run.batch_norm ? 1 : 0, run.dropout, run.use_double ? "double" : "float",
      optimizer, data_identity(run.data), contents, run.limit, run.batch, run.seed,
      tg::ScheduleSpec::parse(run.schedule).str(), run.clip.empty() ? "none" : tg::GradientClip::parse(run.clip).str(),
      run.decay_scope, tg::Augmentation::parse(run.augment).str());
}

// The run a checkpoint records, as options: what `train --resume` continues. An option the user gave that
// differs from the checkpoint is refused, naming both values.
RunOptions resumed_run(const std::string& path, const std::map<std::string, std::string>& meta, RunOptions run,
                       const std::set<std::string>& given, std::string& optimizer) {
  for (const char* key : {"data", "limit", "batch", "seed"})
    if (!meta.count(key))
      throw tg::DataError(fmt::format("{}: cannot be resumed: written by an older tapegrad (no '{}')", path, key));
  const std::string saved_net = normalized_net(spec_from(meta).layers);
  const auto conflict = [&](const char* option, const std::string& yours, const std::string& saved_value) {
    if (given.count(option) && yours != saved_value)
      throw tg::ValueError(fmt::format("{} {} conflicts with the checkpoint's {} ({}); leave it out to continue the run",
                                       option, yours, saved_value, path));
  };
  const auto same_path = [](const std::string& p) { return std::filesystem::weakly_canonical(p).string(); };
  conflict("--data", same_path(run.data), same_path(meta.at("data")));
  conflict("--limit", std::to_string(run.limit), meta.at("limit"));
  conflict("--net", normalized_net(run.hidden), saved_net);
  conflict("--activation", run.activation, meta.at("activation"));
  conflict("--init", tg::Init::parse(run.init).str(), tg::Init::parse(meta.at("init")).str());
  const tg::NetSpec saved_spec = spec_from(meta);
  conflict("--batch-norm", run.batch_norm ? "on" : "off", saved_spec.batchnorm ? "on" : "off");
  conflict("--dropout", fmt::format("{}", run.dropout), fmt::format("{}", saved_spec.dropout));
  run.batch_norm = saved_spec.batchnorm;
  run.dropout = saved_spec.dropout;
  conflict("--double", run.use_double ? "double" : "float", meta.at("dtype"));
  conflict("--batch", std::to_string(run.batch), meta.at("batch"));
  conflict("--seed", std::to_string(run.seed), meta.at("seed"));
  conflict("--opt", tg::OptimizerSpec::parse(optimizer).str(), tg::OptimizerSpec::parse(meta.at("optimizer")).str());
  // checkpoints from before schedules and clipping trained without them
  const std::string saved_schedule = meta.count("schedule") ? meta.at("schedule") : "constant";
  const std::string saved_clip = meta.count("clip") ? meta.at("clip") : "none";
  conflict("--schedule", tg::ScheduleSpec::parse(run.schedule).str(), saved_schedule);
  conflict("--clip", run.clip.empty() ? "none" : tg::GradientClip::parse(run.clip).str(), saved_clip);
  run.schedule = saved_schedule;
  run.clip = saved_clip == "none" ? "" : saved_clip;
  // checkpoints from before augmentation trained without it
  const std::string saved_augment = meta.count("augment") ? meta.at("augment") : "off";
  conflict("--augment", tg::Augmentation::parse(run.augment).str(), tg::Augmentation::parse(saved_augment).str());
  run.augment = saved_augment;
  // checkpoints from before decay scopes decayed every parameter
  const std::string saved_scope = meta.count("decay_scope") ? meta.at("decay_scope") : "all";
  if (saved_scope != "all" && saved_scope != "weights")
    throw tg::DataError(fmt::format("checkpoint metadata: decay_scope={} is not all or weights", saved_scope));
  conflict("--decay-scope", run.decay_scope, saved_scope);
  run.decay_scope = saved_scope;
  run.data = meta.at("data");
  run.limit = count_field(meta, "limit");
  run.hidden = saved_net;
  run.activation = meta.at("activation");
  run.init = meta.at("init");
  run.use_double = meta.at("dtype") == "double";
  run.batch = count_field(meta, "batch");
  run.seed = count_field(meta, "seed");
  optimizer = meta.at("optimizer");
  return run;
}

// The train_history.csv a resumed run continues: its rows up to iteration `iterations` (those of epochs the
// checkpoint holds), or only the header when there is none or it is not one of ours.
std::string history_until(const std::string& path, std::size_t epochs_done) {
  std::string kept = std::string(kEpochCsvColumns) + "\n";
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line != kEpochCsvColumns) return kept;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string epoch;
    std::getline(fields, epoch, ',');
    std::size_t e = 0;
    try {
      e = std::stoull(epoch);
    } catch (const std::exception&) {
      continue;
    }
    if (e <= epochs_done) kept += line + "\n";
  }
  return kept;
}

struct Resumed {
  std::string path;      // empty: a new run
  std::optional<tg::Checkpoint> checkpoint;  // read once: its metadata is checked and its tensors loaded
  tg::RunProgress done;  // whole epochs and steps it records
  std::string contents;  // its data's fingerprint; empty in checkpoints from before it was stored
};

template <class T>
int train_as(const RunOptions& run, const tg::OptimizerSpec& spec, const std::string& save, const Resumed& resumed,
             bool allow_changed_data, tg::Collective* data_parallel, Processes& processes) {
  const std::string& resume = resumed.path;
  // Where the checkpoint goes must be writable before any work starts.
  const std::string path = !save.empty() ? save : !resume.empty() ? resume : output_path(run.out, "model.tgckpt");
  tg::TrainTest data;
  std::unique_ptr<tg::Sequential<T>> net;
  std::unique_ptr<tg::Optimizer<T>> optimizer;
  const std::size_t done = resumed.done.epochs_done;
  std::string contents;
  // Every process reads the data (and the checkpoint it resumes); if one cannot, all stop, naming it.
  processes.all_or_none([&] {
    if (std::filesystem::is_directory(path))
      throw tg::DataError(fmt::format("{}: is a folder; --save needs a file path (e.g. {})", path,
                                      output_path(path, "model.tgckpt")));
    tg::output_target(path);  // a device node (/dev/null too), FIFO or socket is refused, before any work
    if (processes.root()) {
      const std::filesystem::path save_folder = std::filesystem::path(path).parent_path();
      tg::prepare_output_folder(save_folder.empty() ? "." : save_folder.string());
      tg::prepare_output_folder(run.out);  // the filters' pictures of a conv net
      if (run.diagnose)
        for (const std::string& name : diagnostics_files()) tg::output_target(output_path(run.out, name));
    }
    data = run.load();
    contents = data_contents(data);
    if (!resume.empty() && !resumed.contents.empty() && resumed.contents != contents && !allow_changed_data)
      throw tg::DataError(fmt::format(
          "{}: the data in {} changed since the checkpoint was written (then: {}; now: {}); resuming would train "
          "on other data. Give --allow-changed-data to continue on purpose",
          resume, run.data, resumed.contents, contents));
    tg::Rng rng(run.seed);
    net = tg::make_network<T>(run.net(data.train.sample_shape(), data.train.classes), rng);
    optimizer = tg::make_optimizer<T>(spec, net->parameters());
    run.scope_decay(*optimizer);
    if (resumed.checkpoint) tg::load_checkpoint(*resumed.checkpoint, *net, optimizer.get());
  });
  processes.agree({{"data contents", contents}});
  const tg::NetSpec net_spec = run.net(data.train.sample_shape(), data.train.classes);
  if (!resume.empty())
    fmt::print("resumed from {} after epoch {} (iteration {})\n", resume, done, resumed.done.iteration);
  fmt::print("{} on {} ({} training, {} test images)\nread: {}\n{}{}\n", net_spec.str(), run.data, data.train.rows,
             data.test.rows, files_read(data), net->summary(tg::Shape{run.batch, data.train.features}), optimizer->describe());
  if (data_parallel)
    fmt::print("data parallel: {} processes, {} rows of each batch of {} each\n", data_parallel->size(),
               run.batch / data_parallel->size(), run.batch);
  tg::TrainerOptions options;
  options.start_epoch = done;
  // Mid-epoch when --iterations stopped it there; on data changed on purpose (other rows, so other batches) the
  // interrupted epoch's position means nothing, and the run continues at the next whole epoch.
  const bool data_changed = !resumed.contents.empty() && resumed.contents != contents;
  options.start_iteration = data_changed ? 0 : resumed.done.iteration;
  if (data_changed) fmt::print("the data changed (--allow-changed-data): continuing at epoch {}\n", done + 1);
  options.epochs = done + run.epochs;  // --epochs more
  options.batch_size = run.batch;
  options.seed = run.seed;

  options.checkpoint = path;
  options.should_stop = interrupted;  // after every epoch: an interrupted or diverging run keeps its last good state
  options.checkpoint_metadata = describe_run(run, net_spec, spec.str(), contents);
  options.collective = data_parallel;
  run.set_training(options);
  if (!options.schedule.constant()) fmt::print("schedule: {}\n", options.schedule.str());
  if (options.clip.active()) fmt::print("clip: {}\n", options.clip.str());
  if (options.augmentation.active()) fmt::print("augment: {}\n", options.augmentation.str());
  tg::Trainer<T> trainer(*net, *optimizer, options);
  if (run.grad_norms && processes.root()) trainer.add_callback(tg::gradient_norm_logger(*net));
  // the history as compare writes it (compare_accuracy.csv's columns), rewritten after every epoch; a resumed
  // run continues the rows of the epochs its checkpoint holds
  const std::string history_path = output_path(run.out, "train_history.csv");
  std::string history = resume.empty() ? std::string(kEpochCsvColumns) + "\n" : history_until(history_path, done);
  if (processes.root())
    trainer.add_callback([&](const tg::EpochStats& e, const tg::History&) {
      history += epoch_csv_row(e) + "\n";
      write_text(history_path, history);
      return true;
    });
  std::optional<BoundaryRecorder> boundary;
  if (run.boundary && processes.root()) {
    boundary.emplace(data.train, done, options.epochs);
    trainer.add_callback([&](const tg::EpochStats& e, const tg::History&) {
      boundary->after_epoch(*net, e.epoch);
      return true;
    });
  }
  std::optional<tg::TrainingMonitor<T>> monitor;
  const auto write_monitor = [&] {
    const std::string title = fmt::format("{} on {}", net_spec.str(), run.data);
    fmt::print("diagnostics: {}\n", fmt::join(write_diagnostics(*monitor, run.out, title), ", "));
  };
  if (run.diagnose && processes.root()) {
    monitor.emplace(*net);
    monitor->attach(trainer);
  }
  if (processes.root())
    draw_filters(*net, run.out, "filters_before", resume.empty() ? "before training" : fmt::format("after epoch {}", done));
  try {
    trainer.fit(data.train, &data.test);
  } catch (const tg::Error&) {
    // a run that diverged or was interrupted is where the pictures help most: they show what was recorded
    if (monitor) try {
        write_monitor();
      } catch (const tg::Error& e) {  // the run's own error is the one to report
        fmt::print(stderr, "diagnostics not written: {}\n", e.what());
      }
    throw;
  }
  if (monitor) write_monitor();
  fmt::print("saved: {}\n", path);
  if (processes.root()) {
    fmt::print("history: {}\n", history_path);
    const std::string title = fmt::format("--net {} on {}: accuracy per epoch", run.hidden, run.data);
    fmt::print("accuracy curve: {}\n", draw_accuracy_curve(history_path, run.out, title));
  }
  struct rusage usage {};
  if (processes.root() && getrusage(RUSAGE_SELF, &usage) == 0)  // Linux reports ru_maxrss in KiB
    fmt::print("peak memory: {:.0f} MiB (this process's largest resident set)\n", double(usage.ru_maxrss) / 1024);
  if (processes.root()) draw_filters(*net, run.out, "filters_after", fmt::format("after epoch {}", options.epochs));
  if (boundary)
    fmt::print("boundary: {}\n", boundary->write(run.out, fmt::format("{} on {}: the decision regions over the "
                                                                      "training points",
                                                                      net_spec.str(), run.data)));
  return 0;
}

std::string class_name(const tg::Dataset& test, std::size_t c) {
  const bool fashion = test.classes == 10 && test.name.find("fashion") != std::string::npos;
  return fashion ? kFashionClasses[c] : std::to_string(c);
}

void draw_misclassified(const tg::Dataset& test, const std::vector<std::size_t>& predicted, const std::string& folder) {
  std::vector<GalleryImage> wrong;
  const std::size_t height = test.image.rank() == 3 ? test.image[1] : 1, width = test.features / height;
  for (std::size_t i = 0; i < test.rows && wrong.size() < 20; ++i) {
    if (predicted[i] == test.labels[i]) continue;
    GalleryImage g;
    for (std::size_t j = 0; j < test.features; ++j) g.pixels.push_back(test.feature(i, j));
    g.caption = fmt::format("#{} {} as {}", i, class_name(test, test.labels[i]), class_name(test, predicted[i]));
    wrong.push_back(std::move(g));
  }
  if (wrong.empty()) {
    fmt::print("misclassified: none, no picture drawn\n");
    return;
  }
  const std::string png = render_gallery(wrong, height, width, output_path(folder, "misclassified"),
                                         "misclassified test images: true class as predicted class");
  fmt::print("misclassified: {} ({} shown)\n", png, wrong.size());
}

template <class T>
int evaluate_as(const tg::Checkpoint& checkpoint, const tg::NetSpec& spec, const tg::Dataset& test,
                const std::string& gallery) {
  const std::string& model = checkpoint.path();
  if (spec.sample.numel() != test.features || spec.classes != test.classes)
    throw tg::ShapeError(fmt::format("eval: the model takes {} features and gives {} classes; the data has {} and {}",
                                     spec.sample.numel(), spec.classes, test.features, test.classes));
  tg::Rng rng(0);
  auto net = tg::make_network<T>(spec, rng);
  tg::load_checkpoint(checkpoint, *net);
  const std::vector<std::size_t> predicted = tg::predict(*net, test);
  std::vector<std::vector<std::size_t>> confusion(test.classes, std::vector<std::size_t>(test.classes));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < test.rows; ++i) {
    ++confusion[test.labels[i]][predicted[i]];
    correct += predicted[i] == test.labels[i];
  }
  fmt::print("{}: {} on {} test images: accuracy {:.2f}%\n\n", model, spec.str(), test.rows,
             100.0 * double(correct) / double(test.rows));
  const bool fashion = test.classes == 10 && test.name.find("fashion") != std::string::npos;
  std::vector<std::string> header{"true \\ predicted"};
  std::vector<std::vector<std::string>> rows;
  for (std::size_t c = 0; c < test.classes; ++c) header.push_back(std::to_string(c));
  header.push_back("recall");
  for (std::size_t t = 0; t < test.classes; ++t) {
    std::vector<std::string> row{fashion ? fmt::format("{} {}", t, class_name(test, t)) : std::to_string(t)};
    std::size_t total = 0;
    for (std::size_t p = 0; p < test.classes; ++p) {
      row.push_back(std::to_string(confusion[t][p]));
      total += confusion[t][p];
    }
    row.push_back(total ? fmt::format("{:.1f}%", 100.0 * double(confusion[t][t]) / double(total)) : "-");
    rows.push_back(std::move(row));
  }
  fmt::print("{}", table(header, rows));
  if (!gallery.empty()) draw_misclassified(test, predicted, gallery);
  return 0;
}

}  // namespace

int train(const RunOptions& options, const std::string& optimizer_text, const std::string& save, const std::string& resume,
          const std::set<std::string>& given, bool data_parallel, bool allow_changed_data, Processes& processes) {
  std::string optimizer = optimizer_text;
  RunOptions run;
  tg::OptimizerSpec spec;
  Resumed resumed;
  // Checks that every process makes alike, so that all give up together.
  processes.all_or_none([&] {
    if (data_parallel && !Processes::built_with_mpi())
      throw tg::ValueError(
          "--data-parallel: this tapegrad was built without MPI; install Open MPI (apt-get install libopenmpi-dev "
          "openmpi-bin), build again (scripts/setup.sh) and start it with mpirun -np N build/tapegrad train "
          "--data-parallel ...");
    if (data_parallel && !processes.collective())
      throw tg::ValueError(
          "--data-parallel: not started by mpirun, so there is one process; run mpirun -np N build/tapegrad train "
          "--data-parallel ... (as root add --allow-run-as-root, and --oversubscribe for more processes than cores)");
    if (!data_parallel && processes.distributed())
      throw tg::ValueError(fmt::format(
          "train: started by mpirun on {} processes without --data-parallel, every process would train the same run "
          "into the same files; add --data-parallel to train one model on all of them",
          processes.size()));
    if (allow_changed_data && resume.empty())
      throw tg::ValueError("--allow-changed-data applies to --resume only; this run starts afresh");
    run = options;
    if (!resume.empty()) {
      resumed.path = resume;
      resumed.checkpoint.emplace(resume);  // the one read of the file
      const auto meta = parse_metadata(*resumed.checkpoint);
      run = resumed_run(resume, meta, options, given, optimizer);
      resumed.done = tg::read_run_progress(*resumed.checkpoint);
      resumed.contents = meta.count("data_contents") ? meta.at("data_contents") : "";
    }
    spec = tg::OptimizerSpec::parse(optimizer);
    check_decay_scope(run.decay_scope, spec, spec.str());
    run.check_net();  // check the network options before spending time on the data
    if (data_parallel && run.batch % processes.size() != 0)
      throw tg::ValueError(fmt::format("--batch {} does not divide among {} processes; use a multiple of {} (e.g. {})",
                                       run.batch, processes.size(), processes.size(),
                                       (run.batch / processes.size() + 1) * processes.size()));
  });
  tg::Collective* collective = data_parallel ? processes.collective() : nullptr;
  return run.use_double ? train_as<double>(run, spec, save, resumed, allow_changed_data, collective, processes)
                        : train_as<float>(run, spec, save, resumed, allow_changed_data, collective, processes);
}

int evaluate(const std::string& model, const std::string& data, std::size_t limit, const std::string& gallery) {
  const tg::Checkpoint checkpoint(model);  // read once: what is checked is what is loaded
  const auto meta = parse_metadata(checkpoint);
  if (!gallery.empty()) tg::prepare_output_folder(gallery);
  tg::TrainTest d = load_data(data, recorded_seed(meta));  // a split set: the run's own test part
  if (limit > 0) d.test = d.test.head(limit);
  const tg::NetSpec spec = spec_from(meta);
  return meta.at("dtype") == "double" ? evaluate_as<double>(checkpoint, spec, d.test, gallery)
                                        : evaluate_as<float>(checkpoint, spec, d.test, gallery);
}

}  // namespace cli
