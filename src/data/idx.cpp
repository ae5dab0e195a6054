#include "tapegrad/data/idx.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

constexpr std::size_t kMaxRank = 8;
constexpr std::size_t kMaxBytes = std::size_t{1} << 36;  // 64 GiB: beyond any real IDX file
constexpr std::size_t kChunk = std::size_t{1} << 20;

struct GzClose {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzClose>;

// Reads up to n bytes; fewer only at the end of the data. Corrupt compressed data throws.
std::size_t read_some(gzFile f, std::uint8_t* out, std::size_t n, const std::string& path) {
  std::size_t done = 0;
  while (done < n) {
    const unsigned want = static_cast<unsigned>(std::min<std::size_t>(n - done, kChunk));
    const int got = gzread(f, out + done, want);
    if (got < 0) {
      int code = 0;
      const char* why = gzerror(f, &code);
      throw DataError(fmt::format("{}: cannot decompress: {}", path, why ? why : "gzip error"));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

// zlib's gzread stops quietly at bytes that follow a gzip stream; a file with such bytes is not what it claims
// to be. Walks the gzip members of a .gz file (several are allowed, as `cat a.gz b.gz` makes) and refuses any
// other bytes after the last one. A raw (uncompressed) file passes unchanged.
void check_gzip_ends_cleanly(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw DataError(fmt::format("{}: cannot open (does the file exist?)", path));
  std::vector<unsigned char> in(kChunk), out(kChunk);
  std::size_t have = std::fread(in.data(), 1, in.size(), f.get());
  if (have < 2 || in[0] != 0x1f || in[1] != 0x8b) return;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw DataError(fmt::format("{}: cannot start zlib", path));
  std::unique_ptr<z_stream, int (*)(z_stream*)> end(&z, &inflateEnd);
  std::size_t consumed = 0;  // bytes of `in` already given to zlib
  for (;;) {
    if (consumed == have) {  // refill
      have = std::fread(in.data(), 1, in.size(), f.get());
      consumed = 0;
      if (have == 0) throw DataError(fmt::format("{}: truncated gzip stream", path));
    }
    z.next_in = in.data() + consumed;
    z.avail_in = static_cast<uInt>(have - consumed);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int r = inflate(&z, Z_NO_FLUSH);
    consumed = have - z.avail_in;
    if (r == Z_OK || (r == Z_BUF_ERROR && z.avail_in == 0)) continue;
    if (r != Z_STREAM_END) throw DataError(fmt::format("{}: cannot decompress: {}", path, z.msg ? z.msg : "gzip error"));
    // the end of one member: what follows must be another member or nothing
    if (consumed == have) {
      have = std::fread(in.data(), 1, in.size(), f.get());
      consumed = 0;
      if (have == 0) return;
    }
    const std::size_t left = have - consumed;
    if (left >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
      inflateReset(&z);
      continue;
    }
    std::size_t extra = left;
    while (const std::size_t n = std::fread(in.data(), 1, in.size(), f.get())) extra += n;
    throw DataError(fmt::format("{}: has {} bytes after its gzip stream", path, extra));
  }
}

}  // namespace

IdxArray read_idx(const std::string& path, std::size_t expected_rank) {
  GzFile file(gzopen(path.c_str(), "rb"));  // reads .gz and raw files alike
  if (!file) throw DataError(fmt::format("{}: cannot open (does the file exist?)", path));
  std::uint8_t magic[4];
  if (read_some(file.get(), magic, 4, path) != 4)
    throw DataError(fmt::format("{}: truncated: shorter than the 4-byte IDX magic number", path));
  if (magic[0] != 0 || magic[1] != 0)
    throw DataError(fmt::format("{}: not an IDX file (magic starts {:02x} {:02x}, expected 00 00)", path, magic[0],
                                magic[1]));
  if (magic[2] != 0x08)
    throw DataError(fmt::format("{}: IDX element type 0x{:02x} is not supported (only 0x08, unsigned byte)", path,
                                magic[2]));
  const std::size_t rank = magic[3];
  if (rank != expected_rank)
    throw DataError(fmt::format("{}: has {} dimensions, expected {} (magic 0x{:08x})", path, rank, expected_rank,
                                0x800u | unsigned(rank)));
  if (rank == 0 || rank > kMaxRank) throw DataError(fmt::format("{}: {} dimensions is not supported", path, rank));

  IdxArray array;
  std::size_t total = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    std::uint8_t b[4];
    if (read_some(file.get(), b, 4, path) != 4)
      throw DataError(fmt::format("{}: truncated inside the header (dimension {} of {})", path, i + 1, rank));
    const std::size_t d = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
    array.dims.push_back(d);
    if (d != 0 && total > kMaxBytes / d)
      throw DataError(fmt::format("{}: header dimensions ({}) describe more than 64 GiB", path, fmt::join(array.dims, " x ")));
    total *= d;
  }
  // Grow as bytes arrive: a lying header costs at most one chunk beyond the real data.
  while (array.data.size() < total) {
    const std::size_t at = array.data.size();
    const std::size_t want = std::min(kChunk, total - at);
    array.data.resize(at + want);
    const std::size_t got = read_some(file.get(), array.data.data() + at, want, path);
    if (got < want)
      throw DataError(fmt::format("{}: truncated: the header ({}) promises {} data bytes, the file has {}", path,
                                  fmt::join(array.dims, " x "), total, at + got));
  }
  std::uint8_t extra;
  if (read_some(file.get(), &extra, 1, path) != 0)
    throw DataError(fmt::format("{}: has bytes after the {} the header ({}) describes", path, total,
                                fmt::join(array.dims, " x ")));
  check_gzip_ends_cleanly(path);
  return array;
}

void write_idx(const std::string& path, const IdxArray& array) {
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  GzFile file(gzopen(path.c_str(), gz ? "wb" : "wbT"));  // T: write uncompressed
  if (!file) throw DataError(fmt::format("{}: cannot open for writing", path));
  std::vector<std::uint8_t> header{0, 0, 0x08, static_cast<std::uint8_t>(array.dims.size())};
  for (std::size_t d : array.dims)
    for (int shift : {24, 16, 8, 0}) header.push_back(static_cast<std::uint8_t>(d >> shift));
  const auto write = [&](const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min(n, kChunk));
      if (gzwrite(file.get(), p, chunk) != static_cast<int>(chunk))
        throw DataError(fmt::format("{}: write failed", path));
      p += chunk;
      n -= chunk;
    }
  };
  write(header.data(), header.size());
  write(array.data.data(), array.data.size());
  if (gzclose(file.release()) != Z_OK) throw DataError(fmt::format("{}: write failed on close", path));
}

}  // namespace tapegrad
