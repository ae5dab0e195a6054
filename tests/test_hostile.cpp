// The program against hostile targets and inputs, table-driven: every output option of every subcommand against
// a device node, a FIFO, a symlink, a read-only folder, a file-size limit and names that a shell or gnuplot would
// act on; every input against truncated, oversized and NaN-holding files; options that do not apply; grids that
// are too large; MPI processes that disagree. Each case: a clear message, a documented exit code (docs/reference/
// exit-codes.md), and nothing replaced or lost. New subcommands join the tables.
#include <algorithm>
#include <cstring>
#include <fstream>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "program.hpp"

using namespace testing;
namespace fs = std::filesystem;

namespace {

// One output of the program: the arguments that write it into `target` (a file, or a folder with --out), and
// the toy data they read from `data`.
struct Output {
  std::string name;
  std::function<std::vector<std::string>(const std::string& data, const std::string& target)> args;
  bool folder;  // `target` is a folder the program writes files into
};

const std::vector<Output>& outputs() {
  static const std::vector<Output> table{
      {"train --save", [](auto& d, auto& t) { return std::vector<std::string>{"train", "--data", d, "--net", "8", "--epochs", "1", "--batch", "100", "--save", t}; }, false},
      {"train --out", [](auto& d, auto& t) { return std::vector<std::string>{"train", "--data", d, "--net", "8", "--epochs", "1", "--batch", "100", "--out", t}; }, true},
      {"compare --out", [](auto& d, auto& t) { return std::vector<std::string>{"compare", "--data", d, "--net", "8", "--epochs", "1", "--batch", "100", "--opt", "sgd", "--out", t}; }, true},
      {"compare --function --out", [](auto&, auto& t) { return std::vector<std::string>{"compare", "--function", "bowl", "--out", t}; }, true},
      {"summary --out", [](auto&, auto& t) { return std::vector<std::string>{"summary", "--net", "8", "--features", "16", "--out", t}; }, true},
      {"graph --out", [](auto&, auto& t) { return std::vector<std::string>{"graph", "apple", "--out", t}; }, true},
      {"experiment --out", [](auto&, auto& t) { return std::vector<std::string>{"experiment", "activation-histogram", "--out", t}; }, true},
      {"eval --misclassified", [](auto& d, auto& t) { return std::vector<std::string>{"eval", "--model", d + ".tgckpt", "--data", d, "--misclassified", t}; }, true},
      {"graph --model --out", [](auto& d, auto& t) { return std::vector<std::string>{"graph", "--model", d + ".tgckpt", "--data", d, "--out", t}; }, true},
  };
  return table;
}

// The toy data every row reads, in `dir`/data, and the model the eval and graph rows read, in `dir`/data.tgckpt.
void write_data_and_model(const TempDir& dir) {
  write_toy_mnist(dir.file("data"));
  const Proc trained = spawn({"train", "--data", dir.file("data"), "--net", "8", "--epochs", "1", "--batch", "100",
                              "--save", dir.file("data.tgckpt"), "--out", dir.file("trained")},
                             dir.str());
  REQUIRE(trained.code == 0);
}

void make_device(const std::string& path) {
  REQUIRE_MESSAGE(mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod needs root: ", std::strerror(errno));
}
mode_t kind_of(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & S_IFMT;
}

}  // namespace

TEST_CASE("hostile: every output refuses a device node, a FIFO or a socket-like target and leaves it as it was") {
  TempDir dir;
  write_data_and_model(dir);
  for (const Output& o : outputs()) {
    CAPTURE(o.name);
    for (const std::string kind : {"device", "fifo"}) {
      CAPTURE(kind);
      const std::string target = dir.file(kind + "-" + std::to_string(&o - outputs().data()));
      if (kind == "device") make_device(target);
      else REQUIRE(mkfifo(target.c_str(), 0644) == 0);
      const mode_t before = kind_of(target);
      const Proc p = spawn(o.args(dir.file("data"), target), dir.str());
      INFO(p.output);
      CHECK(p.code == 2);
      CHECK(has(p.output, target));
      CHECK(kind_of(target) == before);  // still the device or FIFO it was
      fs::remove(target);
    }
  }
}

TEST_CASE("hostile: a device node or FIFO among the files an --out folder gets is refused, never replaced") {
  TempDir dir;
  write_data_and_model(dir);
  // the first file each subcommand writes into its folder
  const std::vector<std::pair<std::size_t, std::string>> first_files{{1, "train_history.csv"},
                                                                       {2, "compare_table.txt"},
                                                                       {3, "function_paths.csv"},
                                                                       {4, "model.dot"},
                                                                       {5, "apple.dot"},
                                                                       {7, "misclassified.png"},
                                                                       {8, "model.dot"}};
  for (const auto& [row, file] : first_files) {
    const Output& o = outputs()[row];
    CAPTURE(o.name);
    const std::string out = dir.file("out-" + std::to_string(row));
    fs::create_directories(out);
    make_device(out + "/" + file);
    const Proc p = spawn(o.args(dir.file("data"), out), dir.str());
    INFO(p.output);
    CHECK(p.code == 2);
    CHECK(has(p.output, out + "/" + file + ": is a character device"));
    CHECK(kind_of(out + "/" + file) == S_IFCHR);
  }
}

TEST_CASE("hostile: train --save /dev/null is refused before any training, /dev/null stays a device") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const Proc p = spawn({"train", "--data", dir.file("data"), "--net", "8", "--epochs", "1", "--save", "/dev/null"},
                       dir.str());
  CHECK(p.code == 2);
  CHECK(has(p.output, "/dev/null: is a character device"));
  CHECK_FALSE(has(p.output, "epoch"));
  CHECK(kind_of("/dev/null") == S_IFCHR);
}

