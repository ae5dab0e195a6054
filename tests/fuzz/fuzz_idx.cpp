// libFuzzer target: any bytes given to the IDX reader (raw, or gzip when they look like it) must give an
// IdxArray or a DataError -- never a crash, a leak, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "tapegrad/core/error.hpp"
#include "tapegrad/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An in-memory file, read through its /proc path like any other file.
  const int fd = memfd_create("idx", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    for (std::size_t rank : {1, 3}) {
      try {
        const tapegrad::IdxArray a = tapegrad::read_idx(path, rank);
        std::size_t total = 1;
        for (std::size_t d : a.dims) total *= d;
        if (a.dims.size() != rank || a.data.size() != total) __builtin_trap();  // the reader's own promise
      } catch (const tapegrad::DataError&) {
      }
    }
  }
  close(fd);
  return 0;
}
