#pragma once
// Pieces the subcommands of the `tapegrad` program share (the program is a client of the library).
#include <map>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/output.hpp"
#include "tapegrad/tapegrad.hpp"

namespace cli {

namespace tg = tapegrad;

/// Options every training subcommand takes.
struct RunOptions {
  std::string data = tg::default_data_dir();
  std::size_t limit = 0;  // use only the first N training images (0: all)
  double validation = 0;  // > 0: hold out this fraction of the training images (seeded) and use it as the test set
  std::string hidden = "100";
  std::string activation = "relu";
  std::string init = "he";
  bool batch_norm = false;  // after each hidden Linear (hidden sizes only)
  double dropout = 0;       // after each hidden activation (hidden sizes only)
  std::size_t epochs = 5;
  std::size_t iterations = 0;  // > 0: stop after this many steps (the book counts iterations, not epochs)
  std::size_t batch = 100;
  std::uint64_t seed = 0;
  bool use_double = false;
  std::string out = "out";
  std::string schedule = "constant";  // tg::ScheduleSpec text
  std::string clip;                   // tg::GradientClip text; empty: none
  std::string augment = "off";        // tg::Augmentation text
  std::string decay_scope = "all";    // "weights": weight decay skips biases and BatchNorm (the book's choice)
  bool grad_norms = false;            // print each parameter's gradient norm after every epoch
  bool epoch_lines = true;            // a line per epoch (false: the last epoch's only)
  bool boundary = false;              // train --boundary: decision regions of 2-D data over the epochs
  bool sharpness = false;             // compare --sharpness: the loss's top Hessian eigenvalue after every epoch
  bool diagnose = false;              // train/compare --diagnose: a TrainingMonitor's histograms, units, ratios

