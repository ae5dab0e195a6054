// Writing files: what is at the target decides. Device nodes, FIFOs, sockets and folders are refused and left
// as they were; a symbolic link stays a link and its target is replaced; new files get 0666 less the umask.
// Every case makes the real thing (mknod, mkfifo, a bound socket, symlink) in a temporary folder.
#include <cstring>
#include <filesystem>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.hpp"
#include "tapegrad/io/files.hpp"

using testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string text_of(const std::string& path) {
  const auto bytes = testing::read_bytes(path);
  return {bytes.begin(), bytes.end()};
}
void write_text(const std::string& path, const std::string& text) {
  testing::write_bytes(path, {text.begin(), text.end()});
}
std::string refusal(const std::string& path) {
  try {
    tg::write_file_atomically(path, "new contents");
  } catch (const tg::DataError& e) {
    return e.what();
  }
  return "";
}
mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}
// A character device like /dev/null (1, 3), made in the test's own folder: if a write replaced it, only the
// copy would be lost.
std::string make_null_device(const TempDir& dir) {
  const std::string path = dir.file("null-device");
  REQUIRE_MESSAGE(mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0,
                  "mknod needs root (CI runs as root): ", std::strerror(errno));
  return path;
}

}  // namespace

TEST_CASE("files: a device node, a FIFO, a socket or a folder at the target is refused and left as it was") {
  TempDir dir;
  const std::string device = make_null_device(dir);
  const std::string fifo = dir.file("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  const std::string socket_path = dir.file("socket");
  const int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::strcpy(address.sun_path, socket_path.c_str());
  REQUIRE(bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  const std::string folder = dir.file("folder");
  fs::create_directory(folder);

  const std::vector<std::pair<std::string, std::string>> cases{{device, "is a character device"},
                                                               {fifo, "is a FIFO"},
                                                               {socket_path, "is a socket"},
                                                               {folder, "is a folder"}};
  for (const auto& [path, kind] : cases) {
    CAPTURE(path);
    const std::string message = refusal(path);  // a FIFO is never opened, so this cannot block
    CHECK(message.find(path + ": " + kind) != std::string::npos);
    CHECK(message.find("left as it was") != std::string::npos);
  }
  CHECK(S_ISCHR(mode_of(device)));
  CHECK(S_ISFIFO(mode_of(fifo)));
  CHECK(S_ISSOCK(mode_of(socket_path)));
  CHECK(S_ISDIR(mode_of(folder)));
  CHECK(testing::temporaries_in(dir.str()) == 0);
  close(sock);
  // the same through output_target, which the renderers (gnuplot, dot) ask before they start
  CHECK_THROWS_AS(tg::output_target(device), tg::DataError);
  CHECK_THROWS_AS(tg::output_target(""), tg::DataError);
}

TEST_CASE("files: a symbolic link stays a link and the file it points to is replaced, in its own folder") {
  TempDir dir;
  fs::create_directory(dir.file("real"));
  fs::create_directory(dir.file("links"));
  write_text(dir.file("real/model.txt"), "old");
  fs::create_symlink("../real/model.txt", dir.file("links/relative"));  // relative to the link's folder
  fs::create_symlink(dir.file("links/relative"), dir.file("links/chain"));  // a link to a link
  tg::write_file_atomically(dir.file("links/chain"), "new");
  CHECK(fs::is_symlink(dir.file("links/chain")));
  CHECK(fs::is_symlink(dir.file("links/relative")));
  CHECK(text_of(dir.file("real/model.txt")) == "new");
  CHECK(testing::temporaries_in(dir.file("links")) == 0);
  CHECK(testing::temporaries_in(dir.file("real")) == 0);

  // a dangling link: its target is created where the link points
  fs::create_symlink(dir.file("real/later.txt"), dir.file("links/dangling"));
  tg::write_file_atomically(dir.file("links/dangling"), "created");
  CHECK(fs::is_symlink(dir.file("links/dangling")));
  CHECK(text_of(dir.file("real/later.txt")) == "created");

  // a link to a device node or a FIFO is refused, naming both; a loop is refused
  const std::string device = make_null_device(dir);
  fs::create_symlink(device, dir.file("links/to-device"));
  const std::string message = refusal(dir.file("links/to-device"));
  CHECK(message.find(device + ": is a character device") != std::string::npos);
  CHECK(message.find("symbolic link " + dir.file("links/to-device")) != std::string::npos);
  CHECK(S_ISCHR(mode_of(device)));
  CHECK(fs::is_symlink(dir.file("links/to-device")));
  fs::create_symlink(dir.file("links/loop-b"), dir.file("links/loop-a"));
  fs::create_symlink(dir.file("links/loop-a"), dir.file("links/loop-b"));
  CHECK(refusal(dir.file("links/loop-a")).find("too many levels of symbolic links") != std::string::npos);
}

TEST_CASE("files: new files get mode 0666 less the umask, replaced files keep their mode") {
  TempDir dir;
  const mode_t before = umask(022);
  tg::write_file_atomically(dir.file("a"), "x");
  CHECK((mode_of(dir.file("a")) & 07777) == 0644);
  umask(077);
  tg::write_file_atomically(dir.file("b"), "x");
  CHECK((mode_of(dir.file("b")) & 07777) == 0600);
  umask(0);
  tg::write_file_atomically(dir.file("c"), "x");
  CHECK((mode_of(dir.file("c")) & 07777) == 0666);
  CHECK((mode_of(tg::make_temporary_beside(dir.file("d"))) & 07777) == 0666);
  umask(022);
  REQUIRE(chmod(dir.file("a").c_str(), 0640) == 0);
  tg::write_file_atomically(dir.file("a"), "y");
  CHECK((mode_of(dir.file("a")) & 07777) == 0640);
  CHECK(text_of(dir.file("a")) == "y");
  umask(before);
}
