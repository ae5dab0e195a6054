#pragma once
// The processes the program runs in: this one alone, or the ranks `mpirun -np N` started (when built with MPI).
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/train/collective.hpp"

namespace tapegrad {
class MpiCollective;
}

namespace cli {

class Processes {
 public:
  /// Joins the MPI job when built with MPI and started by mpirun; otherwise one process, as always. Processes
  /// other than 0 send their standard output to /dev/null: process 0 speaks for all.
  Processes(int& argc, char**& argv);
  ~Processes();
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  std::size_t rank() const;
  std::size_t size() const;
  std::size_t local_size() const;  // processes of this job on this machine
  bool root() const { return rank() == 0; }
  bool distributed() const { return size() > 1; }
  /// For Trainer's data parallelism; null when not started by mpirun.
  tapegrad::Collective* collective();
  /// Every process's bytes at process 0, in rank order (one process: {bytes}).
  std::vector<std::string> gather(const std::string& bytes);
  /// Runs `part` on every process; if it throws on any, every process throws the first failed one's error
  /// (naming that process), so that all stop together and none waits for the others.
  void all_or_none(const std::function<void()>& part);
  /// Every process must run with the same settings (name and value pairs, in one order): if one process's differ
  /// from process 0's, every process throws a ValueError naming the first setting that differs, both values and
  /// the process, so that all stop together before any work. One process: nothing to compare.
  void agree(const std::vector<std::pair<std::string, std::string>>& settings);
  /// True after all_or_none threw: every process knows, so each can end normally.
  bool failure_is_shared() const { return failure_is_shared_; }
  /// Ends every process of the job with this exit code (an error only this process has seen).
  [[noreturn]] void abort(int exit_code);
  /// Whether this build has MPI (tapegrad::mpi).
  static bool built_with_mpi();

 private:
  std::unique_ptr<tapegrad::MpiCollective> mpi_;
  bool failure_is_shared_ = false;
};

}  // namespace cli
