// The program's command line: every subcommand and option, in one place (the fuzz target parses with it too).
#include "cli/app.hpp"
#include "cli/exit_codes.hpp"
#include "cli/experiments.hpp"
#include "cli/grid.hpp"

#include <fmt/format.h>

#include "tapegrad/optim/optimizer.hpp"

namespace cli {

namespace {
// The optimizer table as help text: each optimizer's update and its keys with the book's defaults.
std::string optimizers_help() {
  std::string text = "Optimizers, for --opt NAME or NAME:key=value,... (each key at most once):\n";
  for (const tapegrad::OptimizerKind& kind : tapegrad::optimizer_kinds())
    text += fmt::format("  {:<9} {}\n            keys: {}\n", kind.name, kind.rule, kind.defaults_text());
  text += "Keys:\n";
  for (const auto& [key, meaning] : tapegrad::optimizer_keys()) text += fmt::format("  {:<9} {}\n", key, meaning);
  return text;
}
std::string vary_help() {
  std::string text = "Axes for --vary AXIS VALUE...:\n";
  for (const auto& [axis, values] : vary_axes()) text += fmt::format("  {:<11} {}\n", axis, values);
  return text;
}
}  // namespace

std::unique_ptr<CLI::App> make_app(Command& c) {
  auto app = std::make_unique<CLI::App>(
      "tapegrad: reverse-mode autodiff in C++ -- compare optimizers, train, evaluate, gradient-check");
  app->require_subcommand(1);
  app->set_version_flag("--version", "tapegrad " TAPEGRAD_VERSION);
  app->footer(exit_codes_help());
  app->add_option("--threads", c.threads, "OpenBLAS threads (1 is fastest on two cores)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));

  c.compare_args.run.out = "out";
  c.compare = app->add_subcommand("compare", "train one network under several optimizers and compare them");
  c.compare->footer(vary_help() + optimizers_help());
  c.compare_args.run.add_to(*c.compare);
  c.compare->add_option("--opt", c.compare_args.optimizers,
                        "optimizer with options, repeatable, e.g. sgd:lr=0.1 or momentum:lr=0.01,momentum=0.9 "
                        "(default: sgd momentum adagrad adam, the book's defaults; the list is below)");
  c.compare->add_option("--vary", c.compare_args.vary,
                        "compare along an axis: --vary AXIS VALUE VALUE...; repeatable, every combination is run "
                        "(axes are listed below)")
      ->expected(1, 1000)
      ->allow_extra_args(false);
  c.compare->add_option("--seeds", c.compare_args.seeds,
                        "seeds per configuration (--seed, --seed + 1, ...): the table shows mean [min, max], the plot "
                        "the mean and the min-max band")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  c.compare->add_option("--max-runs", c.compare_args.max_runs,
                        "refuse a comparison of more runs than this (configurations x seeds), counted before anything "
                        "is built")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, kLargestMaxRuns));
  c.compare->add_flag("--lr-sweep", c.compare_args.lr_sweep,
                      "first choose each optimizer's learning rate (its rate x 10, 3, 1, 1/3, 1/10) by accuracy on a "
                      "validation split (20% of the training images), then compare at those rates");
  c.compare->add_flag("--diagnose", c.compare_args.run.diagnose,
                      "also look inside each run: its dead ReLU or saturated tanh/sigmoid shares per epoch and its "
                      "weights' mean update-to-data ratio per step (OUT/compare_units.csv and .png, "
                      "compare_update_ratios.csv and .png; train --diagnose draws the histograms)");
  c.compare->add_flag("--sharpness", c.compare_args.run.sharpness,
                      "also the sharpness (the training loss's largest Hessian eigenvalue, on the first 1000 "
                      "training rows) before training and after every epoch, plotted against each run's 2/lr");
  c.compare
      ->add_option("--threshold", c.compare_args.threshold,
                   "report the first iteration whose smoothed loss is below this")
      ->capture_default_str();
  c.compare->add_option("--jobs", c.compare_args.jobs,
                        "runs trained at once, each on one thread (default: the cores this process may use; under "
                        "mpirun, spread over the processes too); results are bit for bit those of --jobs 1")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  c.compare->add_option("--function", c.compare_args.function,
                        "optimizers on a function of two variables instead of a network: bowl (the book's x^2/20 + "
                        "y^2 from (-7, 2)), rosenbrock, beale or saddle; each path drawn over the contours")
      ->expected(0, 1)
      ->default_str("bowl");
  c.compare->add_flag("--all", c.compare_args.all,
                      "with --function: also Nesterov, RMSProp and L-BFGS (one iteration per step)");
  c.compare->add_option("--steps", c.compare_args.steps,
                        "with --function: updates per optimizer, at most 100000 (default: the surface's own, 30 for "
                        "the bowl)")
      ->check(CLI::Range(1, 100000));

