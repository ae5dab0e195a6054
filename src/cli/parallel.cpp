#include "cli/parallel.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace cli {

std::size_t available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void run_in_order(std::size_t count, std::size_t jobs,
                  const std::function<void(std::size_t, const std::function<bool()>& should_stop)>& task,
                  const std::function<void(std::size_t)>& finished, const std::function<void()>& waiting) {
  std::atomic<bool> failed{false};
  const std::function<bool()> stop = [&failed] { return failed.load(); };
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<char> done(count, 0);
  std::exception_ptr first_failure;
  std::size_t first_failed = count;  // index of the task that failed first (in time)
  std::size_t next = 0;
  const auto worker = [&] {
    for (;;) {
      std::size_t i = 0;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (next == count || failed) return;
        i = next++;
      }
      try {
        task(i, stop);
        std::lock_guard<std::mutex> lock(mutex);
        done[i] = 1;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!first_failure) {
          first_failure = std::current_exception();
          first_failed = i;
        }
        failed = true;
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::max<std::size_t>(1, std::min(jobs, count)); ++t) threads.emplace_back(worker);
  std::size_t handed = 0;
  std::exception_ptr handing_failure;  // finished() threw (a write failed): stop the rest and report that
  {
    std::unique_lock<std::mutex> lock(mutex);
    while (handed < count && !failed) {
      if (done[handed]) {
        lock.unlock();
        try {
          finished(handed++);
        } catch (...) {
          handing_failure = std::current_exception();
          failed = true;
        }
        lock.lock();
        continue;
      }
      changed.wait_for(lock, std::chrono::milliseconds(200));
      if (waiting) {
        lock.unlock();
        waiting();
        lock.lock();
      }
    }
  }
  for (std::thread& t : threads) t.join();
  if (handing_failure) std::rethrow_exception(handing_failure);
  // after a failure: the runs that finished before the failed one are still kept
  for (; handed < first_failed && done[handed]; ++handed) finished(handed);
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace cli
