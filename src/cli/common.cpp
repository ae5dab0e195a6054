#include "cli/common.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <signal.h>
#include <unistd.h>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>

namespace cli {

namespace {
// Set by the signal handler, read between training steps: the one piece of global state of the program.
volatile std::sig_atomic_t g_stop_requested = 0;
extern "C" void request_stop(int) { g_stop_requested = 1; }
}  // namespace

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGXFSZ, SIG_IGN);  // a file-size limit: the write fails with EFBIG and is reported
  signal(SIGPIPE, SIG_IGN);  // a closed pipe behind stdout: the write fails with EPIPE and is reported
}

bool interrupted() { return g_stop_requested != 0; }

void RunOptions::add_to(CLI::App& app, bool with_model_options) {
  app.add_option("--data", data,
                 "MNIST-format folder (default: Debian's Fashion-MNIST), or digits, iris, wine or breast-cancer "
                 "(scikit-learn's, from Debian's python3-sklearn; half the rows, drawn by --seed, are the test set)")
      ->capture_default_str();
  app.add_option("--limit", limit, "use only the first N training images (0: all)")->capture_default_str();
  if (with_model_options) {
    app.add_option("--net", hidden,
                   "hidden layer sizes (100, 256-128), simple_conv or deep_conv (the book's SimpleConvNet and "
                   "DeepConvNet), or a list of layers such as conv:30:5,relu,maxpool:2,linear:100,relu or lstm:128 "
                   "(an LSTM reading each image row by row; input and output come from the data)")
        ->capture_default_str();
    app.add_option("--activation", activation, "relu, sigmoid or tanh (for hidden sizes)")->capture_default_str();
    app.add_option("--init", init, "he, xavier or a standard deviation such as 0.01")->capture_default_str();
    app.add_flag("--batch-norm", batch_norm, "batch normalisation after each hidden Linear (hidden sizes)");
    app.add_option("--dropout", dropout, "dropout ratio after each hidden activation, in [0, 1) (hidden sizes)")
        ->capture_default_str();
    app.add_flag("--double", use_double, "train in double precision (default float)");
  }
  app.add_option("--epochs", epochs, "passes over the training data (at most 10000)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
  app.add_option("--iterations", iterations, "stop after this many steps in all, even mid-epoch (0: --epochs decides)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000000}));
  app.add_option("--batch", batch, "mini-batch size (at most 1000000)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  app.add_option("--seed", seed, "initial weights and batch order")->capture_default_str();
  app.add_option("--out", out, "folder for tables, CSV files, plots and models")->capture_default_str();
  app.add_option("--schedule", schedule,
                 "learning-rate schedule over iterations: constant, step:every=N,gamma=G, exp:gamma=G, "
                 "cosine:period=N,min=M (period 0: the whole run), plateau:factor=F,patience=P,min=M (epochs of "
                 "mean training loss); any with warmup=W (linear warm-up over W iterations)")
      ->capture_default_str();
  app.add_option("--clip", clip, "gradient clipping: norm=X (global L2 norm), value=X (each element), or both");
  app.add_option("--augment", augment,
                 "image augmentation, seeded: off, on (crop:2,flip), or a list of crop:P (pad P pixels, crop back at "
                 "random: a shift of up to P) and flip (left-right, half the time)")
      ->capture_default_str();
  app.add_option("--decay-scope", decay_scope,
                 "which parameters weight decay shrinks: all, or weights (not biases or BatchNorm's scale and shift, "
                 "as the book's multi_layer_net_extend.py)")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "weights"}));
  app.add_flag("--grad-norms", grad_norms, "print each parameter's gradient norm after every epoch's last step");
}

void RunOptions::set_training(tg::TrainerOptions& options) const {
  options.max_iterations = iterations;
  options.schedule = tg::ScheduleSpec::parse(schedule);
  if (!clip.empty()) options.clip = tg::GradientClip::parse(clip);
  options.augmentation = tg::Augmentation::parse(augment);
}

tg::NetSpec RunOptions::net(const tg::Shape& sample, std::size_t classes) const {
  tg::NetSpec spec;
  spec.sample = sample;
  spec.classes = classes;
  spec.layers = hidden;
  spec.activation = tg::parse_activation(activation);
  spec.init = tg::Init::parse(init);
  if (!(dropout >= 0 && dropout < 1)) throw tg::ValueError(fmt::format("--dropout {}: the ratio must be in [0, 1)", dropout));
  spec.batchnorm = batch_norm;
  spec.dropout = dropout;
  if (!spec.is_mlp()) spec.layer_list();  // refuses --batch-norm and --dropout with a layer list
  check_memory(spec);
  return spec;
}

void RunOptions::check_net() const {
  tg::NetSpec spec;
  spec.layers = hidden;
  spec.batchnorm = batch_norm;
  spec.dropout = dropout;
  if (spec.is_mlp()) net({1}, 1);  // a layer list needs the data's image shape: it is checked once that is read
  else spec.layer_list();          // but refuses --batch-norm and --dropout now
  tg::TrainerOptions training;
  set_training(training);
}

