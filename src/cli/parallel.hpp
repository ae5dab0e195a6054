#pragma once
// Independent runs (a comparison's) on several threads, handed back in their order.
#include <cstddef>
#include <functional>

namespace cli {

/// The cores this process may run on (its CPU affinity), at least 1.
std::size_t available_cores();

/// Runs task(i, should_stop) for every i < count on up to `jobs` threads, and hands each finished one to
/// finished(i) on the calling thread in index order, so that output keeps the order of one job. When a task
/// throws, no new task starts, should_stop() turns true for those running, the tasks finished before the failed
/// one are still handed over, and the first failure is rethrown. Tasks run on their own threads even for one
/// job, so that the calling thread stays free to print.
/// While it waits, the calling thread calls waiting() about five times a second (progress).
void run_in_order(std::size_t count, std::size_t jobs,
                  const std::function<void(std::size_t, const std::function<bool()>& should_stop)>& task,
                  const std::function<void(std::size_t)>& finished, const std::function<void()>& waiting = {});

}  // namespace cli
