#include "tapegrad/io/files.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

std::string folder_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The file a symlink points to, relative links read from the link's own folder.
std::string link_target(const std::string& link) {
  std::string buffer(PATH_MAX, '\0');
  const ssize_t n = readlink(link.c_str(), buffer.data(), buffer.size());
  if (n < 0) throw DataError(fmt::format("{}: cannot read the symbolic link ({})", link, std::strerror(errno)));
  buffer.resize(static_cast<std::size_t>(n));
  const std::filesystem::path target(buffer);
  return target.is_absolute() ? buffer : (std::filesystem::path(folder_of(link)) / target).string();
}

// Opens a new file beside `path` with a unique name, mode 0666 less the umask (as open(2) applies it).
int create_unique(const std::string& path, std::string& name) {
  static thread_local std::mt19937_64 draw{std::random_device{}()};
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int attempt = 0; attempt < 100; ++attempt) {
    name = path + ".tmp-";
    for (int i = 0; i < 6; ++i) name += kLetters[draw() % (sizeof kLetters - 1)];
    const int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST)
      throw DataError(fmt::format("{}: cannot create a file in folder {} ({})", path, folder_of(path),
                                  std::strerror(errno)));
  }
  throw DataError(fmt::format("{}: cannot create a file in folder {} (no free temporary name)", path, folder_of(path)));
}

}  // namespace

std::string output_target(const std::string& path) {
  if (path.empty()) throw DataError("an output file name is empty");
  std::string at = path;
  for (int hops = 0; hops <= 40; ++hops) {
    struct stat st {};
    if (lstat(at.c_str(), &st) != 0) {
      if (errno == ENOENT) return at;  // a new file
      throw DataError(fmt::format("{}: cannot inspect the output file ({})", at, std::strerror(errno)));
    }
    if (S_ISREG(st.st_mode)) return at;
    if (!S_ISLNK(st.st_mode)) {
      const std::string via = at == path ? "" : fmt::format(" (the symbolic link {} points to it)", path);
      throw DataError(fmt::format("{}: is {}{}, not a regular file; refusing to write over it, it is left as it was",
                                  at, kind_of(st.st_mode), via));
    }
    at = link_target(at);
  }
  throw DataError(fmt::format("{}: too many levels of symbolic links; nothing written", path));
}

std::string make_temporary_beside(const std::string& path) {
  std::string name;
  const int fd = create_unique(path, name);
  close(fd);
  return name;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string target = output_target(path);
  std::string tmp;
  const int fd = create_unique(target, tmp);
  const auto fail = [&](const char* what, int error) {
    std::remove(tmp.c_str());
    throw DataError(fmt::format("{}: {} failed ({}); {} is unchanged", path, what, std::strerror(error), path));
  };
  struct stat old {};
  if (stat(target.c_str(), &old) == 0 && fchmod(fd, old.st_mode & 07777) != 0) {  // a replaced file keeps its mode
    const int error = errno;
    close(fd);
    fail("keeping the file's permissions", error);
  }
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
  if (std::rename(tmp.c_str(), target.c_str()) != 0) fail("renaming the new file into place", errno);
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