TEST_CASE("hostile: a symlinked checkpoint stays a link, its target is what a save replaces") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  fs::create_directories(dir.file("real"));
  testing::write_bytes(dir.file("real/model.tgckpt"), {'o', 'l', 'd'});
  fs::create_symlink(dir.file("real/model.tgckpt"), dir.file("link.tgckpt"));
  const Proc p = spawn({"train", "--data", dir.file("data"), "--net", "8", "--epochs", "1", "--batch", "100", "--save",
                        dir.file("link.tgckpt"), "--out", dir.file("out")},
                       dir.str());
  INFO(p.output);
  REQUIRE(p.code == 0);
  CHECK(fs::is_symlink(dir.file("link.tgckpt")));
  CHECK(fs::file_size(dir.file("real/model.tgckpt")) > 100);  // the new checkpoint, in the link's target
  const Proc eval = spawn({"eval", "--model", dir.file("link.tgckpt"), "--data", dir.file("data")}, dir.str());
  CHECK(eval.code == 0);
}

TEST_CASE("hostile: outputs into a read-only folder or past a file-size limit fail with the file named") {
  TempDir dir;
  write_data_and_model(dir);
  for (const Output& o : outputs()) {
    CAPTURE(o.name);
    const std::string folder = dir.file("ro-" + std::to_string(&o - outputs().data()));
    fs::create_directories(folder);
    const std::string target = o.folder ? folder : folder + "/m.tgckpt";
    // read-only: as root, permissions do not stop writes, so the folder is made read-only by a file-size limit
    // of zero instead when running as root; otherwise by chmod
    const bool root = geteuid() == 0;
    if (!root) REQUIRE(chmod(folder.c_str(), 0555) == 0);
    const Proc p = spawn(o.args(dir.file("data"), target), dir.str(), [root] {
      if (root) {
        signal(SIGXFSZ, SIG_IGN);
        rlimit limit{1, 1};
        setrlimit(RLIMIT_FSIZE, &limit);
      }
    });
    INFO(p.output);
    CHECK(p.code == 2);
    CHECK(has(p.output, folder));
    CHECK(testing::temporaries_in(folder) == 0);
    chmod(folder.c_str(), 0755);
  }
}

TEST_CASE("hostile: names with quotes, $(), backticks, a leading $ and a newline are only names, plots whole") {
  TempDir dir;
  write_data_and_model(dir);
  for (const std::string name : {std::string("$HOME"), std::string("$(touch PWNED4)"), std::string("`touch PWNED5`"),
                                 std::string("it's \"q\""), std::string("line\nbreak"), std::string("@ARG1 %s")}) {
    for (const Output& o : outputs()) {
      CAPTURE(o.name);
      CAPTURE(name);
      const std::string target = dir.file(name + " " + std::to_string(&o - outputs().data()));
      const Proc p = spawn(o.args(dir.file("data"), o.folder ? target : target + ".tgckpt"), dir.str());
      INFO(p.output);
      CHECK(p.code == 0);
      if (o.folder) {
        for (const auto& entry : fs::directory_iterator(target))
          if (entry.path().extension() == ".png") CHECK(is_complete_png(entry.path().string()));
      } else {
        CHECK(fs::is_regular_file(target + ".tgckpt"));
      }
    }
  }
  for (const char* marker : {"PWNED4", "PWNED5"}) CHECK_FALSE(fs::exists(dir.file(marker)));
}

