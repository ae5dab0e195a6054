// The program under hostile input and faults: names that try to run commands, folders it cannot write, a
// file-size limit, no gnuplot, Ctrl-C. Each run is a real process started with an argument vector.
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <sys/resource.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "program.hpp"

using namespace testing;

TEST_CASE("no injection: quotes, spaces, $(), backticks and newlines in folder names are only names") {
  TempDir dir;
  const std::string data = dir.file(kHostile + " data"), out = dir.file(kHostile + " out");
  write_toy_mnist(data);
  const Proc compare = spawn({"compare", "--data", data, "--out", out, "--net", "8", "--epochs", "1", "--batch", "50"},
                             dir.str());
  INFO(compare.output);
  CHECK(compare.code == 0);
  CHECK(is_complete_png(out + "/compare_loss.png"));
  const Proc function = spawn({"compare", "--function", "--out", out}, dir.str());
  INFO(function.output);
  CHECK(function.code == 0);
  CHECK(is_complete_png(out + "/function_paths.png"));
  for (const char* marker : {"PWNED1", "PWNED2", "PWNED3"}) {
    CHECK_FALSE(std::filesystem::exists(dir.file(marker)));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::current_path() / marker));
  }
  // the gnuplot scripts carry no user text: the paths go in as arguments
  const auto script = testing::read_bytes(out + "/compare_loss.gp");
  CHECK_FALSE(has(std::string(script.begin(), script.end()), "PWNED"));
}

TEST_CASE("a folder that cannot be written is refused before any training, naming it") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  testing::write_bytes(dir.file("a-file"), {'x'});
  const std::string blocked = dir.file("a-file/out");  // a folder inside a regular file cannot exist
  const Proc compare = spawn({"compare", "--data", dir.file("data"), "--out", blocked, "--epochs", "1"}, dir.str());
  CHECK(compare.code == 2);
  CHECK(has(compare.output, blocked));
  CHECK_FALSE(has(compare.output, "=="));  // no run started
  const Proc train = spawn({"train", "--data", dir.file("data"), "--save", blocked + "/m.tgckpt", "--epochs", "1"},
                           dir.str());
  CHECK(train.code == 2);
  CHECK(has(train.output, blocked));
  CHECK_FALSE(has(train.output, "epoch"));
  const Proc function = spawn({"compare", "--function", "--out", "/proc/tapegrad-cannot-be-here"}, dir.str());
  CHECK(function.code == 2);
  CHECK(has(function.output, "/proc/tapegrad-cannot-be-here"));
}

TEST_CASE("a file-size limit: the write error is reported with the file's name and a non-zero exit") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const auto limit = [](rlim_t bytes) {
    return [bytes] {
      const rlimit r{bytes, bytes};
      setrlimit(RLIMIT_FSIZE, &r);
    };
  };
  // compare's table of 3 runs is about 450 bytes, its CSV about 600
  const Proc small = spawn({"compare", "--data", dir.file("data"), "--out", dir.file("out"), "--net", "8", "--epochs",
                            "1", "--batch", "50"},
                           dir.str(), limit(450));
  INFO(small.output);
  CHECK(small.code == 2);
  CHECK(has(small.output, "tapegrad: " + dir.file("out/compare_")));  // names the file (table or CSV)
  CHECK(has(small.output, ": writing failed (File too large)"));
  CHECK(testing::temporaries_in(dir.file("out")) == 0);
  // a limit the text files fit under but the PNG does not: gnuplot's failure to write is caught
  const Proc png = spawn({"compare", "--function", "--out", dir.file("out2")}, dir.str(), limit(30000));
  INFO(png.output);
  CHECK(png.code == 2);
  CHECK(has(png.output, "function_paths.png: plot not written"));
  CHECK(std::filesystem::exists(dir.file("out2/function_paths.csv")));
  CHECK_FALSE(std::filesystem::exists(dir.file("out2/function_paths.png")));
  CHECK(testing::temporaries_in(dir.file("out2")) == 0);
}

TEST_CASE("no gnuplot: a clear message and a non-zero exit, the table and CSV kept") {
  TempDir dir;
  const Proc r = spawn({"compare", "--function", "--out", dir.file("out")}, dir.str(),
                       [] { setenv("PATH", "/nonexistent", 1); });
  CHECK(r.code == 2);
  CHECK(has(r.output, "gnuplot is not installed (apt-get install gnuplot-nox)"));
  CHECK(std::filesystem::exists(dir.file("out/function_table.txt")));
  CHECK(std::filesystem::exists(dir.file("out/function_paths.csv")));
}

TEST_CASE("inputs are checked before the first epoch: test images of another size") {
  TempDir dir;
  write_toy_mnist(dir.file("data"), /*test_side=*/5);
  const Proc r = spawn({"train", "--data", dir.file("data"), "--save", dir.file("m.tgckpt"), "--epochs", "2"}, dir.str());
  CHECK(r.code == 2);
  CHECK(has(r.output, "has 25 features, the training set"));
  CHECK_FALSE(has(r.output, "epoch  1/"));
  CHECK_FALSE(std::filesystem::exists(dir.file("m.tgckpt")));
}

