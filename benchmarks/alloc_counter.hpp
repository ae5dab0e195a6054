#pragma once
// Counts heap allocations made through malloc, calloc, realloc and operator new by the whole process
// (tapegrad, LibTorch, the C++ library), by interposing malloc in the benchmark executable.
#include <cstddef>

namespace bench {
std::size_t heap_allocations();  // since the process started
}