  c.train = app->add_subcommand("train", "train one configuration; saves the model and optimizer state each epoch");
  c.train->footer(optimizers_help());
  c.train_args.run.add_to(*c.train);
  c.train->add_option("--opt", c.train_args.optimizer, "optimizer with options (the list is below)")
      ->capture_default_str();
  c.train->add_option("--save", c.train_args.save,
                      "checkpoint path (default: OUT/model.tgckpt; with --resume: that file); a device such as "
                      "/dev/null, a FIFO or a folder is refused (every run is saved), a symbolic link's target is "
                      "replaced");
  c.train->add_flag("--boundary", c.train_args.run.boundary,
                    "for 2-D data (--data spiral, moons, circles, xor): the decision regions at up to six epochs over "
                    "the training points, OUT/boundary.png and boundary.csv");
  c.train->add_flag("--diagnose", c.train_args.run.diagnose,
                    "look inside the run: histograms of every activation layer's outputs and gradients per epoch, "
                    "dead ReLU and saturated tanh/sigmoid shares, each parameter's update-to-data ratio per step "
                    "(OUT/diagnostics_*.csv, activations.png, gradients.png, units.png, update_ratios.png)");
  c.train->add_flag("--data-parallel", c.train_args.data_parallel,
                    "under `mpirun -np N`: train one model on N processes, each on 1/N of every batch (the batch "
                    "must divide among them); checkpoints and output from process 0");
  c.train->add_option("--resume", c.train_args.resume,
                      "continue the run this checkpoint records (network, optimizer and its state, data, batch, seed, "
                      "batch order, the step where --iterations stopped it) for --epochs more, appending to "
                      "train_history.csv; options that differ from it, and data whose contents changed, are refused");
  c.train->add_flag("--allow-changed-data", c.train_args.allow_changed_data,
                    "with --resume: continue although the data's contents differ from those the checkpoint records");

