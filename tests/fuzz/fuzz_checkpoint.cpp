// libFuzzer target: any bytes given to the checkpoint reader must load into the model (and optimizer) or
// give a DataError -- never a crash, a leak, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("checkpoint", 0);
  if (fd < 0) return 0;
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
  return 0;
}
