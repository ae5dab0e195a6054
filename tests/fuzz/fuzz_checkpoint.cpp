// libFuzzer target: any bytes given to the checkpoint reader must load into the model (and optimizer) or
// give a DataError -- never a crash, a leak, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include "feed.hpp"

namespace {
void load_bytes(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("checkpoint", 0);
  if (fd < 0) return;
  if (write(fd, data, size) == static_cast<ssize_t>(size))
    fuzz::feed_checkpoint("/proc/self/fd/" + std::to_string(fd));
  close(fd);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load_bytes(data, size);
  const std::vector<std::uint8_t> repaired = fuzz::with_repaired_checksum({data, data + size});
  load_bytes(repaired.data(), repaired.size());
  return 0;
}
