// tapegrad: compare optimizers, train, evaluate and gradient-check from the command line.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/exit_codes.hpp"
#include "cli/grid.hpp"
#include "cli/processes.hpp"

namespace {
// What the program printed must have reached its destination (a full disk or a closed pipe behind stdout is a
// failure too): 0 if it did.
int flushed(int code) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "tapegrad: writing to standard output failed\n");
    return code == 0 ? int(cli::Exit::error) : code;
  }
  return code;
}
int run(cli::Command& c, cli::Processes& processes);
int failed(cli::Processes& processes, const std::string& message, cli::Exit code);

// What every process of an MPI job must share: the subcommand and every option's value as given ("" when not
// given, so the same default applies), in the order the program defines them.
std::vector<std::pair<std::string, std::string>> settings_of(const CLI::App& app) {
  std::vector<std::pair<std::string, std::string>> settings;
  const auto add = [&](const CLI::App& level) {
    for (const CLI::Option* o : level.get_options()) {
      if (o->get_name() == "--help") continue;
      settings.emplace_back(o->get_name(), fmt::format("{}", fmt::join(o->results(), " ")));
    }
  };
  add(app);
  for (const CLI::App* sub : app.get_subcommands()) {
    settings.emplace_back("the subcommand", sub->get_name());
    add(*sub);
  }
  return settings;
}
}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<cli::Processes> processes;
  try {
    processes = std::make_unique<cli::Processes>(argc, argv);  // joins the MPI job under mpirun
  } catch (const tapegrad::Error& e) {
    fmt::print(stderr, "tapegrad: {}\n", e.what());
    return int(cli::Exit::error);
  }
  cli::Command c;
  const auto app = cli::make_app(c);
  if (argc == 1) {  // what there is to do
    fmt::print(stderr, "{}\ntapegrad: give a subcommand\n", app->help());
    return int(cli::Exit::error);
  }
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end with 0; every mistake on the command line with the table's one code
    return app->exit(e) == 0 ? int(cli::Exit::ok) : int(cli::Exit::error);
  }
  try {
    processes->agree(settings_of(*app));
  } catch (const tapegrad::Error& e) {
    return failed(*processes, e.what(), cli::Exit::error);
  }
  cli::install_signal_handlers();
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr || app->count("--threads")) tapegrad::set_blas_threads(c.threads);
  if (processes->root() && (c.train->parsed() || c.compare->parsed() || c.experiment->parsed()))
    if (const std::string note = tapegrad::blas_kernel_note(); !note.empty()) fmt::print(stderr, "note: {}\n", note);
  return flushed(run(c, *processes));
}