TEST_CASE("hostile: inputs that are truncated, oversized, NaN-holding or not files at all") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const Proc trained = spawn({"train", "--data", dir.file("data"), "--net", "8", "--epochs", "1", "--batch", "100",
                              "--save", dir.file("m.tgckpt"), "--out", dir.file("out")},
                             dir.str());
  REQUIRE(trained.code == 0);
  const auto whole = read_bytes(dir.file("m.tgckpt"));
  // a checkpoint cut short, a FIFO, a device and a folder given as --model and --resume
  write_bytes(dir.file("cut.tgckpt"), {whole.begin(), whole.begin() + long(whole.size() / 2)});
  REQUIRE(mkfifo(dir.file("fifo.tgckpt").c_str(), 0644) == 0);
  make_device(dir.file("device.tgckpt"));
  for (const std::string bad : {"cut.tgckpt", "fifo.tgckpt", "device.tgckpt", "out"}) {
    CAPTURE(bad);
    const Proc eval = spawn({"eval", "--model", dir.file(bad), "--data", dir.file("data")}, dir.str());
    CHECK(eval.code == 2);
    CHECK(has(eval.output, dir.file(bad)));
    const Proc resume = spawn({"train", "--resume", dir.file(bad), "--epochs", "1"}, dir.str());
    CHECK(resume.code == 2);
    CHECK(has(resume.output, dir.file(bad)));
  }
  // an IDX file that claims more images than it holds (oversized header), and one cut short
  fs::create_directories(dir.file("crafted"));
  for (const char* f : {"train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    fs::copy_file(dir.file("data") + "/" + f, dir.file("crafted") + "/" + f);
  tg::IdxArray huge{{4000000000u, 4, 4}, {}};
  huge.data.resize(16);
  tg::write_idx(dir.file("crafted/train-images-idx3-ubyte.gz"), huge);
  const Proc oversized = spawn({"train", "--data", dir.file("crafted"), "--epochs", "1", "--out", dir.file("o2")},
                               dir.str());
  CHECK(oversized.code == 2);
  CHECK(has(oversized.output, "train-images-idx3-ubyte.gz"));
}

TEST_CASE("hostile: options that do not apply to the chosen mode are refused, not ignored") {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"compare", "--all"}, "--all applies to compare --function only"},
      {{"compare", "--steps", "5"}, "--steps applies to compare --function only"},
      {{"compare", "--function", "bowl", "--net", "50"}, "--net does not apply to compare --function"},
      {{"compare", "--function", "bowl", "--epochs", "2"}, "--epochs does not apply to compare --function"},
      {{"compare", "--function", "bowl", "--seeds", "2"}, "--seeds does not apply to compare --function"},
      {{"compare", "--function", ""}, "--function: give a surface"},
      {{"experiment", "activation-histogram", "--data", "x"}, "--data does not apply to experiment activation-histogram"},
      {{"experiment", "activation-histogram", "--seeds", "2"}, "--seeds does not apply to experiment activation-histogram"},
      {{"experiment", "activation-histogram", "--double"}, "--double does not apply to experiment activation-histogram"},
      {{"train", "--allow-changed-data"}, "--allow-changed-data applies to --resume only"},
  };
  for (const auto& [args, message] : cases) {
    CAPTURE(message);
    const Proc p = spawn(args, dir.str());
    INFO(p.output);
    CHECK(p.code == 2);
    CHECK(has(p.output, message));
  }
}

