#pragma once
// What the fuzz targets do with one input, shared with the regression test that replays their findings
// (tests/test_reliability.cpp): any outcome but a DataError or success is a bug.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <zlib.h>

#include "tapegrad/tapegrad.hpp"

namespace fuzz {

/// Reads the file as IDX of rank 1 and of rank 3; a successful read must keep the reader's own promise.
inline void feed_idx(const std::string& path) {
  for (std::size_t rank : {1, 3}) {
    try {
      const tapegrad::IdxArray a = tapegrad::read_idx(path, rank);
      std::size_t total = 1;
      for (std::size_t d : a.dims) total *= d;
      if (a.dims.size() != rank || a.data.size() != total) __builtin_trap();
    } catch (const tapegrad::DataError&) {
    }
  }
}

/// Loads the file as a checkpoint of the seed corpus's model (2-3-2 with BatchNorm) and Adam.
inline void feed_checkpoint(const std::string& path) {
  namespace tg = tapegrad;
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

/// The same bytes with a correct CRC-32 in their last four, so that mutations reach the parser behind the check.
inline std::vector<std::uint8_t> with_repaired_checksum(std::vector<std::uint8_t> bytes) {
  if (bytes.size() < 4) return bytes;
  const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), bytes.data(), uInt(bytes.size() - 4)));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  return bytes;
}

}  // namespace fuzz