// Refuses, before any work, a network whose weights, gradients, optimizer state and activations would not fit
// in this machine's memory (it would otherwise die of an out-of-memory kill half-way).
void RunOptions::check_memory(const tg::NetSpec& spec) const {
  tg::NetFootprint size;
  try {
    size = spec.footprint();
  } catch (const tg::ValueError& e) {
    throw tg::ValueError(fmt::format("--net: {}", e.what()));
  } catch (const tg::ShapeError& e) {
    throw tg::ShapeError(fmt::format("--net: {}", e.what()));
  }
  const double scalar = use_double ? 8 : 4;
  // value, gradient, two optimizer slots; each activation's value and gradient, twice for ops' saved buffers
  const double needed = scalar * (4 * size.parameters + 4 * double(batch) * size.activations);
  const double physical = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (physical > 0 && needed > physical / 2)
    throw tg::ValueError(fmt::format(
        "--net {} with --batch {}: {:.3g} parameters need about {:.3g} GB for weights, gradients, optimizer state "
        "and activations; this machine has {:.3g} GB",
        hidden, batch, size.parameters, needed / 1e9, physical / 1e9));
}

double weight_decay_of(const tg::OptimizerSpec& spec) {
  return tg::optimizer_kind(spec.name).uses("wd") ? spec.value("wd") : 0;
}

void check_decay_scope(const std::string& scope, const tg::OptimizerSpec& spec, const std::string& what) {
  if (scope != "weights" || weight_decay_of(spec) != 0) return;
  tg::OptimizerSpec decaying = spec;
  decaying.options.weight_decay = 0.1;
  throw tg::ValueError(fmt::format("--decay-scope weights: {} has no weight decay to scope; give it one, e.g. --opt {}",
                                   what, decaying.str()));
}

tg::TrainTest load_data(const std::string& data, std::uint64_t seed) {
  if (tg::is_table_dataset(data)) return tg::load_table_dataset(data, seed);
  if (tg::is_generated_dataset(data)) return tg::load_generated_dataset(data, seed);
  std::error_code ec;
  if (!std::filesystem::exists(data, ec))
    throw tg::DataError(fmt::format("--data {}: no such data folder, and not a data set name ({}, {}); "
                                    "Fashion-MNIST: apt-get install dataset-fashion-mnist",
                                    data, fmt::join(tg::table_dataset_names(), ", "),
                                    fmt::join(tg::generated_dataset_names(), ", ")));
  return tg::load_mnist(data);
}

std::uint64_t recorded_seed(const std::map<std::string, std::string>& meta) {
  const auto it = meta.find("seed");
  if (it == meta.end()) return 0;
  std::uint64_t value = 0;
  const std::string& text = it->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw tg::DataError(fmt::format("checkpoint metadata: seed={} is not a whole number", text));
  return value;
}

std::string data_identity(const std::string& data) {
  if (tg::is_table_dataset(data) || tg::is_generated_dataset(data)) return data;
  return std::filesystem::weakly_canonical(std::filesystem::absolute(data)).string();
}

tg::TrainTest RunOptions::load() const {
  tg::TrainTest d = load_data(data, seed);
  if (limit > 0) d.train = d.train.head(limit);
  if (validation > 0) {
    const auto held_out = static_cast<std::size_t>(std::llround(validation * double(d.train.rows)));
    d = tg::split_validation(d.train, held_out, seed);
  }
  return d;
}

std::string epoch_csv_row(const tg::EpochStats& e) {
  return fmt::format("{},{:.6g},{:.6g},{:.6g},{:.6g},{:.4g}", e.epoch, e.train_loss, e.train_accuracy, e.test_accuracy,
                     e.learning_rate, e.seconds);
}

std::string files_read(const tg::TrainTest& data) {
  std::vector<std::string> all = data.train.files;
  for (const std::string& f : data.test.files)  // a validation split comes from the training files
    if (std::find(all.begin(), all.end(), f) == all.end()) all.push_back(f);
  return fmt::format("{}", fmt::join(all, ", "));
}

std::string data_contents(const tg::TrainTest& data) {
  return fmt::format("train {}; test {}", data.train.fingerprint(), data.test.fingerprint());
}

std::string output_path(const std::string& folder, const std::string& name) {
  return (std::filesystem::path(folder) / name).string();
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool left = c == 0;
      out += left ? fmt::format("{:<{}}", cells[c], width[c]) : fmt::format("  {:>{}}", cells[c], width[c]);
    }
    return out + "\n";
  };
  std::string out = line(header);
  std::size_t total = 0;
  for (std::size_t w : width) total += w + 2;
  out += std::string(total - 2, '-') + "\n";
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace cli
