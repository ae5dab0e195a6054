#pragma once
// tapegrad::Collective on Open MPI (target tapegrad::mpi, built when CMake finds MPI): data-parallel training
// across processes and machines (`mpirun -np N program`), and the few other exchanges a program needs. Every
// failed MPI call is a CommunicationError naming it; no MPI header leaks into user code.
#include <string>
#include <vector>

#include "tapegrad/train/collective.hpp"

namespace tapegrad {

class MpiCollective final : public Collective {
 public:
  /// Initialises MPI (once per process; the destructor finalises it), with errors returned rather than fatal.
  MpiCollective(int& argc, char**& argv);
  ~MpiCollective() override;
  MpiCollective(const MpiCollective&) = delete;
  MpiCollective& operator=(const MpiCollective&) = delete;

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }
  /// The processes of this job on this machine (they share its cores).
  std::size_t local_size() const { return local_size_; }
  void allreduce_sum(std::vector<float>& values) override;
  void allreduce_sum(std::vector<double>& values) override;
  void broadcast(std::vector<float>& values) override;
  void broadcast(std::vector<double>& values) override;
  /// Every process's bytes, in rank order, at process 0 (the others get an empty vector). Collective.
  std::vector<std::string> gather(const std::string& bytes);
  /// Collective: each process says how its part went ("" for success). Returns "" when every process
  /// succeeded, otherwise the first failed process's message prefixed with its rank, on every process.
  std::string first_failure(const std::string& my_error);
  /// Process 0's bytes, on every process (a collective call).
  std::string broadcast_bytes(const std::string& bytes);
  /// Ends every process of the job now with this exit code: an error on one process must not leave the
  /// others waiting in a collective call.
  [[noreturn]] void abort(int exit_code);
  /// True when this process was started by mpirun (Open MPI's or PMIx's environment is set).
  static bool launched_by_mpirun();

 private:
  std::size_t rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace tapegrad