TEST_CASE("Ctrl-C during train says where the last checkpoint is") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const std::string model = dir.file("m.tgckpt");
  const Proc r = spawn({"train", "--data", dir.file("data"), "--save", model, "--net", "16", "--epochs", "10000",
                        "--batch", "20"},
                       dir.str(), {}, [model] { return std::filesystem::exists(model); }, 0.2);
  INFO(r.output);
  CHECK(r.code == 130);
  CHECK(has(r.output, "interrupted in epoch"));
  CHECK(has(r.output, "the last checkpoint is " + model + " (epoch "));
  tg::Rng rng(0);
  auto net = tg::make_mlp<float>({{16, 16, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  tg::load_checkpoint(model, *net);  // whole
}

TEST_CASE("Ctrl-C during compare keeps the runs that finished") {
  TempDir dir;
  write_toy_mnist(dir.file("data"), 4, 2000);
  const std::string table = dir.file("out/compare_table.txt");
  const auto first_row_written = [table] {
    std::ifstream in(table);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("sgd(lr=0.1)") != std::string::npos;
  };
  // one run at a time, each lasting seconds (2,000 images, 3,000 epochs, ~2 s each here, ~10x that under the
  // sanitizers), so the interrupt lands in the second one even on a loaded machine
  const Proc r = spawn({"compare", "--data", dir.file("data"), "--out", dir.file("out"), "--net", "32", "--epochs",
                        "3000", "--batch", "50", "--opt", "sgd:lr=0.1", "--opt", "adam:lr=0.01", "--jobs", "1"},
                       dir.str(), {}, first_row_written);
  INFO(r.output);
  CHECK(r.code == 130);
  CHECK(has(r.output, "interrupted; the finished runs are kept in " + table));
  const auto kept = testing::read_bytes(table);
  const std::string text(kept.begin(), kept.end());
  CHECK(has(text, "sgd(lr=0.1)"));
  CHECK_FALSE(has(text, "adam"));
  const auto csv = testing::read_bytes(dir.file("out/compare_loss.csv"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 3000 * 40);  // header + 3,000 epochs of 40 batches
}

TEST_CASE("options that would need more memory or time than is sane are refused up front") {
  TempDir dir;
  const Proc net = spawn({"compare", "--net", "100000-100000", "--data", "/no/such/folder"}, dir.str());
  CHECK(net.code == 2);
  CHECK(has(net.output, "--net 100000-100000 with --batch 100: 1e+10 parameters need about"));
  const Proc steps = spawn({"compare", "--function", "--steps", "100000000"}, dir.str());
  CHECK(steps.code != 0);
  CHECK(has(steps.output, "--steps: Value 100000000 not in range 1 to 100000"));
  const Proc epochs = spawn({"train", "--epochs", "1000000000"}, dir.str());
  CHECK(epochs.code != 0);
  CHECK(has(epochs.output, "--epochs"));
}

TEST_CASE("resume is a continuation: N epochs, then M more, end bit for bit where N + M straight epochs end") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const std::string straight = dir.file("straight.tgckpt"), split = dir.file("split.tgckpt");
  const std::vector<std::string> common{"--data", dir.file("data"), "--net", "12", "--batch", "30", "--seed", "5",
                                        "--opt", "adam:lr=0.01", "--double"};
  const auto train = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "train");
    const Proc p = spawn(args, dir.str());
    INFO(p.output);
    REQUIRE(p.code == 0);
    return p.output;
  };
  auto a = common;
  a.insert(a.end(), {"--epochs", "3", "--save", straight});
  train(a);
  auto b = common;
  b.insert(b.end(), {"--epochs", "2", "--save", split});
  train(b);
  // no option repeated: the checkpoint knows the data, network, optimizer, batch and seed
  const std::string resumed = train({"--resume", split, "--epochs", "1"});
  CHECK(has(resumed, "resumed from " + split + " after epoch 2"));
  CHECK(has(resumed, "epoch  3/3"));
  tg::Rng rng(0);
  auto x = tg::make_mlp<double>({{16, 12, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  auto y = tg::make_mlp<double>({{16, 12, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  tg::load_checkpoint(straight, *x);
  tg::load_checkpoint(split, *y);
  for (std::size_t i = 0; i < x->parameters().size(); ++i)
    CHECK(x->parameters()[i]->value == y->parameters()[i]->value);  // exactly, not approximately
  CHECK(tg::read_run_progress(split).epochs_done == 3);
  CHECK(tg::read_run_progress(split).iteration == tg::read_run_progress(straight).iteration);

  // an option that differs from the checkpoint is refused, naming both values
  const Proc conflict = spawn({"train", "--resume", split, "--batch", "7"}, dir.str());
  CHECK(conflict.code == 2);
  CHECK(has(conflict.output, "--batch 7 conflicts with the checkpoint's 30"));
  const Proc other_opt = spawn({"train", "--resume", split, "--opt", "sgd:lr=0.1"}, dir.str());
  CHECK(other_opt.code == 2);
  CHECK(has(other_opt.output, "--opt sgd:lr=0.1 conflicts with the checkpoint's adam:lr=0.01"));
  // eval builds exactly the saved model
  const Proc eval = spawn({"eval", "--model", split, "--data", dir.file("data")}, dir.str());
  CHECK(eval.code == 0);
  CHECK(has(eval.output, "16-12-10 relu he"));
}

TEST_CASE("output that cannot be written to standard output is a failure too") {
  TempDir dir;
  // a short text fails when it is flushed at exit; a long one (over the buffer) while it is printed
  for (const char* subcommand : {"exit-codes", "rules"}) {
    CAPTURE(subcommand);
    const Proc r = spawn({subcommand}, dir.str(), [] {
      const int full = open("/dev/full", O_WRONLY);
      dup2(full, 1);
    });
    CHECK(r.code == 2);
    CHECK(has(r.output, "tapegrad: writing to standard output failed"));
    CHECK_FALSE(has(r.output, "a bug"));
  }
}

TEST_CASE("a closed pipe behind standard output is a reported write error, not a death by SIGPIPE") {
  TempDir dir;
  const Proc r = spawn({"gradcheck", "--verbose"}, dir.str(), [] {
    int fds[2];
    if (pipe(fds) != 0) _exit(122);
    close(fds[0]);  // nobody will read
    dup2(fds[1], 1);
  });
  CHECK(r.code != -1);  // exited, not killed by a signal
  CHECK(r.code != 0);
  CHECK(has(r.output, "tapegrad: "));
}

TEST_CASE("--save naming a folder is refused before any training") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  std::filesystem::create_directories(dir.file("a-folder"));
  const Proc r = spawn({"train", "--data", dir.file("data"), "--save", dir.file("a-folder")}, dir.str());
  CHECK(r.code == 2);
  CHECK(has(r.output, dir.file("a-folder") + ": is a folder"));
  CHECK_FALSE(has(r.output, "epoch"));
}

TEST_CASE("graph: every demo and a saved model render (.dot, whole .png, .svg), frames with --steps") {
  TempDir dir;
  write_toy_mnist(dir.file("data"));
  const std::string out = dir.file("g");
  const Proc apple = spawn({"graph", "apple", "--out", out, "--steps"}, dir.str());
  INFO(apple.output);
  CHECK(apple.code == 0);
  CHECK(has(apple.output, "price 715; gradients: apple 2.2, apple_num 110, orange 3.3, orange_num 165, tax 650"));
  for (const char* name : {"apple", "apple_step000", "apple_step008"}) {
    CHECK(is_complete_png(out + "/" + name + ".png"));
    CHECK(std::filesystem::file_size(out + "/" + name + ".svg") > 100);
  }
  CHECK_FALSE(std::filesystem::exists(out + "/apple_step009.png"));  // 9 nodes: steps 0-8
  for (const char* demo : {"simple-net", "two-layer"}) {
    const Proc r = spawn({"graph", demo, "--out", out, "--data", dir.file("data")}, dir.str());
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(is_complete_png(out + "/" + demo + ".png"));
  }
  const std::string model = dir.file("m.tgckpt");
  REQUIRE(spawn({"train", "--data", dir.file("data"), "--net", "6", "--epochs", "1", "--save", model}, dir.str()).code == 0);
  const Proc saved = spawn({"graph", "--model", model, "--data", dir.file("data"), "--out", out}, dir.str());
  INFO(saved.output);
  CHECK(saved.code == 0);
  CHECK(is_complete_png(out + "/model.png"));
  const auto dot = testing::read_bytes(out + "/model.dot");
  CHECK(has(std::string(dot.begin(), dot.end()), "0.W\\n(16, 6)"));  // qualified parameter names
  const Proc summary = spawn({"summary", "--net", "32-16", "--features", "16", "--out", out}, dir.str());
  CHECK(summary.code == 0);
  CHECK(has(summary.output, "input (1, 16), 1242 trainable parameters"));  // 16*32+32 + 32*16+16 + 16*10+10
  CHECK(is_complete_png(out + "/model.png"));
}

TEST_CASE("graph: an unknown demo, an unwritable --out, a file that is not a model, no Graphviz") {
  TempDir dir;
  const Proc unknown = spawn({"graph", "banana"}, dir.str());
  CHECK(unknown.code == 2);
  CHECK(has(unknown.output, "no demo named 'banana'"));
  testing::write_bytes(dir.file("a-file"), {'x'});
  const Proc blocked = spawn({"graph", "apple", "--out", dir.file("a-file/g")}, dir.str());
  CHECK(blocked.code == 2);
  CHECK(has(blocked.output, dir.file("a-file/g")));
  const Proc not_model = spawn({"graph", "--model", dir.file("a-file")}, dir.str());
  CHECK(not_model.code == 2);
  CHECK(has(not_model.output, "not a tapegrad checkpoint"));
  const Proc no_dot = spawn({"graph", "apple", "--out", dir.file("g")}, dir.str(), [] { setenv("PATH", "/nonexistent", 1); });
  CHECK(no_dot.code == 2);
  CHECK(has(no_dot.output, "Graphviz's dot is not installed (apt-get install graphviz)"));
  CHECK(std::filesystem::exists(dir.file("g/apple.dot")));  // written either way
}
