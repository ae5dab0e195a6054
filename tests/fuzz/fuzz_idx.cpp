// libFuzzer target: any bytes given to the IDX reader (raw, or gzip when they look like it) must give an
// IdxArray or a DataError -- never a crash, a leak, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include "feed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An in-memory file, read through its /proc path like any other file.
  const int fd = memfd_create("idx", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) fuzz::feed_idx("/proc/self/fd/" + std::to_string(fd));
  close(fd);
  return 0;
}
