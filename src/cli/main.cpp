// tapegrad: compare optimizers, train, evaluate and gradient-check from the command line.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/grid.hpp"
#include "cli/processes.hpp"

namespace {
// What the program printed must have reached its destination (a full disk or a closed pipe behind stdout is a
// failure too): 0 if it did.
int flushed(int code) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "tapegrad: writing to standard output failed\n");
    return code == 0 ? 2 : code;
  }
  return code;
}
int run(cli::Command& c, cli::Processes& processes);
}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<cli::Processes> processes;
  try {
    processes = std::make_unique<cli::Processes>(argc, argv);  // joins the MPI job under mpirun
  } catch (const tapegrad::Error& e) {
    fmt::print(stderr, "tapegrad: {}\n", e.what());
    return 2;
  }
  cli::Command c;
  const auto app = cli::make_app(c);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app->exit(e);
  }
  cli::install_signal_handlers();
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr || app->count("--threads")) tapegrad::set_blas_threads(c.threads);
  return flushed(run(c, *processes));
}

namespace {
// An error one process of several has seen alone ends them all (none is left waiting for it); one they all
// share is reported once, by process 0, and each ends normally.
int failed(cli::Processes& processes, const std::string& message, int code) {
  if (!processes.distributed()) {
    fmt::print(stderr, "tapegrad: {}\n", message);
    return code;
  }
  if (processes.failure_is_shared()) {
    if (processes.root()) fmt::print(stderr, "tapegrad: {}\n", message);
    return code;
  }
  fmt::print(stderr, "tapegrad: process {} of {}: {}; stopping every process\n", processes.rank(), processes.size(),
             message);
  std::fflush(stdout);
  processes.abort(code);
}

int run(cli::Command& c, cli::Processes& processes) {
  try {
    if (*c.compare)
      return !c.function.empty() ? cli::compare_function(c.function, c.compare_opts, c.all, c.steps, c.compare_run.out)
                        : cli::compare_networks(c.compare_run, c.compare_opts, c.vary, c.seeds, c.lr_sweep, c.threshold,
                                                c.jobs, processes);
    if (*c.train)
      return cli::train(c.train_run, c.train_opt, c.save, c.resume, c.given_train_options(), c.data_parallel,
                        processes);
    if (*c.eval) return cli::evaluate(c.model, c.eval_data, c.eval_limit, c.misclassified);
    if (*c.check) return cli::gradcheck(c.names, c.check_net, c.fast, c.order, c.seed, c.verbose);
    if (*c.graph) return cli::graph(c.demo, c.graph_model, c.graph_data, c.graph_out, c.graph_steps);
    if (*c.summary) return cli::summary(c.summary_run, c.summary_features, c.summary_classes);
    if (*c.experiment)
      return cli::experiment(c.experiment_name, c.experiment_run, c.experiment_options, processes);
    if (*c.rules) {
      fmt::print("{}", tapegrad::derivative_rules_markdown());
      return 0;
    }
  } catch (const tapegrad::Interrupted& e) {
    return failed(processes, e.what(), 130);
  } catch (const tapegrad::Error& e) {
    return failed(processes, e.what(), 2);
  } catch (const std::bad_alloc&) {
    return failed(processes, "out of memory: the sizes asked for need more memory than this machine has", 3);
  } catch (const std::exception& e) {
    return failed(processes, fmt::format("unexpected error: {}", e.what()), 1);
  } catch (...) {
    return failed(processes, "unexpected error of unknown type", 1);
  }
  return 0;
}
}  // namespace