  void add_to(CLI::App& app, bool with_model_options = true);
  /// The network for samples of this shape; ValueError for bad options or one that would not fit in memory.
  tg::NetSpec net(const tg::Shape& sample, std::size_t classes) const;
  /// Hidden sizes and the other options, checked before any data is read.
  void check_net() const;
  void check_memory(const tg::NetSpec& spec) const;
  tg::TrainTest load() const;  // the data, cut to `limit`
  /// Schedule and clipping into the trainer's options (ValueError naming a bad one).
  void set_training(tg::TrainerOptions& options) const;
  /// --decay-scope weights on this optimizer: its rank-one parameters in a group without decay.
  template <class T>
  void scope_decay(tg::Optimizer<T>& optimizer) const {
    if (decay_scope == "weights") tg::decay_weights_only(optimizer);
  }
};

/// compare --sharpness measures on the first this many training rows, as one batch.
inline constexpr std::size_t kSharpnessRows = 1000;

/// A data set: digits, iris, wine or breast-cancer (scikit-learn's, half of it the test part, split by `seed`),
/// or an MNIST-format folder.
tg::TrainTest load_data(const std::string& data, std::uint64_t seed);
/// The seed a checkpoint's metadata records (0 when it has none); DataError when it is not a whole number.
std::uint64_t recorded_seed(const std::map<std::string, std::string>& meta);
/// How a checkpoint records a data set: its name, or the folder's absolute path.
std::string data_identity(const std::string& data);

/// The weight decay a spec trains with (the table's default when not given; 0 for an optimizer without one).
double weight_decay_of(const tg::OptimizerSpec& spec);
/// --decay-scope weights with an optimizer (`spec`, called `what` in the message) that has no weight decay:
/// ValueError saying how to give it one. Every command that takes both checks this before any work.
void check_decay_scope(const std::string& scope, const tg::OptimizerSpec& spec, const std::string& what);

/// The key=value metadata `tapegrad train` writes into its checkpoints; DataError naming the file if it was
/// not written by `tapegrad train`.
std::map<std::string, std::string> parse_metadata(const std::string& path);
std::map<std::string, std::string> parse_metadata(const tg::Checkpoint& checkpoint);
/// The network a checkpoint's metadata describes.
tg::NetSpec spec_from(const std::map<std::string, std::string>& meta);

/// An epoch's history as CSV, the same columns in `compare` and `train`: the header's names, and one row's values
/// ("3,0.4125,0.8612,0.8477,0.01,0.27"), without the line break.
inline constexpr const char* kEpochCsvColumns = "epoch,train loss,train accuracy,test accuracy,learning rate,seconds";
std::string epoch_csv_row(const tg::EpochStats& e);

/// A CSV field in double quotes (the program's own labels, which hold commas but no quotes).
inline std::string csv_quoted(const std::string& s) { return "\"" + s + "\""; }

/// The files a data set was read from, comma-separated (what the program prints as "read: ...").
std::string files_read(const tg::TrainTest& data);
/// The training and the test set's fingerprints (tg::Dataset::fingerprint): what a resumed run and the processes
/// of an MPI job must find alike.
std::string data_contents(const tg::TrainTest& data);
/// folder/name (the folder is created and checked by tapegrad::prepare_output_folder before any work).
std::string output_path(const std::string& folder, const std::string& name);
/// Text of a table: a header row and rows of cells, columns padded, numbers right-aligned.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

/// Ctrl-C (SIGINT) and SIGTERM ask the running work to stop at the next step (see install_signal_handlers);
/// SIGXFSZ and SIGPIPE are ignored, so a file-size limit or a closed pipe is a write error that gets reported,
/// not a death by signal.
void install_signal_handlers();
bool interrupted();

class Processes;
/// Every configuration (the optimizers times each --vary axis) under `seeds` seeds. `jobs`: runs at once on this
/// process (0: one per core, shared with the other processes on this machine).
/// `lr_sweep`: first each optimizer's best learning rate on a validation split, then the comparison at those.
int compare_networks(const RunOptions& run, const std::vector<std::string>& optimizers,
                     const std::vector<std::vector<std::string>>& vary, std::size_t seeds, std::size_t max_runs,
                     bool lr_sweep, double threshold, std::size_t jobs, Processes& processes);
/// `compare --function SURFACE`: the optimizers (default: the surface's own) for `steps` updates (0: the
/// surface's default); ValueError listing the surfaces for an unknown one.
int compare_function(const std::string& surface, const std::vector<std::string>& optimizers, bool all, int steps,
                     const std::string& out);
/// `given`: the options the user typed (a resumed run takes the others from its checkpoint, and refuses these
/// when they differ from it). A resumed run whose data's contents changed is refused unless `allow_changed_data`.
int train(const RunOptions& run, const std::string& optimizer, const std::string& save, const std::string& resume,
          const std::set<std::string>& given, bool data_parallel, bool allow_changed_data, Processes& processes);
/// `tapegrad landscape`'s options: a checkpoint to slice around, or optimizers whose paths to draw.
struct LandscapeArgs {
  RunOptions run;                       // the data, --out and --seed; with --opt, the network and training too
  std::string model;                    // --model: slices around this checkpoint
  std::vector<std::string> optimizers;  // --opt: train each from the same weights, draw their paths
  double range = 1;                     // --range: slices span [-range, range] along each direction
  std::size_t points = 41, grid = 21;   // points of the 1-D slice; grid x grid points of a plane
  std::size_t rows = 1000;              // the first training rows the loss is measured on
};
struct DoctorArgs {
  RunOptions run;                  // the data, the network (or --model), --batch, --seed, --out
  std::string model;               // --model: a checkpoint instead of the network the options build
  std::string optimizer = "adam";  // --opt: the first steps, before units are counted
};
/// `tapegrad doctor`: tapegrad::examine's table; 0 when every check passes, 1 when one fails.
int doctor(const DoctorArgs& args);
/// `tapegrad landscape`: ValueError for both or neither of --model and --opt, or a bad range, before any work.
int landscape(const LandscapeArgs& args);
/// `tapegrad lr-find`: the range test on the network `run` builds, with `optimizer`; the batch and seed are
/// run's. ValueError for a bad range or an optimizer that searches its own step (L-BFGS), before the data is read.
int lr_find(const RunOptions& run, const std::string& optimizer, const tg::LrRangeOptions& options);
/// `gallery`: a folder for misclassified.png, or "" for none.
int evaluate(const std::string& model, const std::string& data, std::size_t limit, const std::string& gallery);
/// `tapegrad graph`: a demo's tape (apple, simple-net, two-layer) or a saved model's, drawn through Graphviz.
int graph(const std::string& demo, const std::string& model, const std::string& data, const std::string& out,
          bool steps);
/// `tapegrad summary`: the network of `run`'s options, as a table and a layer diagram.
int summary(const RunOptions& run, std::size_t features, std::size_t classes);
/// `tapegrad gradcheck`: the catalog's checks (or those named), and the network `net` if given.
int gradcheck(const std::vector<std::string>& names, const std::string& net, bool fast, int order, std::uint64_t seed,
              bool verbose);

}  // namespace cli
