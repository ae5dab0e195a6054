// tapegrad: compare optimizers, train, evaluate and gradient-check from the command line.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <set>

#include <fmt/format.h>

#include "cli/common.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tapegrad: reverse-mode autodiff in C++ -- compare optimizers, train, evaluate, gradient-check"};
  app.require_subcommand(1);
  int threads = 1;
  app.add_option("--threads", threads, "OpenBLAS threads (1 is fastest on two cores)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));

  cli::RunOptions compare_run;
  compare_run.out = "out";
  std::vector<std::string> compare_opts;
  double threshold = 0.5;
  bool function = false, all = false;
  int steps = 30;
  CLI::App* compare = app.add_subcommand("compare", "train one network under several optimizers and compare them");
  compare_run.add_to(*compare);
  compare->add_option("--opt", compare_opts,
                      "optimizer with options, repeatable: sgd:lr=0.1, momentum:lr=0.01,momentum=0.9, adagrad, "
                      "nesterov, rmsprop, adam:lr=0.001 (default: sgd momentum adagrad, the book's defaults)");
  compare->add_option("--threshold", threshold, "report the first iteration whose smoothed loss is below this")
      ->capture_default_str();
  compare->add_flag("--function", function, "the book's 2-D comparison on f(x, y) = x^2/20 + y^2 from (-7, 2)");
  compare->add_flag("--all", all, "with --function: also Nesterov and RMSProp");
  compare->add_option("--steps", steps, "with --function: updates per optimizer (at most 100000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  cli::RunOptions train_run;
  std::string train_opt = "sgd:lr=0.1", save, resume;
  CLI::App* train = app.add_subcommand("train", "train one configuration; saves the model and optimizer state each epoch");
  train_run.add_to(*train);
  train->add_option("--opt", train_opt, "optimizer with options")->capture_default_str();
  train->add_option("--save", save, "checkpoint path (default: OUT/model.tgckpt)");
  train->add_option("--resume", resume,
                    "continue the run this checkpoint records (network, optimizer and its state, data, batch, seed, "
                    "batch order) for --epochs more; options that differ from it are refused");

  std::string model = "out/model.tgckpt", eval_data = tapegrad::default_data_dir();
  std::size_t eval_limit = 0;
  CLI::App* eval = app.add_subcommand("eval", "accuracy and confusion matrix of a saved model on the test set");
  eval->add_option("--model", model, "checkpoint written by `tapegrad train`")->capture_default_str();
  eval->add_option("--data", eval_data, "MNIST-format folder")->capture_default_str();
  eval->add_option("--limit", eval_limit, "use only the first N test images (0: all)")->capture_default_str();

  std::vector<std::string> names;
  bool fast = false, verbose = false;
  std::uint64_t seed = 1;
  CLI::App* check = app.add_subcommand("gradcheck", "gradient-check every built-in op and layer (or those named)");
  check->add_option("names", names, "checks to run, e.g. matmul softmax Linear (default: all)");
  check->add_flag("--fast", fast, "random directional derivatives instead of every element");
  check->add_flag("--verbose", verbose, "print every report table");
  check->add_option("--seed", seed, "inputs and upstream gradients")->capture_default_str();

  CLI::App* rules = app.add_subcommand("rules", "print every built-in op's derivative rule (docs/derivatives.md)");

  CLI11_PARSE(app, argc, argv);
  cli::install_signal_handlers();
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr || app.count("--threads")) tapegrad::set_blas_threads(threads);
  try {
    if (*compare)
      return function ? cli::compare_function(compare_opts, all, steps, compare_run.out)
                      : cli::compare_networks(compare_run, compare_opts, threshold);
    if (*train) {
      std::set<std::string> given;
      for (const char* option : {"--data", "--limit", "--net", "--activation", "--init", "--double", "--batch", "--seed",
                                 "--opt"})
        if (train->count(option) > 0) given.insert(option);
      return cli::train(train_run, train_opt, save, resume, given);
    }
    if (*eval) return cli::evaluate(model, eval_data, eval_limit);
    if (*check) return cli::gradcheck(names, fast, seed, verbose);
    if (*rules) {
      fmt::print("{}", tapegrad::derivative_rules_markdown());
      return std::fflush(stdout) == 0 && !std::ferror(stdout) ? 0 : 1;
    }
  } catch (const tapegrad::Interrupted& e) {
    fmt::print(stderr, "tapegrad: {}\n", e.what());
    return 130;
  } catch (const tapegrad::Error& e) {
    fmt::print(stderr, "tapegrad: {}\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "tapegrad: out of memory: the sizes asked for need more memory than this machine has\n");
    return 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tapegrad: unexpected error: {}\n", e.what());
    return 1;
  } catch (...) {
    fmt::print(stderr, "tapegrad: unexpected error of unknown type\n");
    return 1;
  }
  return 0;
}