TEST_CASE("hostile: a grid too large is refused before anything is built, with the count and the way to raise it") {
  TempDir dir;
  std::vector<std::string> args{"compare", "--data", dir.file("nowhere")};
  for (const char* axis : {"lr", "wd", "batch", "seed"}) {  // 4 x 30^4 = 3,240,000 configurations
    args.push_back("--vary");
    args.push_back(axis);
    for (int v = 1; v <= 30; ++v) args.push_back(std::to_string(v));
  }
  const auto start = std::chrono::steady_clock::now();
  const Proc p = spawn(args, dir.str());
  INFO(p.output);
  CHECK(p.code == 2);
  CHECK(has(p.output, "3240000 runs asked for (3240000 configurations x 1 seeds), more than the limit of 10000"));
  CHECK(has(p.output, "--max-runs"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  const Proc seeds = spawn({"compare", "--vary", "lr", "1", "2", "--opt", "sgd", "--seeds", "1000", "--max-runs", "1500"},
                           dir.str());
  CHECK(seeds.code == 2);
  CHECK(has(seeds.output, "2000 runs asked for (2 configurations x 1000 seeds), more than the limit of 1500"));
  const Proc trials = spawn({"experiment", "hyperparameter-search", "--trials", "10000", "--seeds", "2"}, dir.str());
  CHECK(trials.code == 2);
  CHECK(has(trials.output, "20000 runs asked for"));
}

TEST_CASE("hostile: the exit codes are one table: --help lists it, docs/reference/exit-codes.md is current") {
  TempDir dir;
  const Proc help = spawn({"--help"}, dir.str());
  CHECK(help.code == 0);
  CHECK(has(help.output, "Exit codes:"));
  CHECK(has(help.output, "130"));
  const Proc table = spawn({"exit-codes"}, dir.str());
  REQUIRE(table.code == 0);
  const auto page = read_bytes(std::string(TAPEGRAD_SOURCE_DIR) + "/docs/reference/exit-codes.md");
  CHECK_MESSAGE(std::string(page.begin(), page.end()) == table.output,
                "docs/reference/exit-codes.md is stale: build/tapegrad exit-codes > docs/reference/exit-codes.md");
  const Proc nothing = spawn({}, dir.str());
  CHECK(nothing.code == 2);
  for (const char* sub : {"compare", "train", "eval", "gradcheck", "graph", "summary", "experiment", "rules",
                          "optimizers", "errors", "exit-codes"})
    CHECK(has(nothing.output, sub));
  const Proc version = spawn({"--version"}, dir.str());
  CHECK(version.code == 0);
  CHECK(has(version.output, "tapegrad 0."));
  const Proc unknown = spawn({"train", "--no-such-option"}, dir.str());
  CHECK(unknown.code == 2);
  const Proc bad_value = spawn({"train", "--epochs", "many"}, dir.str());
  CHECK(bad_value.code == 2);
}

TEST_CASE("hostile: resume appends to the history and refuses data whose contents changed, unless told") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const std::vector<std::string> first{"train", "--data", dir.file("data"), "--net", "8", "--epochs", "2",
                                       "--batch", "100", "--save", dir.file("m.tgckpt"), "--out", dir.file("out")};
  REQUIRE(spawn(first, dir.str()).code == 0);
  const Proc more = spawn({"train", "--resume", dir.file("m.tgckpt"), "--epochs", "1", "--out", dir.file("out")},
                          dir.str());
  INFO(more.output);
  REQUIRE(more.code == 0);
  const auto history = read_bytes(dir.file("out/train_history.csv"));
  const std::string text(history.begin(), history.end());
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);  // the header and epochs 1, 2 and 3
  CHECK(text.find("\n1,") != std::string::npos);
  CHECK(text.find("\n3,") != std::string::npos);

  write_toy_mnist(dir.file("data"), 4, 300);  // the same folder, other contents
  const Proc changed = spawn({"train", "--resume", dir.file("m.tgckpt"), "--epochs", "1", "--out", dir.file("out")},
                             dir.str());
  CHECK(changed.code == 2);
  CHECK(has(changed.output, "changed since the checkpoint was written"));
  CHECK(has(changed.output, "--allow-changed-data"));
  CHECK_FALSE(has(changed.output, "epoch  3/"));  // refused before any training

  const Proc allowed = spawn({"train", "--resume", dir.file("m.tgckpt"), "--epochs", "1", "--allow-changed-data",
                              "--out", dir.file("out")},
                             dir.str());
  INFO(allowed.output);
  CHECK(allowed.code == 0);
  CHECK(has(allowed.output, "the data changed (--allow-changed-data): continuing at epoch 4"));
  const auto longer = read_bytes(dir.file("out/train_history.csv"));
  const std::string appended(longer.begin(), longer.end());
  CHECK(std::count(appended.begin(), appended.end(), '\n') == 5);
  CHECK(appended.find("\n4,") != std::string::npos);
}
