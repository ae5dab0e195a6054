#pragma once
// tapegrad::Collective between threads of one process: the test suite's stand-in for MPI, so that data-parallel
// training is tested (and sanitized) without mpirun. Sums in rank order, identical on every thread.
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "tapegrad/train/collective.hpp"

namespace testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(std::size_t size) : size_(size), slots_(size) {}
  std::size_t size() const { return size_; }
  // Every thread's vector in slot[rank], then every thread reads them all, then the slots may be reused.
  template <class T>
  void exchange(std::size_t rank, std::vector<T>& values, bool sum) {
    slots_[rank].assign(values.begin(), values.end());
    wait_for_all();
    if (sum) {
      for (std::size_t i = 0; i < values.size(); ++i) {
        T total = 0;
        for (std::size_t r = 0; r < size_; ++r) total += T(slots_[r][i]);
        values[i] = total;
      }
    } else {
      for (std::size_t i = 0; i < values.size(); ++i) values[i] = T(slots_[0][i]);
    }
    wait_for_all();
  }

 private:
  void wait_for_all() {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::size_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      all_arrived_.notify_all();
    } else {
      all_arrived_.wait(lock, [&] { return generation_ != generation; });
    }
  }
  std::size_t size_;
  std::vector<std::vector<double>> slots_;  // floats are exact in double
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  std::size_t arrived_ = 0, generation_ = 0;
};

class ThreadCollective final : public tapegrad::Collective {
 public:
  ThreadCollective(ThreadGroup& group, std::size_t rank) : group_(group), rank_(rank) {}
  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return group_.size(); }
  void allreduce_sum(std::vector<float>& v) override { group_.exchange(rank_, v, true); }
  void allreduce_sum(std::vector<double>& v) override { group_.exchange(rank_, v, true); }
  void broadcast(std::vector<float>& v) override { group_.exchange(rank_, v, false); }
  void broadcast(std::vector<double>& v) override { group_.exchange(rank_, v, false); }

 private:
  ThreadGroup& group_;
  std::size_t rank_;
};

}  // namespace testing