namespace {
// An error one process of several has seen alone ends them all (none is left waiting for it); one they all
// share is reported once, by process 0, and each ends normally.
int failed(cli::Processes& processes, const std::string& message, cli::Exit code) {
  if (!processes.distributed()) {
    fmt::print(stderr, "tapegrad: {}\n", message);
    return int(code);
  }
  if (processes.failure_is_shared()) {
    if (processes.root()) fmt::print(stderr, "tapegrad: {}\n", message);
    return int(code);
  }
  fmt::print(stderr, "tapegrad: process {} of {}: {}; stopping every process\n", processes.rank(), processes.size(),
             message);
  std::fflush(stdout);
  processes.abort(int(code));
}

// Options given to `sub` that the chosen mode does not read: refused, naming the first and why, never ignored.
void refuse_inapplicable(const CLI::App& sub, const std::vector<std::string>& applicable, const std::string& mode) {
  for (const CLI::Option* o : sub.get_options()) {
    if (o->count() == 0) continue;
    const std::string name = o->get_name();
    if (std::find(applicable.begin(), applicable.end(), name) == applicable.end())
      throw tapegrad::ValueError(fmt::format("{} does not apply to {}; leave it out", name, mode));
  }
}

void check_applicable(const cli::Command& c) {
  if (*c.compare && c.compare->count("--function")) {
    refuse_inapplicable(*c.compare, {"--function", "--opt", "--all", "--steps", "--out"},
                        "compare --function (it runs optimizers on a surface, it trains no network)");
    if (c.compare_args.function.empty())
      throw tapegrad::ValueError("--function: give a surface (bowl, rosenbrock, beale or saddle), or leave the "
                                 "option out to compare networks");
  } else if (*c.compare) {
    for (const char* option : {"--all", "--steps"})
      if (c.compare->count(option))
        throw tapegrad::ValueError(fmt::format("{} applies to compare --function only; add --function SURFACE", option));
  }
  if (*c.lr_find)  // one batch per rate: nothing of a training run's length or schedule applies
    for (const char* option : {"--epochs", "--iterations", "--schedule", "--clip", "--grad-norms", "--augment"})
      if (c.lr_find->count(option))
        throw tapegrad::ValueError(fmt::format(
            "{} does not apply to lr-find (it trains one batch per rate, --steps rates); leave it out", option));
  if (*c.doctor)  // no training run: its length, schedule and regularisation do not apply
    refuse_inapplicable(*c.doctor,
                        c.doctor_args.model.empty()
                            ? std::vector<std::string>{"--data", "--limit", "--net", "--activation", "--init",
                                                       "--batch-norm", "--dropout", "--batch", "--seed", "--out",
                                                       "--opt"}
                            : std::vector<std::string>{"--model", "--data", "--batch", "--seed", "--out", "--opt"},
                        c.doctor_args.model.empty()
                            ? "doctor (it builds the network in double and trains only a few steps)"
                            : "doctor --model (the checkpoint holds the network)");
  if (*c.landscape && !c.landscape_args.model.empty())  // the checkpoint decides the network and its training
    refuse_inapplicable(*c.landscape,
                        {"--model", "--data", "--seed", "--out", "--range", "--points", "--grid", "--rows"},
                        "landscape --model (the checkpoint holds the network; --seed picks the directions)");
  if (*c.landscape && c.landscape_args.model.empty())
    for (const char* option : {"--range", "--points"})
      if (c.landscape->count(option))
        throw tapegrad::ValueError(fmt::format("{} applies to landscape --model only (the paths set the plane's "
                                               "extent)",
                                               option));
  if (*c.experiment) {
    bool standalone = false;
    for (const cli::StandaloneExperiment& e : cli::standalone_experiments())
      if (e.name == c.experiment_args.name) {
        std::vector<std::string> accepted{"name", "--seed", "--out"};
        accepted.insert(accepted.end(), e.options.begin(), e.options.end());
        refuse_inapplicable(*c.experiment, accepted, fmt::format("experiment {}", e.name));
        standalone = true;
      }
    if (!standalone)
      for (const char* option : {"--epochs", "--limit"})
        if (c.experiment->count(option))
          throw tapegrad::ValueError(fmt::format("{} applies to the experiments sine, addition and char-lm only (the "
                                                 "book's chapter 6 experiments train as the book does)",
                                                 option));
  }
}

int run(cli::Command& c, cli::Processes& processes) {
  try {
    check_applicable(c);
    if (*c.compare) {
      const cli::CompareArgs& a = c.compare_args;
      return c.compare->count("--function")
                 ? cli::compare_function(a.function, a.optimizers, a.all, a.steps, a.run.out)
                 : cli::compare_networks(a.run, a.optimizers, a.vary, a.seeds, a.max_runs, a.lr_sweep, a.threshold,
                                         a.jobs, processes);
    }
    if (*c.train) {
      const cli::TrainArgs& a = c.train_args;
      return cli::train(a.run, a.optimizer, a.save, a.resume, c.given_train_options(), a.data_parallel,
                        a.allow_changed_data, processes);
    }
    if (*c.landscape) {
      if (processes.distributed())
        throw tapegrad::ValueError("landscape: runs on one process; start it without mpirun");
      return cli::landscape(c.landscape_args);
    }
    if (*c.doctor) {
      if (processes.distributed()) throw tapegrad::ValueError("doctor: runs on one process; start it without mpirun");
      return cli::doctor(c.doctor_args);
    }
    if (*c.lr_find) {
      if (processes.distributed())
        throw tapegrad::ValueError("lr-find: runs on one process (every process would run the same test into the "
                                   "same files); start it without mpirun");
      const cli::LrFindArgs& a = c.lr_find_args;
      return cli::lr_find(a.run, a.optimizer, a.range);
    }
    if (*c.eval) {
      const cli::EvalArgs& a = c.eval_args;
      return cli::evaluate(a.model, a.data, a.limit, a.misclassified);
    }
    if (*c.check) {
      const cli::GradcheckArgs& a = c.check_args;
      return cli::gradcheck(a.names, a.net, a.fast, a.order, a.seed, a.verbose);
    }
    if (*c.graph) {
      const cli::GraphArgs& a = c.graph_args;
      return cli::graph(a.demo, a.model, a.data, a.out, a.steps);
    }
    if (*c.summary) {
      const cli::SummaryArgs& a = c.summary_args;
      return cli::summary(a.run, a.features, a.classes);
    }
    if (*c.experiment) {
      const cli::ExperimentArgs& a = c.experiment_args;
      cli::ExperimentOptions options = a.options;
      options.data_given = c.experiment->count("--data") > 0;
      return cli::experiment(a.name, a.run, options, processes);
    }
    // the subcommands that print a table generated from the code (the pages of docs/reference/)
    const std::pair<CLI::App*, std::string (*)()> tables[] = {{c.errors, &tapegrad::errors_markdown},
                                                              {c.optimizers, &tapegrad::optimizers_markdown},
                                                              {c.rules, &tapegrad::derivative_rules_markdown},
                                                              {c.exit_codes, &cli::exit_codes_markdown}};
    for (const auto& [subcommand, table] : tables)
      if (*subcommand) {
        fmt::print("{}", table());
        return 0;
      }
  } catch (const tapegrad::Interrupted& e) {
    return failed(processes, e.what(), cli::Exit::interrupted);
  } catch (const tapegrad::MemoryError& e) {
    return failed(processes, e.what(), cli::Exit::out_of_memory);
  } catch (const tapegrad::Error& e) {
    return failed(processes, e.what(), cli::Exit::error);
  } catch (const std::bad_alloc&) {
    return failed(processes, "out of memory: the sizes asked for need more memory than this machine gives",
                  cli::Exit::out_of_memory);
  } catch (const std::system_error& e) {
    // fmt::print throws when a write to stdout fails (a full disk, a closed pipe) once its buffer is full
    if (std::ferror(stdout))
      return failed(processes, fmt::format("writing to standard output failed: {}", e.what()), cli::Exit::error);
    return failed(processes, fmt::format("unexpected error (a bug: please report it): {}", e.what()),
                  cli::Exit::internal);
  } catch (const std::exception& e) {
    return failed(processes, fmt::format("unexpected error (a bug: please report it): {}", e.what()),
                  cli::Exit::internal);
  } catch (...) {
    return failed(processes, "unexpected error of unknown type (a bug: please report it)", cli::Exit::internal);
  }
  return 0;
}
}  // namespace
