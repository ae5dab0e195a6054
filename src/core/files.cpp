#include "tapegrad/core/files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "tapegrad/core/error.hpp"

namespace tapegrad {
namespace {

std::string folder_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// Creates a unique file from a mkstemp template; returns its descriptor and sets `name`.
int create_unique(const std::string& path, std::string& name) {
  std::vector<char> pattern(path.begin(), path.end());
  const char suffix[] = ".tmp-XXXXXX";
  pattern.insert(pattern.end(), suffix, suffix + sizeof suffix);  // with the terminating NUL
  const int fd = mkstemp(pattern.data());
  if (fd < 0)
    throw DataError(fmt::format("{}: cannot create a file in folder {} ({})", path, folder_of(path),
                                std::strerror(errno)));
  name.assign(pattern.data());
  return fd;
}

}  // namespace

std::string make_temporary_beside(const std::string& path) {
  std::string name;
  const int fd = create_unique(path, name);
  close(fd);
  return name;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  std::string tmp;
  const int fd = create_unique(path, tmp);
  const auto fail = [&](const char* what, int error) {
    std::remove(tmp.c_str());
    throw DataError(fmt::format("{}: {} failed ({}); {} is unchanged", path, what, std::strerror(error), path));
  };
  const char* at = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = write(fd, at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      close(fd);
      fail("writing", error);
    }
    at += n;
    left -= static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    const int error = errno;
    close(fd);
    fail("flushing to disk", error);
  }
  if (close(fd) != 0) fail("closing", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming the new file into place", errno);
}

void prepare_output_folder(const std::string& folder) {
  const std::string name = folder.empty() ? "." : folder;
  std::error_code ec;
  std::filesystem::create_directories(name, ec);
  if (ec) throw DataError(fmt::format("{}: cannot create the output folder ({})", name, ec.message()));
  if (!std::filesystem::is_directory(name, ec))
    throw DataError(fmt::format("{}: the output folder is not a folder", name));
  const std::string probe = make_temporary_beside((std::filesystem::path(name) / ".tapegrad-write-test").string());
  std::remove(probe.c_str());
}

}  // namespace tapegrad
