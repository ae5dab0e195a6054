#pragma once
// What Trainer needs from a group of processes that train one model together (data parallel): who this process
// is, a sum over all of them, and process 0's values sent to all. tapegrad::MpiCollective
// (tapegrad/distributed/mpi.hpp, target tapegrad::mpi) implements it on Open MPI.
#include <cstddef>
#include <vector>

namespace tapegrad {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual std::size_t rank() const = 0;  // 0 .. size() - 1
  virtual std::size_t size() const = 0;
  /// Element-wise sum over every process, in place; every process gets the same result. A collective call:
  /// every process calls it with the same number of values.
  virtual void allreduce_sum(std::vector<float>& values) = 0;
  virtual void allreduce_sum(std::vector<double>& values) = 0;
  /// Process 0's values, copied into every process's (of the same size).
  virtual void broadcast(std::vector<float>& values) = 0;
  virtual void broadcast(std::vector<double>& values) = 0;
};

}  // namespace tapegrad