  c.lr_find = app->add_subcommand(
      "lr-find", "the learning-rate range test: the loss as the rate grows exponentially, a plot, a suggested rate");
  c.lr_find->footer(optimizers_help());
  c.lr_find_args.run.add_to(*c.lr_find);
  c.lr_find->add_option("--opt", c.lr_find_args.optimizer, "optimizer with options; its rate is what the test varies")
      ->capture_default_str();
  c.lr_find->add_option("--start", c.lr_find_args.range.start, "the first rate")->capture_default_str();
  c.lr_find
      ->add_option("--end", c.lr_find_args.range.end, "the last rate (the test stops early once the loss diverges)")
      ->capture_default_str();
  c.lr_find->add_option("--steps", c.lr_find_args.range.steps, "rates tried, evenly on a log scale, one batch each")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{5}, std::size_t{100000}));
  c.lr_find->add_option("--divisor", c.lr_find_args.range.divisor,
                        "the suggestion: the rate where the smoothed loss is lowest, divided by this (Smith: 3, "
                        "fastai's rule of thumb: 10)")
      ->capture_default_str();

  c.landscape = app->add_subcommand(
      "landscape", "the loss around a checkpoint along filter-normalised directions (1-D and 2-D), or optimizers' "
                   "paths on the plane of their main directions (Li et al. 2018)");
  c.landscape->footer(optimizers_help());
  c.landscape_args.run.add_to(*c.landscape);
  c.landscape->add_option("--model", c.landscape_args.model, "a checkpoint of `tapegrad train`: slices around it");
  c.landscape->add_option("--opt", c.landscape_args.optimizers,
                          "instead of --model: optimizers to train from the same weights (as compare), whose paths "
                          "are drawn over the loss on the plane of their two main directions");
  c.landscape->add_option("--range", c.landscape_args.range,
                          "with --model: each direction spans [-range, range] (1: as far again as the weights)")
      ->capture_default_str();
  c.landscape->add_option("--points", c.landscape_args.points, "with --model: points of the 1-D slice")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{3}, std::size_t{10001}));
  c.landscape->add_option("--grid", c.landscape_args.grid, "points along each side of a 2-D plane")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{3}, std::size_t{201}));
  c.landscape->add_option("--rows", c.landscape_args.rows, "the first training rows the loss is measured on")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));

  c.doctor = app->add_subcommand(
      "doctor", "the checks that find the usual bugs before a long run: the loss at initialisation against "
                "ln(classes), overfitting one small batch, samples that stay independent, a gradient check of every "
                "layer, units that die in the first steps, gradients that reach every parameter");
  c.doctor->footer(optimizers_help() + "\nExit codes: 0 every check passed, 1 one failed (its row says which), 2 a "
                                       "bad option or file.");
  c.doctor_args.run.add_to(*c.doctor);
  c.doctor->add_option("--model", c.doctor_args.model,
                       "a checkpoint of `tapegrad train` to examine instead of the network the options build");
  c.doctor->add_option("--opt", c.doctor_args.optimizer, "the optimizer of the first steps (units alive after them)")
      ->capture_default_str();

  c.eval = app->add_subcommand("eval", "accuracy and confusion matrix of a saved model on the test set");
  c.eval->add_option("--model", c.eval_args.model, "checkpoint written by `tapegrad train`")->capture_default_str();
  c.eval->add_option("--data", c.eval_args.data,
                     "MNIST-format folder, or the data set the model was trained on")->capture_default_str();
  c.eval->add_option("--limit", c.eval_args.limit, "use only the first N test images (0: all)")->capture_default_str();
  c.eval->add_option("--misclassified", c.eval_args.misclassified,
                     "folder for misclassified.png: the first 20 misclassified test images with true and predicted "
                     "classes");

  c.check = app->add_subcommand("gradcheck", "gradient-check every built-in op and layer (or those named)");
  c.check->add_option("names", c.check_args.names, "checks to run, e.g. matmul softmax Linear (default: all)");
  c.check->add_option("--net", c.check_args.net,
                      "also check a whole network for Fashion-MNIST's 1x28x28 images and 10 classes, on two images: "
                      "simple_conv, deep_conv, hidden sizes or a layer list (use --fast above ~100k parameters)");
  c.check->add_flag("--fast", c.check_args.fast, "random directional derivatives instead of every element");
  c.check->add_option("--order", c.check_args.order,
                      "1: first derivatives; 2: second derivatives (gradgradcheck: the gradients recorded with "
                      "create_graph, differentiated again); 3: third derivatives (the second-order rules checked the "
                      "same way)")
      ->check(CLI::IsMember({1, 2, 3}))
      ->capture_default_str();
  c.check->add_flag("--verbose", c.check_args.verbose, "print every report table");
  c.check->add_option("--seed", c.check_args.seed, "inputs and upstream gradients")->capture_default_str();

  c.graph = app->add_subcommand("graph", "draw a recorded computation with its values and gradients (Graphviz)");
  c.graph->add_option("demo", c.graph_args.demo, "apple (the book's figure 5-17), simple-net, two-layer")
      ->capture_default_str();
  c.graph->add_option("--model", c.graph_args.model,
                      "instead of a demo: a checkpoint of `tapegrad train`, on test image 0");
  c.graph->add_option("--data", c.graph_args.data, "MNIST-format folder (two-layer, --model)")->capture_default_str();
  c.graph->add_option("--out", c.graph_args.out, "folder for the .dot, .png and .svg files")->capture_default_str();
  c.graph->add_flag("--steps", c.graph_args.steps, "also one drawing per step of the reverse sweep");

  c.summary_args.run.out = "out";
  c.summary_args.run.batch = 1;
  c.summary = app->add_subcommand("summary", "a network's layers, output shapes and parameter counts, and its diagram");
  c.summary
      ->add_option("--net", c.summary_args.run.hidden,
                   "hidden sizes (100, 256-128), simple_conv, deep_conv or a layer list")
      ->capture_default_str();
  c.summary->add_option("--activation", c.summary_args.run.activation, "relu, sigmoid or tanh")->capture_default_str();
  c.summary->add_option("--init", c.summary_args.run.init, "he, xavier or a standard deviation")->capture_default_str();
  c.summary->add_option("--features", c.summary_args.features, "input size")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  c.summary->add_option("--classes", c.summary_args.classes, "output size")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  c.summary->add_option("--batch", c.summary_args.run.batch, "batch size of the input shape")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  c.summary->add_option("--out", c.summary_args.run.out, "folder for model.dot, model.png and model.svg")
      ->capture_default_str();

  c.experiment = app->add_subcommand("experiment", "run one of the books' experiments (listed below)");
  c.experiment->footer(experiments_help());
  c.experiment
      ->add_option("name", c.experiment_args.name, "the experiment (listed below)")
      ->required();
  c.experiment_args.run.out = "";
  c.experiment->add_option("--data", c.experiment_args.run.data,
                           "MNIST-format folder, or digits, iris, wine, breast-cancer; char-lm: a word list (default "
                           "/usr/share/dict/american-english)")->capture_default_str();
  c.experiment->add_option("--seed", c.experiment_args.run.seed, "initial weights and batch order")
      ->capture_default_str();
  c.experiment
      ->add_option("--seeds", c.experiment_args.options.seeds, "seeds per configuration (mean and min-max band)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  c.experiment
      ->add_option("--jobs", c.experiment_args.options.jobs,
                   "runs trained at once (default: the cores this process may use)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  c.experiment->add_option("--trials", c.experiment_args.options.trials,
                           "hyperparameter-search: random configurations to try (default 100, the book's)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
  c.experiment->add_option("--max-runs", c.experiment_args.options.max_runs,
                           "refuse an experiment of more runs than this (configurations x seeds)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, kLargestMaxRuns));
  c.experiment
      ->add_option("--epochs", c.experiment_args.options.epochs,
                   "sine, addition, char-lm: epochs to train (default: the book's; char-lm 10)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  c.experiment
      ->add_option("--limit", c.experiment_args.options.limit,
                   "addition: problems to generate (default 50000); char-lm: words to read (default all)")
      ->check(CLI::Range(std::size_t{20}, std::size_t{10000000}));
  c.experiment->add_option("--model", c.experiment_args.options.model,
                           "half-precision: the checkpoint of a trained network (tapegrad train --save)");
  c.experiment->add_flag("--double", c.experiment_args.run.use_double, "train in double precision (default float)");
  c.experiment->add_option("--out", c.experiment_args.run.out,
                           "folder for the table, CSVs and plot (default: out/NAME)");

  c.rules = app->add_subcommand("rules", "print every built-in op's derivative rule (docs/reference/derivatives.md)");
  c.optimizers = app->add_subcommand(
      "optimizers", "print the optimizer table: updates, keys, defaults (docs/reference/optimizers.md)");
  c.errors = app->add_subcommand("errors", "print the kinds of error tapegrad reports (docs/reference/errors.md)");
  c.exit_codes = app->add_subcommand("exit-codes", "print the table of exit codes (docs/reference/exit-codes.md)");
  return app;
}

std::set<std::string> Command::given_train_options() const {
  std::set<std::string> given;
  for (const char* option : {"--data", "--limit", "--net", "--activation", "--init", "--double", "--batch", "--seed",
                             "--opt", "--schedule", "--clip", "--decay-scope", "--batch-norm", "--dropout",
                             "--augment"})
    if (train->count(option) > 0) given.insert(option);
  return given;
}

void Command::check_text() const {
  for (const std::string& o : compare_args.optimizers) tapegrad::OptimizerSpec::parse(o);
  if (*lr_find) tapegrad::OptimizerSpec::parse(lr_find_args.optimizer);
  for (const std::string& o : landscape_args.optimizers) tapegrad::OptimizerSpec::parse(o);
  tapegrad::OptimizerSpec::parse(train_args.optimizer);
  for (const RunOptions* run : {&compare_args.run, &train_args.run, &summary_args.run}) run->check_net();
  for (const RunOptions* run : {&compare_args.run, &train_args.run, &landscape_args.run})
    tapegrad::Augmentation::parse(run->augment);  // before any data is read
}

}  // namespace cli
