#include "alloc_counter.hpp"

#include <atomic>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
}

namespace {
std::atomic<std::size_t> allocations_in_this_process{0};
}

extern "C" {
void* malloc(std::size_t n) {
  allocations_in_this_process.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  allocations_in_this_process.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  allocations_in_this_process.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
}

namespace bench {
std::size_t heap_allocations() { return allocations_in_this_process.load(); }
}  // namespace bench
