// libFuzzer target: any bytes given to the checkpoint reader must load into the model (and optimizer) or
// give a DataError -- never a crash, a leak, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <zlib.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

namespace {
void load_bytes(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("checkpoint", 0);
  if (fd < 0) return;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    // the model of the seed corpus: 2-3-2 with BatchNorm, and Adam
    tg::Rng rng(1);
    auto net = tg::make_mlp<double>({{2, 3, 2}, tg::Activation::ReLU, tg::Init::he(), true, 0}, rng);
    auto adam = tg::make_adam<double>(net->parameters());
    try {
      tg::load_checkpoint(path, *net, adam.get());
    } catch (const tg::DataError&) {
    }
    try {
      tg::read_checkpoint_metadata(path);
    } catch (const tg::DataError&) {
    }
  }
  close(fd);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load_bytes(data, size);
  // The same bytes with a correct checksum, so that mutations reach the parser behind the CRC check.
  if (size >= 4) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), fixed.data(), uInt(size - 4)));
    std::memcpy(fixed.data() + size - 4, &crc, 4);
    load_bytes(fixed.data(), size);
  }
  return 0;
}
