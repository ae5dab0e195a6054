#pragma once
// MNIST's IDX format: big-endian header (0, 0, type 0x08 = unsigned byte, number of dimensions), the
// extents as 32-bit big-endian integers, then the bytes. Read raw or gzip-compressed.
#include <cstdint>
#include <string>
#include <vector>

namespace tapegrad {

struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;  // row-major, product(dims) bytes
};

/// Reads an unsigned-byte IDX file (.gz or raw) with `expected_rank` dimensions. Any problem (missing,
/// truncated, wrong magic, wrong rank, trailing bytes, corrupt gzip) throws DataError naming the file. Memory is
/// allocated as data actually arrives, so an absurd header cannot cause a huge allocation.
IdxArray read_idx(const std::string& path, std::size_t expected_rank);

/// Writes one (raw, or gzip when the path ends in .gz); for tests and tools.
void write_idx(const std::string& path, const IdxArray& array);

}  // namespace tapegrad
