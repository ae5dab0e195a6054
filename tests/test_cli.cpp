// The `tapegrad` program itself: exit codes, files written, table contents, on small synthetic data.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <sys/stat.h>

#include "helpers.hpp"

using testing::TempDir;

namespace {

struct Result {
  int code;
  std::string output;  // stdout and stderr
};

Result run_command(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (std::fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

Result run(const std::string& args) { return run_command(std::string(TAPEGRAD_CLI) + " " + args); }

// A comparison table without its s/epoch column (the only one that depends on the machine's load).
std::string without_timing(const std::string& table_path) {
  const auto bytes = testing::read_bytes(table_path);
  std::string text(bytes.begin(), bytes.end()), kept;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t percent = line.rfind('%');  // the test accuracy, the last column before s/epoch
    if (percent != std::string::npos) {
      const std::size_t seconds_end = line.find_first_not_of(' ', line.find_first_not_of("0123456789.", line.find_first_not_of(' ', percent + 1)));
      line = line.substr(0, percent + 1) + " | " + line.substr(seconds_end == std::string::npos ? line.size() : seconds_end);
    }
    kept += line + "\n";
  }
  return kept;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// An MNIST-format folder of 4x4 images whose class is the brightest pixel (mod 10): learnable in seconds.
void write_toy_mnist(const TempDir& dir) {
  tg::Rng rng(11);
  for (const auto& [split, n] : {std::pair<std::string, std::size_t>{"train", 400}, {"t10k", 100}}) {
    tg::IdxArray images{{n, 4, 4}, {}}, labels{{n}, {}};
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t hot = rng.below(10);
      for (std::size_t p = 0; p < 16; ++p) images.data.push_back(p == hot ? 250 : static_cast<std::uint8_t>(rng.below(60)));
      labels.data.push_back(static_cast<std::uint8_t>(hot));
    }
    tg::write_idx(dir.file(split + "-images-idx3-ubyte.gz"), images);
    tg::write_idx(dir.file(split + "-labels-idx1-ubyte.gz"), labels);
  }
}

}  // namespace

TEST_CASE("cli: --help on the program and every subcommand") {
  const Result top = run("--help");
  CHECK(top.code == 0);
  for (const char* sub : {"compare", "train", "eval", "gradcheck"}) {
    CAPTURE(sub);
    CHECK(has(top.output, sub));
    const Result r = run(std::string(sub) + " --help");
    CHECK(r.code == 0);
    CHECK(has(r.output, "Usage"));
  }
}

TEST_CASE("cli: bad options and values give a clear message and a non-zero exit") {
  const Result none = run("");
  CHECK(none.code != 0);
  CHECK(has(none.output, "subcommand"));
  const Result unknown = run("compare --frobnicate");
  CHECK(unknown.code != 0);
  CHECK(has(unknown.output, "--frobnicate"));
  const Result epochs = run("compare --epochs -3");
  CHECK(epochs.code != 0);
  CHECK(has(epochs.output, "--epochs"));
  const Result opt = run("compare --function --opt lamb:lr=1");
  CHECK(opt.code == 2);
  CHECK(has(opt.output, "unknown optimizer 'lamb'"));
  const Result key = run("compare --function --opt sgd:speed=3");
  CHECK(has(key.output, "unknown key 'speed'"));
  const Result lr = run("compare --function --opt sgd:lr=-1");
  CHECK(lr.code == 2);
  CHECK(has(lr.output, "learning rate must be a positive finite number"));
  const Result data = run("compare --data /no/such/dir");
  CHECK(data.code == 2);
  CHECK(has(data.output, "/no/such/dir: no such data folder"));
  const Result net = run("compare --net 100-x");
  CHECK(net.code == 2);
  CHECK(has(net.output, "--net: network '100-x': layer 1 '100-x': unknown layer (conv, maxpool"));
}

TEST_CASE("cli: compare trains each optimizer on the same data and writes a table, a CSV and a plot") {
  TempDir data, out;
  write_toy_mnist(data);
  const Result r = run("compare --data " + data.str() + " --net 32 --epochs 3 --batch 20 --opt sgd:lr=0.1 "
                       "--opt adam:lr=0.01 --threshold 1.5 --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "sgd(lr=0.1)"));
  CHECK(has(r.output, "adam(lr=0.01"));
  CHECK(has(r.output, "iter: loss < 1.5"));
  const auto table = testing::read_bytes(out.file("compare_table.txt"));
  CHECK(has(std::string(table.begin(), table.end()), "test accuracy"));
  const auto csv = testing::read_bytes(out.file("compare_loss.csv"));
  const std::string text(csv.begin(), csv.end());
  CHECK(text.rfind("iteration,\"sgd(lr=0.1) loss\",\"sgd(lr=0.1) smoothed\"", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1 + 3 * 20);  // header + 3 epochs of 20 batches
  CHECK(std::filesystem::file_size(out.file("compare_loss.png")) > 1000);  // the set-up installs gnuplot
  // deterministic for a seed: the same run writes the same curves
  TempDir again;
  run("compare --data " + data.str() + " --net 32 --epochs 3 --batch 20 --opt sgd:lr=0.1 --opt adam:lr=0.01 --out " +
      again.str());
  CHECK(testing::read_bytes(again.file("compare_loss.csv")) == csv);
}

TEST_CASE("cli: compare --function prints the book's end points") {
  TempDir out;
  const Result r = run("compare --function --out " + out.str());
  REQUIRE(r.code == 0);
  // SGD on f = x^2/20 + y^2 with lr 0.95: x *= (1 - 0.095), y *= (1 - 1.9) each step, exactly
  CHECK(has(r.output, fmt::format("{:.10g}", -7 * std::pow(1 - 0.95 / 10, 30))));
  CHECK(has(r.output, fmt::format("{:.10g}", 2 * std::pow(1 - 0.95 * 2, 30))));
  CHECK(has(r.output, "adam:lr=0.3"));
  CHECK(std::filesystem::exists(out.file("function_paths.csv")));
  // the Hessian says why: diag(0.1, 2) everywhere, so plain gradient descent overshoots above lr = 2/2 = 1
  const std::string curvature =
      "Hessian at the start: eigenvalues 0.1 and 2; gradient descent overshoots above lr = 2/lambda_max = 1\n";
  CHECK(has(r.output, curvature));
  std::ifstream table_file(out.file("function_table.txt"));
  const std::string table_text((std::istreambuf_iterator<char>(table_file)), std::istreambuf_iterator<char>());
  CHECK(table_text.rfind(curvature, 0) == 0);
  const Result above = run("compare --function --opt sgd:lr=1.05 --opt sgd:lr=0.95 --out " + out.str());
  INFO(above.output);
  CHECK(has(above.output, "  sgd:lr=1.05: lr 1.05 > 1, so each step multiplies the distance along the steepest "
                          "direction by |1 - lr lambda_max| = 1.1: it diverges while the curvature stays like this"));
  CHECK_FALSE(has(above.output, "  sgd:lr=0.95: lr"));
  CHECK(has(above.output, fmt::format("{:.10g}", 2 * std::pow(1 - 1.05 * 2, 30))));  // y grew 1.1x a step
  const Result saddle = run("compare --function saddle --out " + out.str());
  CHECK(has(saddle.output, "Hessian at the start: eigenvalues -2 and 2;"));
}

TEST_CASE("cli: train saves a checkpoint, eval reads it, train --resume continues") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string model = out.file("toy.tgckpt");
  const Result t = run("train --data " + data.str() + " --net 32 --epochs 4 --batch 20 --opt adam:lr=0.01 --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  CHECK(has(t.output, "epoch  4/4"));
  CHECK(has(t.output, "saved: " + model));
  // each epoch but the last says how long the rest will take, and the run ends with its peak memory
  std::istringstream output(t.output);
  for (std::string line; std::getline(output, line);)
    if (line.rfind("epoch ", 0) == 0 && line.find(" loss ") != std::string::npos)
      CHECK(has(line, "left") == (line.find("epoch  4/4") == std::string::npos));
  CHECK(has(t.output, "peak memory: "));
  const Result e = run("eval --model " + model + " --data " + data.str());
  INFO(e.output);
  REQUIRE(e.code == 0);
  CHECK(has(e.output, "accuracy"));
  CHECK(has(e.output, "true \\ predicted"));
  CHECK(has(e.output, "recall"));
  const Result resumed = run("train --data " + data.str() + " --epochs 1 --batch 20 --opt adam:lr=0.01 --resume " +
                             model + " --save " + out.file("more.tgckpt"));
  INFO(resumed.output);
  CHECK(resumed.code == 0);
  CHECK(has(resumed.output, "resumed from"));
  const Result wrong = run("eval --model " + data.file("train-images-idx3-ubyte.gz") + " --data " + data.str());
  CHECK(wrong.code == 2);
  CHECK(has(wrong.output, "not a tapegrad checkpoint"));
}

TEST_CASE("cli: train and compare take a schedule, clipping and gradient norms, and bad ones exit 2 before any data") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string model = out.file("toy.tgckpt");
  const Result t = run("train --data " + data.str() + " --net 32 --epochs 2 --batch 20 --opt sgd:lr=0.1 "
                       "--schedule step:every=20,gamma=0.5,warmup=5 --clip norm=1 --grad-norms --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  CHECK(has(t.output, "schedule: step:every=20,gamma=0.5,warmup=5"));
  CHECK(has(t.output, "clip: norm=1"));
  CHECK(has(t.output, "grad norms epoch 2:  0.W "));
  // the run's schedule is part of its checkpoint: resuming with another is refused, naming both
  const Result other = run("train --data " + data.str() + " --epochs 1 --schedule exp:gamma=0.9 --resume " + model);
  CHECK(other.code == 2);
  CHECK(has(other.output, "--schedule exp:gamma=0.9 conflicts with the checkpoint's step:every=20,gamma=0.5,warmup=5"));
  const Result c = run("compare --data " + data.str() + " --net 32 --epochs 1 --batch 20 --opt sgd --schedule "
                       "cosine:min=0.001 --clip value=0.5 --grad-norms --jobs 1 --out " + out.str());
  INFO(c.output);
  CHECK(c.code == 0);
  CHECK(has(c.output, "grad norms:  0.W "));
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"train --schedule step:gamma=0.5", "schedule 'step:gamma=0.5': step needs every=N"},
           {"train --schedule linear", "unknown schedule 'linear' in 'linear' (constant, step, exp, cosine, plateau)"},
           {"compare --schedule exp:gamma=2", "schedule 'exp:gamma=2': gamma=2 must be in (0, 1]"},
           {"compare --clip norm=0", "clip 'norm=0': the threshold norm=0 must be positive"},
           {"train --clip value=-1", "clip 'value=-1': the threshold value=-1 must be positive"},
           {"compare --opt sgd:momentum=0.9", "sgd does not use 'momentum' (it takes: lr wd)"}}) {
    CAPTURE(args);
    const Result bad = run(args + " --data /no/such/dir");  // the option is refused before the data is looked at
    CHECK(bad.code == 2);
    CHECK(has(bad.output, message));
    CHECK(!has(bad.output, "/no/such/dir"));
  }
  CHECK(has(run("compare --help").output, "keys: lr=0.01 momentum=0.9 wd=0 pytorch=0"));
}

namespace {
std::string text_of(const std::string& path) {
  const auto bytes = testing::read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}
}  // namespace

TEST_CASE("cli: compare --vary runs every combination under each seed, labels what differs, and writes both panels") {
  TempDir data, out, single;
  write_toy_mnist(data);
  const std::string common = "compare --data " + data.str() + " --net 32 --epochs 2 --batch 20 --double --opt sgd:lr=0.1 ";
  const Result r = run(common + "--vary init 0.01 he --vary batch-norm off on --seeds 2 --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "8 runs of 2 epochs (4 configurations x 2 seeds)"));
  const std::string table = text_of(out.file("compare_table.txt"));
  CHECK(table.rfind("mean [min, max] over 2 seeds\nconfiguration ", 0) == 0);
  const std::vector<std::string> rows = lines_of(table);
  REQUIRE(rows.size() == 3 + 4);
  const char* labels[] = {"init=0.01 batch-norm=off", "init=0.01 batch-norm=on", "init=he batch-norm=off",
                          "init=he batch-norm=on"};
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(rows[3 + i]);
    CHECK(rows[3 + i].rfind(std::string(labels[i]) + " ", 0) == 0);
    CHECK(has(rows[3 + i], "% ["));  // accuracies as mean [min, max]
  }
  // every run's epochs, train and test accuracy, in the CSV; the panels' files exist and the plot is a PNG
  const std::vector<std::string> accuracy = lines_of(text_of(out.file("compare_accuracy.csv")));
  CHECK(accuracy.front() == "label,seed,epoch,train loss,train accuracy,test accuracy,learning rate,seconds");
  CHECK(accuracy.size() == 1 + 8 * 2);
  CHECK(accuracy[1].rfind("\"init=0.01 batch-norm=off seed=0\",0,1,", 0) == 0);
  CHECK(lines_of(text_of(out.file("compare_loss_bands.csv"))).front().rfind(
            "iteration,\"init=0.01 batch-norm=off mean\",\"init=0.01 batch-norm=off min\",", 0) == 0);
  CHECK(has(text_of(out.file("compare_accuracy_means.csv")), "\"init=he batch-norm=on train\""));
  CHECK(testing::read_bytes(out.file("compare_loss.png")).size() > 1000);
  // the seed-1 run of a configuration is the run that configuration gives alone under --seed 1 (same weights,
  // same batches): compare is fair between configurations and reproducible
  const Result alone = run(common + "--vary init he --vary batch-norm on --seed 1 --out " + single.str());
  REQUIRE(alone.code == 0);
  const std::vector<std::string> one = lines_of(text_of(single.file("compare_accuracy.csv")));
  REQUIRE(one.size() == 3);
  for (std::size_t e = 1; e <= 2; ++e) {
    const std::string mine = accuracy[1 + (3 * 2 + 1) * 2 + (e - 1)];  // run 7: init=he batch-norm=on, seed 1
    CAPTURE(mine);
    const auto without_label_and_time = [](const std::string& line) {
      const std::size_t after_label = line.find("\",") + 2;
      return line.substr(after_label, line.rfind(',') - after_label);
    };
    CHECK(without_label_and_time(mine) == without_label_and_time(one[e]));
  }
}

TEST_CASE("cli: compare labels show every setting that differs, and no two configurations share one") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string common = "compare --data " + data.str() + " --net 16 --epochs 1 --batch 50 --out " + out.str() + " ";
  const Result wd = run(common + "--opt sgd --opt sgd:wd=0.1");
  INFO(wd.output);
  REQUIRE(wd.code == 0);
  const std::vector<std::string> rows = lines_of(text_of(out.file("compare_table.txt")));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].rfind("optimizer ", 0) == 0);
  CHECK(rows[2].rfind("sgd(lr=0.01) ", 0) == 0);
  CHECK(rows[3].rfind("sgd(lr=0.01, wd=0.1) ", 0) == 0);
  const Result grid = run(common + "--vary lr 0.1 0.01 --vary opt sgd adam");  // lr applies to each optimizer
  REQUIRE(grid.code == 0);
  const std::string table = text_of(out.file("compare_table.txt"));
  for (const char* label : {"sgd(lr=0.1) ", "sgd(lr=0.01) ", "adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-07) ",
                            "adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-07) "})
    CHECK(has(table, std::string("\n") + label));
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--vary speed 1 2", "--vary speed: unknown axis (accepted: opt, lr, wd, init, activation, batch-norm, "
                                "dropout, schedule, clip, augment, batch, decay-scope, net)"},
           {"--vary augment off rotate", "augmentation 'rotate': 'rotate' is not crop:P or flip (or give on or off)"},
           {"--vary lr", "--vary lr: no values (accepted: learning rates, e.g. 0.1 0.01)"},
           {"--vary lr 0.1 --vary lr 0.2", "--vary lr: the axis is given twice; list all its values once"},
           {"--vary lr fast", "--vary lr: 'fast' is not a number"},
           {"--vary batch-norm maybe", "--vary batch-norm: 'maybe' is not on or off"},
           {"--vary init 0.01 0.01", "compare: configurations 1 and 2 are the same (sgd(lr=0.01) init=0.01); list each once"},
           {"--opt sgd --opt sgd:lr=0.01", "configurations 1 and 2 are the same (sgd(lr=0.01))"},
           {"--opt sgd --vary opt adam", "--opt and --vary opt both list optimizers; use one of them"},
           {"--vary schedule constant step:every=0", "schedule 'step:every=0': every=0 must be a whole number"},
           {"--vary dropout 0 1.5", "--dropout 1.5: the ratio must be in [0, 1)"},
           {"--vary net 100 simple_conv --vary batch-norm on", "batch normalisation and dropout settings apply to "
                                                                 "hidden sizes"}}) {
    CAPTURE(args);
    const Result bad = run("compare --data /no/such/dir " + args);  // refused before the data is looked at
    CHECK(bad.code == 2);
    CHECK(has(bad.output, message));
  }
  CHECK(run(common + "--seeds 0").code != 0);
  CHECK(has(run("compare --help").output, "batch-norm  on, off"));
}

TEST_CASE("cli: train writes its history: loss, train and test accuracy, learning rate per epoch") {
  TempDir data, out;
  write_toy_mnist(data);
  const Result t = run("train --data " + data.str() + " --net 32 --epochs 3 --batch 20 --schedule exp:gamma=0.99 "
                       "--save " + out.file("m.tgckpt") + " --out " + out.str());
  INFO(t.output);
  REQUIRE(t.code == 0);
  const std::vector<std::string> lines = lines_of(text_of(out.file("train_history.csv")));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "epoch,train loss,train accuracy,test accuracy,learning rate,seconds");
  // 400 images in batches of 20: the first epoch's last step is iteration 19, at 0.1 x 0.99^19
  CHECK(lines[1].find(fmt::format(",{:.6g},", 0.1 * std::pow(0.99, 19))) != std::string::npos);
  CHECK(lines[3].rfind("3,", 0) == 0);
}

namespace {
// The table's row for `label`: its cells split on runs of two or more spaces.
std::vector<std::string> row_of(const std::string& table, const std::string& label) {
  for (const std::string& line : lines_of(table))
    if (line.rfind(label + "  ", 0) == 0) {
      std::vector<std::string> cells;
      std::size_t at = 0;
      while (at < line.size()) {
        const std::size_t gap = line.find("  ", at);
        cells.push_back(line.substr(at, gap - at));
        if (gap == std::string::npos) break;
        at = line.find_first_not_of(' ', gap);
      }
      return cells;
    }
  FAIL("no row " << label << " in\n" << table);
  return {};
}
double percent(const std::string& cell) { return std::stod(cell.substr(0, cell.find('%'))); }
bool is_png(const std::string& path) {
  const auto bytes = testing::read_bytes(path);
  return bytes.size() > 1000 && bytes[0] == 0x89 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G';
}
Result experiment(const std::string& name, const TempDir& out) {
  // activation-histogram trains nothing, so --jobs does not apply to it (and is refused)
  return run("experiment " + name + (name == "activation-histogram" ? "" : " --jobs 2") + " --out " + out.str());
}
}  // namespace

TEST_CASE("cli: --decay-scope weights spares biases, is kept by the checkpoint, and needs a weight decay to scope") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string model = out.file("scoped.tgckpt");
  const Result t = run("train --data " + data.str() + " --net 32 --epochs 1 --batch 20 --double --opt sgd:lr=0.1,wd=0.1 "
                       "--decay-scope weights --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  CHECK(has(t.output, "sgd(lr=0.1, wd=0.1; 2 of 4 parameters: wd=0)"));  // the two biases
  CHECK(tg::Checkpoint(model).fields().at("decay_scope") == "weights");
  const Result other = run("train --data " + data.str() + " --epochs 1 --decay-scope all --resume " + model);
  CHECK(other.code == 2);
  CHECK(has(other.output, "--decay-scope all conflicts with the checkpoint's weights"));
  const Result resumed = run("train --data " + data.str() + " --epochs 1 --resume " + model);
  CHECK(resumed.code == 0);
  CHECK(has(resumed.output, "2 of 4 parameters: wd=0"));  // the scope comes back with the run

  // compare varies it: the two rows train differently from the same weights and batches
  const Result c = run("compare --data " + data.str() + " --net 32 --epochs 2 --batch 20 --double --opt "
                       "sgd:lr=0.1,wd=0.05 --vary decay-scope all weights --out " + out.str());
  INFO(c.output);
  REQUIRE(c.code == 0);
  const std::string table = text_of(out.file("compare_table.txt"));
  const auto all = row_of(table, "decay-scope=all"), weights = row_of(table, "decay-scope=weights");
  REQUIRE(all.size() == weights.size());
  CHECK(all != weights);

  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"train --opt sgd --decay-scope weights",
            "--decay-scope weights: sgd has no weight decay to scope; give it one, e.g. --opt sgd:wd=0.1"},
           {"train --opt adamw:wd=0 --decay-scope weights", "adamw:wd=0 has no weight decay to scope"},
           {"train --decay-scope bias", "--decay-scope: bias not in {all,weights}"},
           {"compare --opt sgd adam:wd=0.1 --decay-scope weights",
            "--decay-scope weights: configuration 1 (sgd(lr=0.01)) has no weight decay to scope"},
           {"compare --vary decay-scope all none", "--vary decay-scope: 'none' is not all or weights"},
           {"compare --function bowl --decay-scope weights --steps 5",
            "--decay-scope does not apply to compare --function"}}) {
    CAPTURE(args);
    const Result bad = run(args + (has(args, "--function") ? "" : " --data /no/such/dir"));
    CHECK(bad.code == 2);
    CHECK(has(bad.output, message));
  }
}

TEST_CASE("experiment weight-init: std 0.01 does not learn, and He beats Xavier with ReLU (Fashion-MNIST)") {
  TempDir out;
  const Result r = experiment("weight-init", out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string table = text_of(out.file("compare_table.txt"));
  const auto small = row_of(table, "init=0.01"), xavier = row_of(table, "init=xavier"), he = row_of(table, "init=he");
  CHECK(std::stod(small[1]) > 2.25);  // ln 10 = 2.3026: the loss of guessing
  CHECK(percent(small[3]) < 15);
  CHECK(std::stod(he[1]) < std::stod(xavier[1]));
  CHECK(percent(xavier[3]) > 70);
  // 2000 iterations in all, as the book's iters_num
  CHECK(lines_of(text_of(out.file("compare_loss.csv"))).size() == 1 + 2000);
  CHECK(is_png(out.file("compare_loss.png")));
}

TEST_CASE("experiment batch-norm: batch normalisation learns faster at most weight scales (Fashion-MNIST)") {
  TempDir out;
  const Result r = experiment("batch-norm", out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string table = text_of(out.file("compare_table.txt"));
  int wins = 0;
  for (const char* scale : {"1", "0.3", "0.1", "0.03", "0.01", "0.003", "0.001"}) {
    const auto off = row_of(table, std::string("init=") + scale + " batch-norm=off");
    const auto on = row_of(table, std::string("init=") + scale + " batch-norm=on");
    CAPTURE(scale);
    REQUIRE(on[1] != "diverged");
    if (off[1] == "diverged" || percent(on[2]) > percent(off[2])) ++wins;
  }
  CHECK(wins >= 5);
  CHECK(is_png(out.file("compare_loss.png")));
}

TEST_CASE("experiment overfit: 300 images overfit, and weight decay and dropout shrink the train-test gap") {
  TempDir out;
  const Result r = experiment("overfit", out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string table = text_of(out.file("compare_table.txt"));
  const auto gap = [&](const std::string& label) {
    const auto row = row_of(table, label);
    return percent(row[2]) - percent(row[3]);
  };
  CHECK(percent(row_of(table, "no regularisation")[2]) > 95);
  CHECK(gap("no regularisation") > 15);
  CHECK(gap("weight decay 0.1") < gap("no regularisation"));
  CHECK(gap("dropout 0.2") < gap("no regularisation"));
  CHECK(lines_of(text_of(out.file("compare_accuracy.csv"))).size() == 1 + 3 * 201);
  CHECK(is_png(out.file("compare_loss.png")));
}

TEST_CASE("experiment hyperparameter-search: the learning rate decides, and the test set is not used (Fashion-MNIST)") {
  TempDir out;
  const Result r = run("experiment hyperparameter-search --trials 20 --jobs 2 --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "400 training images, 100 more held out from them for validation"));
  CHECK_FALSE(has(r.output, "t10k"));  // the validation split comes from the training files
  // trials.csv: rank,trial,lr,weight decay,validation accuracy,train accuracy, best first
  const std::vector<std::string> lines = lines_of(text_of(out.file("hyperparameter_search.csv")));
  REQUIRE(lines.size() == 1 + 20);
  CHECK(lines[0] == "rank,trial,lr,weight decay,validation accuracy,train accuracy");
  double previous = 1, best_lr = 0, best_accuracy = 0, slow_best = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<double> cells;
    std::stringstream row(lines[i]);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(std::stod(cell));
    REQUIRE(cells.size() == 6);
    CHECK(cells[0] == double(i));
    CHECK(cells[2] >= 1e-6);
    CHECK(cells[2] <= 1e-2);
    CHECK(cells[3] >= 1e-8);
    CHECK(cells[3] <= 1e-4);
    CHECK(cells[4] <= previous);  // ranked by validation accuracy
    previous = cells[4];
    if (i == 1) best_lr = cells[2], best_accuracy = cells[4];
    if (cells[2] < 1e-4) slow_best = std::max(slow_best, cells[4]);
  }
  // the book's lesson: good rates lie between 0.001 and 0.01; rates below 1e-4 stay near chance in 50 epochs
  CHECK(best_lr >= 1e-3);
  CHECK(best_accuracy > 0.6);
  CHECK(slow_best < 0.3);
  CHECK(has(r.output, "the best 5: learning rate from "));
  CHECK(lines_of(text_of(out.file("hyperparameter_best_curves.csv"))).size() == 1 + 50);
  CHECK(is_png(out.file("hyperparameter_best.png")));
  CHECK(is_png(out.file("hyperparameter_scatter.png")));
  CHECK(has(text_of(out.file("trials/compare_table.txt")), "validation accuracy"));
}

TEST_CASE("experiment activation-histogram: std 1 saturates the sigmoid, std 0.01 collapses it, Xavier and He keep spread") {
  TempDir out;
  const Result r = experiment("activation-histogram", out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string table = text_of(out.file("activation_table.txt"));
  const auto layer = [&](const std::string& setting, int n) {
    for (const std::string& line : lines_of(table))
      if (line.rfind(setting + "  ", 0) == 0) {
        const auto cells = row_of(line, setting);  // setting, layer, mean, std, saturated
        if (cells.size() == 5 && cells[1] == std::to_string(n)) return cells;
      }
    FAIL("no row " << setting << " layer " << n);
    return std::vector<std::string>{};
  };
  const auto std_of = [&](const std::string& setting, int n) { return std::stod(layer(setting, n)[3]); };
  CHECK(percent(layer("sigmoid, std 1", 5)[4]) > 50);   // piled at 0 and 1: vanishing gradients
  CHECK(std_of("sigmoid, std 0.01", 5) < 0.05);          // all near 0.5: the layers say the same thing
  CHECK(std_of("sigmoid, Xavier", 5) > 0.05);
  CHECK(percent(layer("sigmoid, Xavier", 5)[4]) < 5);
  CHECK(std_of("ReLU, He", 5) > 0.5 * std_of("ReLU, He", 1));  // the spread survives five layers
  CHECK(lines_of(text_of(out.file("activation_histograms.csv"))).size() == 1 + 4 * 5 * 30);
  CHECK(is_png(out.file("activation_histograms.png")));
}

TEST_CASE("cli: a configuration that diverges is a row of the comparison, not the end of it") {
  TempDir data, out;
  write_toy_mnist(data);
  const Result r = run("compare --data " + data.str() + " --net 16 --epochs 2 --batch 20 --opt sgd:lr=1e30 --opt "
                       "sgd:lr=0.1 --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "diverged: training: the loss became"));
  const std::string table = text_of(out.file("compare_table.txt"));
  CHECK(row_of(table, "sgd(lr=1e+30)")[1] == "diverged");
  CHECK(percent(row_of(table, "sgd(lr=0.1)")[3]) > 20);  // learning: chance is 10 %
  CHECK(is_png(out.file("compare_loss.png")));
}

TEST_CASE("cli: compare --lr-sweep picks each optimizer's best rate on a validation split, then compares at it") {
  TempDir data, out;
  write_toy_mnist(data);
  const Result r = run("compare --data " + data.str() + " --net 16 --epochs 2 --batch 20 --opt sgd --opt adam "
                       "--lr-sweep --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "scored by accuracy on a validation split"));
  // the sweep's own table: validation accuracy of every (optimizer, rate); the chosen rate is the best of each
  const std::string sweep = text_of(out.file("lr-sweep/compare_table.txt"));
  const std::string chosen = text_of(out.file("lr_sweep.txt"));
  for (const auto& [name, rates] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"sgd", {"0.1", "0.03", "0.01", "0.00333", "0.001"}}, {"adam", {"0.01", "0.003", "0.001", "0.000333", "0.0001"}}}) {
    CAPTURE(name);
    double best = -1;
    std::string best_rate;
    for (const std::string& rate : rates) {
      const std::string label = name == "sgd" ? "sgd(lr=" + rate + ")"
                                              : "adam(lr=" + rate + ", beta1=0.9, beta2=0.999, eps=1e-07)";
      const double accuracy = percent(row_of(sweep, label)[3]);
      if (accuracy > best) best = accuracy, best_rate = rate;
    }
    CHECK(row_of(chosen, name).back() == best_rate);
    CHECK(has(text_of(out.file("compare_table.txt")), "\n" + name + "(lr=" + best_rate + (name == "sgd" ? ")" : ",")));
  }
  const Result bad = run("compare --data /no/such/dir --lr-sweep --vary lr 0.1 0.01");
  CHECK(bad.code == 2);
  CHECK(has(bad.output, "--lr-sweep chooses each optimizer's rate: give the optimizers with --opt, not --vary"));
}

TEST_CASE("cli: an unknown experiment is refused, naming the ones there are") {
  const Result r = run("experiment nope");
  CHECK(r.code == 2);
  CHECK(has(r.output,
            "experiment 'nope': no such experiment (accepted: weight-init, batch-norm, overfit, hyperparameter-search, "
            "activation-histogram, rnn-gradients, sine, addition, char-lm, half-precision)"));
  const Result trials = run("experiment overfit --trials 5");
  CHECK(trials.code == 2);
  CHECK(has(trials.output, "--trials: only hyperparameter-search draws trials, not overfit"));
}

TEST_CASE("cli: gradcheck passes on built-in ops, names them, and fails on unknown names") {
  const Result r = run("gradcheck matmul softmax Linear BatchNorm");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(has(r.output, "4 of 4 checks passed"));
  const Result fast = run("gradcheck --fast MLP");
  CHECK(fast.code == 0);
  CHECK(has(fast.output, "directions"));
  const Result unknown = run("gradcheck conv3d");
  CHECK(unknown.code == 2);
  CHECK(has(unknown.output, "no check named 'conv3d'"));
}

TEST_CASE("cli: gradcheck --order 2 and 3 check second and third derivatives, and other orders are refused") {
  const Result r = run("gradcheck --order 2 --verbose tanh conv2d BatchNorm");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(has(r.output, "3 of 3 second-derivative checks (gradgradcheck) passed"));
  CHECK(has(r.output, "gradgradcheck of tanh"));
  CHECK(has(r.output, "grad_output"));
  const Result third = run("gradcheck --order 3 --verbose pow");
  INFO(third.output);
  CHECK(third.code == 0);
  CHECK(has(third.output, "1 of 1 third-derivative checks passed"));
  CHECK(has(third.output, "third-order gradcheck of pow"));
  CHECK(has(third.output, "grad_grad_output"));
  const Result all = run("gradcheck --order 3");  // the count the tutorial quotes
  CHECK(all.code == 0);
  CHECK(has(all.output, "73 of 73 third-derivative checks passed"));
  const Result bad = run("gradcheck --order 4 tanh");
  CHECK(bad.code != 0);
  CHECK(has(bad.output, "--order: 4 not in {1,2,3}"));
}

namespace {
// Width and height from a PNG's IHDR chunk; {0, 0} if the file is not a PNG.
std::pair<std::size_t, std::size_t> png_size(const std::string& path) {
  const std::vector<unsigned char> b = testing::read_bytes(path);
  const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 24 || !std::equal(magic, magic + 8, b.begin()) || std::string(b.begin() + 12, b.begin() + 16) != "IHDR")
    return {0, 0};
  const auto be32 = [&](std::size_t at) {
    return std::size_t(b[at]) << 24 | std::size_t(b[at + 1]) << 16 | std::size_t(b[at + 2]) << 8 | std::size_t(b[at + 3]);
  };
  return {be32(16), be32(20)};
}
}  // namespace

TEST_CASE("cli: a conv net trains from a layer list, draws its filters, resumes, and eval draws misclassified images") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string model = out.file("conv.tgckpt");
  const std::string net = "conv:6:3:pad=1,relu,maxpool:2,linear:16,relu";
  const Result t = run("train --data " + data.str() + " --net " + net + " --epochs 2 --batch 20 --opt adam:lr=0.01 --out " +
                       out.str() + " --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  CHECK(has(t.output, "1x4x4 " + net + " -> 10 he"));
  CHECK(has(t.output, "Conv2D(1 -> 6, 3, stride 1, padding 1)"));
  // 6 filters: one row of ten 90-pixel cells under a title
  for (const char* name : {"filters_before.png", "filters_after.png"}) {
    CAPTURE(name);
    CHECK(png_size(out.file(name)) == std::pair<std::size_t, std::size_t>{900, 130});
  }
  const Result resumed = run("train --data " + data.str() + " --epochs 1 --out " + out.str() + " --resume " + model);
  INFO(resumed.output);
  CHECK(resumed.code == 0);
  CHECK(has(resumed.output, "resumed from " + model + " after epoch 2"));
  const Result conflict = run("train --data " + data.str() + " --net simple_conv --epochs 1 --resume " + model);
  CHECK(conflict.code == 2);
  CHECK(has(conflict.output, "--net conv:30:5,maxpool:2,relu,linear:100,relu conflicts with the checkpoint's " + net));

  const Result e = run("eval --model " + model + " --data " + data.str() + " --misclassified " + out.str());
  INFO(e.output);
  REQUIRE(e.code == 0);
  CHECK(has(e.output, "accuracy"));
  if (has(e.output, "misclassified: none")) return;  // a perfect model draws nothing
  const std::size_t shown_at = e.output.find(" shown)");
  REQUIRE(shown_at != std::string::npos);
  const std::size_t open = e.output.rfind('(', shown_at);
  const std::size_t wrong = std::stoul(e.output.substr(open + 1, shown_at - open - 1));
  CHECK(png_size(out.file("misclassified.png")) ==
        std::pair<std::size_t, std::size_t>{900, ((std::min<std::size_t>(wrong, 20) + 4) / 5) * 200 + 40});
}

TEST_CASE("cli: a network that does not fit the images is refused, naming the layer, and gradcheck --net checks one") {
  TempDir data, out;
  write_toy_mnist(data);
  const Result big = run("train --data " + data.str() + " --net simple_conv --out " + out.str());
  CHECK(big.code == 2);
  CHECK(has(big.output, "--net: network 'conv:30:5,maxpool:2,relu,linear:100,relu': layer 1 'conv:30:5': conv2d: the "
                        "window's height 5 is larger than the padded input's 4"));
  const Result syntax = run("compare --data " + data.str() + " --net conv:8 --out " + out.str());
  CHECK(syntax.code == 2);
  CHECK(has(syntax.output, "layer 1 'conv:8': needs conv:FILTERS:KERNEL"));
  const Result compare = run("compare --data " + data.str() + " --net conv:4:3:pad=1,relu,maxpool:2 --epochs 1 --batch 50 "
                             "--opt sgd --opt adam --out " + out.str());
  INFO(compare.output);
  CHECK(compare.code == 0);
  CHECK(has(compare.output, "1x4x4 conv:4:3:pad=1,relu,maxpool:2 -> 10 he"));
  const Result summary = run("summary --net simple_conv --out " + out.str());
  CHECK(summary.code == 0);
  CHECK(has(summary.output, "433890 trainable parameters"));
  // the book's DeepConvNet (ch8/deep_convnet.py): 123,552 parameters, as its layer list spelled out
  const Result deep = run("summary --net deep_conv --out " + out.str());
  CHECK(deep.code == 0);
  CHECK(has(deep.output, "123552 trainable parameters"));
  CHECK(has(deep.output, "Conv2D(32 -> 32, 3, stride 1, padding 2)  (1, 32, 16, 16)"));
  const Result deep_check = run("gradcheck --net deep_conv --fast");
  INFO(deep_check.output);
  CHECK(deep_check.code == 0);
  CHECK(has(deep_check.output, "1 of 1 checks passed"));
  const Result check = run("gradcheck --net conv:3:5:stride=3:pad=2,tanh,avgpool:3:remainder=drop,linear:8,tanh");
  INFO(check.output);
  CHECK(check.code == 0);
  CHECK(has(check.output, "1 of 1 checks passed"));
}

TEST_CASE("cli: compare --jobs 2 writes the curves and table of --jobs 1, bit for bit, and prints the runs in order") {
  TempDir data, one, two;
  write_toy_mnist(data);
  const std::string common = "compare --data " + data.str() +
                             " --net 32 --epochs 3 --batch 20 --double --opt sgd:lr=0.1 --opt momentum --opt adagrad "
                             "--opt adam:lr=0.01 --out ";
  const Result a = run(common + one.str() + " --jobs 1"), b = run(common + two.str() + " --jobs 2");
  INFO(a.output);
  INFO(b.output);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK(has(b.output, "4 runs of 3 epochs, 2 at a time"));
  CHECK(testing::read_bytes(one.file("compare_loss.csv")) == testing::read_bytes(two.file("compare_loss.csv")));
  CHECK(without_timing(one.file("compare_table.txt")) == without_timing(two.file("compare_table.txt")));
  // each run's header and epoch lines together, in the order of --opt
  std::size_t at = 0;
  for (const char* header : {"== sgd(lr=0.1)", "== momentum(", "== adagrad(", "== adam(lr=0.01"}) {
    const std::size_t found = b.output.find(header, at);
    CHECK(found != std::string::npos);
    at = found;
    CHECK(b.output.find("epoch  3/3", at) < b.output.find("==", at + 2));
  }
}

#ifdef TAPEGRAD_MPIEXEC
namespace {
// mpirun as the tests run it: as root, and with more processes than the machine's 2 cores if asked. Under the
// sanitizers, Open MPI keeps allocations until exit that tests/lsan.supp suppresses by library name, which LSan
// sees only in full stacks (the fast unwinder stops in MPI's plugins).
// (-x is given per program, as MPMD's second program gets only its own)
std::string sanitizer_env() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  return asan ? fmt::format("-x ASAN_OPTIONS={}:fast_unwind_on_malloc=0 ", asan) : "";
}
std::string mpirun_options() {
  return fmt::format("{} --allow-run-as-root --oversubscribe {}", TAPEGRAD_MPIEXEC, sanitizer_env());
}
std::string mpirun(std::size_t processes) { return fmt::format("{}-np {} ", mpirun_options(), processes); }
std::vector<tg::Tensor<double>> parameters_of(const std::string& checkpoint) {
  tg::Rng rng(0);
  auto net = tg::make_mlp<double>({{16, 32, 10}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  tg::load_checkpoint(checkpoint, *net);
  std::vector<tg::Tensor<double>> values;
  for (const tg::Parameter<double>* p : net->parameters()) values.push_back(p->value);
  return values;
}
double max_relative_difference(const std::vector<tg::Tensor<double>>& a, const std::vector<tg::Tensor<double>>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t t = 0; t < a.size(); ++t) worst = std::max(worst, testing::max_relative_diff(a[t], b[t]));
  return worst;
}
}  // namespace

TEST_CASE("mpi: mpirun -np 2 train --data-parallel (2 x batch 50) ends where one process x batch 100 ends, and resumes") {
  TempDir data, out;
  write_toy_mnist(data);
  // 349 rows: the last batch of 49 splits 24 + 25
  const std::string common = "train --data " + data.str() + " --limit 349 --net 32 --batch 100 --double --opt adam:lr=0.01 ";
  const Result alone = run(common + "--epochs 4 --save " + out.file("alone.tgckpt") + " --out " + out.str());
  INFO(alone.output);
  REQUIRE(alone.code == 0);
  const Result two = run_command(mpirun(2) + TAPEGRAD_CLI + " " + common + "--data-parallel --epochs 3 --save " +
                                 out.file("two.tgckpt") + " --out " + out.str());
  INFO(two.output);
  REQUIRE(two.code == 0);
  CHECK(has(two.output, "data parallel: 2 processes, 50 rows of each batch of 100 each"));
  CHECK(std::count(two.output.begin(), two.output.end(), '\n') < 40);  // process 0 speaks, alone
  // 3 epochs on two processes, then one more resumed on two processes: the 4 epochs of one process
  const Result resumed = run_command(mpirun(2) + TAPEGRAD_CLI + " train --data-parallel --resume " +
                                     out.file("two.tgckpt") + " --epochs 1 --out " + out.str());
  INFO(resumed.output);
  REQUIRE(resumed.code == 0);
  CHECK(has(resumed.output, "epoch  4/4"));
  const double difference = max_relative_difference(parameters_of(out.file("two.tgckpt")), parameters_of(out.file("alone.tgckpt")));
  CHECK(difference < 1e-9);
  CHECK(tg::read_run_progress(out.file("two.tgckpt")).epochs_done == 4);
}

TEST_CASE("mpi: mpirun -np 2 compare gives the table, curves and sharpness of a local comparison") {
  TempDir data, local, spread;
  write_toy_mnist(data);
  const std::string common = "compare --data " + data.str() +
                             " --net 32 --epochs 2 --batch 20 --opt sgd:lr=0.1 --opt momentum --opt adam:lr=0.01 "
                             "--sharpness --diagnose --out ";
  const Result a = run(common + local.str());
  const Result b = run_command(mpirun(2) + TAPEGRAD_CLI + " " + common + spread.str());
  INFO(a.output);
  INFO(b.output);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK(has(b.output, "on each of 2 processes"));
  CHECK(testing::read_bytes(local.file("compare_loss.csv")) == testing::read_bytes(spread.file("compare_loss.csv")));
  CHECK(without_timing(local.file("compare_table.txt")) == without_timing(spread.file("compare_table.txt")));
  // the sharpness measured on each process reaches process 0 with its runs
  CHECK(testing::read_bytes(local.file("compare_sharpness.csv")) ==
        testing::read_bytes(spread.file("compare_sharpness.csv")));
  CHECK(lines_of(text_of(spread.file("compare_sharpness.csv"))).size() == 1 + 3 * 3);
  // and so do their monitors' records
  for (const char* csv : {"compare_units.csv", "compare_update_ratios.csv"}) {
    CAPTURE(csv);
    CHECK(testing::read_bytes(local.file(csv)) == testing::read_bytes(spread.file(csv)));
  }
  CHECK(lines_of(text_of(spread.file("compare_units.csv"))).size() == 1 + 3 * 3);  // a ReLU layer, epochs 0-2
  CHECK(b.output.find("== sgd(lr=0.1)") < b.output.find("== momentum("));
  CHECK(b.output.find("== momentum(") < b.output.find("== adam("));
}

TEST_CASE("mpi: bad set-ups stop every process with a message saying what to do, and no checkpoint") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string args = " train --data " + data.str() + " --net 32 --epochs 2 --batch 100 --out " + out.str() +
                           " --save " + out.file("m.tgckpt");
  const Result alone = run(args + " --data-parallel");
  CHECK(alone.code == 2);
  CHECK(has(alone.output, "--data-parallel: not started by mpirun"));
  const Result uneven = run_command(mpirun(3) + TAPEGRAD_CLI + args + " --data-parallel");
  CHECK(uneven.code == 2);
  CHECK(has(uneven.output, "--batch 100 does not divide among 3 processes; use a multiple of 3 (e.g. 102)"));
  const Result no_flag = run_command(mpirun(2) + TAPEGRAD_CLI + args);
  CHECK(no_flag.code == 2);
  CHECK(has(no_flag.output, "add --data-parallel"));
  // process 1 is given a folder without the data (as a machine without it would be)
  const std::string missing = out.file("nowhere");
  const Result unreadable = run_command(
      fmt::format("timeout 60 {}-np 1 {}{} --data-parallel : {}-np 1 {} train --data {} --net 32 --epochs 2 --batch "
                  "100 --out {} --save {} --data-parallel",
                  mpirun_options(), TAPEGRAD_CLI, args, sanitizer_env(), TAPEGRAD_CLI, missing, out.str(),
                  out.file("m.tgckpt")));
  INFO(unreadable.output);
  CHECK(unreadable.code == 2);  // not timeout's 124: nothing waited for the process that failed
  CHECK(has(unreadable.output, "process 1 of 2: "));
  CHECK(has(unreadable.output, missing));
  CHECK_FALSE(std::filesystem::exists(out.file("m.tgckpt")));
}
#endif

TEST_CASE("cli: L-BFGS trains a full batch, its history is in the checkpoint, and a resumed run continues it") {
  TempDir data, out;
  write_toy_mnist(data);
  const std::string straight = out.file("straight.tgckpt"), split = out.file("split.tgckpt");
  const std::string common = "train --data " + data.str() + " --net 32 --batch 400 --double --opt lbfgs:iters=5 ";
  const Result t = run(common + "--epochs 4 --save " + straight);
  INFO(t.output);
  REQUIRE(t.code == 0);
  CHECK(has(t.output, "lbfgs(lr=1, iters=5, history=100, line search: strong Wolfe)"));
  std::vector<double> losses;
  for (const std::string& line : lines_of(t.output))
    if (line.rfind("epoch ", 0) == 0) losses.push_back(std::stod(line.substr(line.find("loss ") + 5)));
  REQUIRE(losses.size() == 4);
  CHECK(losses[3] < 0.5 * losses[0]);  // one full-batch step per epoch, five iterations each
  // two epochs, then two more from the checkpoint: the same weights as four in one run
  REQUIRE(run(common + "--epochs 2 --save " + split).code == 0);
  REQUIRE(run("train --data " + data.str() + " --epochs 2 --resume " + split).code == 0);
  const auto a = parameters_of(straight), b = parameters_of(split);
  CHECK(max_relative_difference(a, b) == 0);
}

TEST_CASE("cli: lr-find suggests a rate within 3x of the one compare --lr-sweep picks (Fashion-MNIST), and refuses bad input") {
  TempDir found, swept;
  const std::string model = "--limit 2000 --net 100 ";
  const Result r = run("lr-find " + model + "--out " + found.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::size_t at = r.output.find("suggested lr ");
  REQUIRE(at != std::string::npos);
  const double suggested = std::stod(r.output.substr(at + 13));
  CHECK(has(r.output, "to train at it: tapegrad train --opt sgd:lr="));
  const std::vector<std::string> curve = lines_of(text_of(found.file("lr_find.csv")));
  CHECK(curve.front() == "lr,loss,smoothed loss");
  CHECK(curve.size() == 1 + 100);  // the default 100 rates; this run does not diverge before 10
  CHECK(curve[1].rfind("1e-06,", 0) == 0);
  CHECK(is_png(found.file("lr_find.png")));
  CHECK(has(text_of(found.file("lr_find.txt")), "suggested lr "));
  const Result sweep = run("compare --opt sgd:lr=0.1 --lr-sweep --epochs 3 " + model + "--out " + swept.str());
  INFO(sweep.output);
  REQUIRE(sweep.code == 0);
  const std::vector<std::string> rows = lines_of(text_of(swept.file("lr_sweep.txt")));
  REQUIRE(rows.size() == 3);
  const double picked = std::stod(rows[2].substr(rows[2].find_last_of(' ') + 1));
  CAPTURE(suggested);
  CAPTURE(picked);
  CHECK(suggested >= picked / 3);
  CHECK(suggested <= picked * 3);

  const std::string file = found.file("lr_find.csv");  // a file where the folder should be
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--start 0", "lr-find: --start 0 and --end 10 must be finite, with 0 < start < end"},
           {"--start 1 --end 0.1", "lr-find: --start 1 and --end 0.1 must be finite, with 0 < start < end"},
           {"--end nan", "must be finite, with 0 < start < end"},
           {"--steps 3", "--steps: Value 3 not in range 5 to 100000"},
           {"--divisor 0.5", "lr-find: --divisor 0.5 must be a finite number of at least 1"},
           {"--opt lbfgs", "lr-find: lbfgs searches its own step along each direction"},
           {"--opt sgd:momentum=0.9", "sgd does not use 'momentum'"},
           {"--epochs 3", "--epochs does not apply to lr-find"},
           {"--schedule exp:gamma=0.9", "--schedule does not apply to lr-find"},
           {"--decay-scope weights", "--decay-scope weights: sgd has no weight decay to scope"}}) {
    CAPTURE(args);
    const Result bad = run("lr-find --data /no/such/dir " + args);
    CHECK(bad.code == 2);
    CHECK(has(bad.output, message));
    CHECK(!has(bad.output, "/no/such/dir"));
  }
  const Result into_file = run("lr-find " + model + "--out " + file);
  CHECK(into_file.code == 2);
  CHECK(has(into_file.output, file));
}

TEST_CASE("cli: compare --sharpness: full-batch gradient descent holds its sharpness at 2/lr, the edge of stability") {
  // Cohen et al. 2021 on Fashion-MNIST: 500 images, one full batch per epoch, 100 steps of SGD at two rates. The
  // sharpness starts at 25 (above 2/0.1 = 20), and settles at each rate's own 2/lr, not at a level of its own.
  TempDir out;
  const Result r = run("compare --limit 500 --batch 500 --net 32 --double --opt sgd --vary lr 0.1 0.3 --epochs 100 "
                       "--sharpness --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "sharpness (on the first 500 training rows; "));
  const std::vector<std::string> lines = lines_of(text_of(out.file("compare_sharpness.csv")));
  CHECK(lines.front() == "label,seed,epoch,learning rate,sharpness,2/lr");
  REQUIRE(lines.size() == 1 + 2 * 101);
  std::vector<double> means;  // over the last 50 epochs
  for (const auto& [label, lr] : std::vector<std::pair<std::string, double>>{{"lr=0.1", 0.1}, {"lr=0.3", 0.3}}) {
    CAPTURE(label);
    std::vector<double> sharpness;
    for (const std::string& line : lines)
      if (line.rfind("\"" + label + "\",", 0) == 0)
        sharpness.push_back(std::stod(line.substr(line.rfind(',', line.rfind(',') - 1) + 1)));
    REQUIRE(sharpness.size() == 101);
    const double edge = 2 / lr;
    double mean = 0;
    for (std::size_t e = 51; e <= 100; ++e) {
      CAPTURE(e);
      CHECK(sharpness[e] > 0.7 * edge);  // it does not fall away from the edge (this run: 1.01x, 1.09x at least)
      CHECK(sharpness[e] < 4.0 * edge);  // each overshoot is pushed back (at most 1.5x, 2.8x)
      mean += sharpness[e] / 50;
    }
    CHECK(mean > 0.9 * edge);  // this run: 1.20x and 1.68x
    CHECK(mean < 2.0 * edge);
    means.push_back(mean);
  }
  CHECK(means[0] / means[1] > 1.5);  // a three times larger rate, a sharpness about half as large (this run: 2.15)
  CHECK(is_png(out.file("compare_sharpness.png")));
  CHECK(has(text_of(out.file("compare_sharpness.txt")), "2/lr at the end"));
  const Result with_function = run("compare --function bowl --sharpness --out " + out.str());
  CHECK(with_function.code == 2);
  CHECK(has(with_function.output, "--sharpness does not apply to compare --function"));
}

TEST_CASE("cli: landscape slices a checkpoint's loss and draws optimizers' paths on their plane, and refuses bad input") {
  TempDir data, out, paths;
  write_toy_mnist(data);
  const std::string model = out.file("toy.tgckpt");
  REQUIRE(run("train --data " + data.str() + " --net 32 --epochs 3 --batch 20 --double --opt sgd:lr=0.1 --save " +
              model).code == 0);
  const Result r = run("landscape --model " + model + " --data " + data.str() + " --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::vector<std::string> line = lines_of(text_of(out.file("landscape_1d.csv")));
  CHECK(line.front() == "alpha,loss,accuracy");
  REQUIRE(line.size() == 1 + 41);
  CHECK(line[1].rfind("-1,", 0) == 0);
  CHECK(line[21].rfind("0,", 0) == 0);
  const std::vector<std::string> plane = lines_of(text_of(out.file("landscape_2d.csv")));
  CHECK(plane.front() == "alpha,beta,loss,accuracy");
  REQUIRE(plane.size() == 1 + 21 * 21);
  // the checkpoint itself is the middle of both, with one loss
  CHECK(plane[1 + 10 * 21 + 10].rfind("0,0," + line[21].substr(2), 0) == 0);
  const double at_checkpoint = std::stod(line[21].substr(2));
  const double at_edge = std::stod(line[1].substr(3));
  CHECK(at_edge > at_checkpoint);  // a trained point: the loss rises away from it
  CHECK(is_png(out.file("landscape_1d.png")));
  CHECK(is_png(out.file("landscape_2d.png")));

  const Result p = run("landscape --data " + data.str() + " --net 32 --epochs 3 --batch 20 --double --opt sgd:lr=0.1 "
                       "--opt adam --out " + paths.str());
  INFO(p.output);
  REQUIRE(p.code == 0);
  CHECK(has(p.output, "the plane of the paths' two main directions holds "));
  const std::vector<std::string> csv = lines_of(text_of(paths.file("landscape_paths.csv")));
  CHECK(csv.front() == "optimizer,epoch,alpha,beta");
  REQUIRE(csv.size() == 1 + 2 * 4);  // the start and three epochs each
  CHECK(csv[4] == "\"sgd:lr=0.1\",3,0,0");  // the plane goes through the first optimizer's end
  // both start from the same weights, so at the same point of the plane
  CHECK(csv[1].substr(csv[1].find("\",0,")) == csv[5].substr(csv[5].find("\",0,")));
  CHECK(csv[5].rfind("\"adam\",0,", 0) == 0);
  CHECK(lines_of(text_of(paths.file("landscape_plane.csv"))).size() == 1 + 21 * 21);
  CHECK(is_png(paths.file("landscape_paths.png")));

  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"", "landscape: give --model CHECKPOINT (slices around it) or --opt SPEC... (their paths), one of the two"},
           {"--model " + model + " --opt sgd", "--opt does not apply to landscape --model"},
           {"--model " + model + " --range 0", "landscape: --range 0 must be a number in (0, 100]"},
           {"--model " + model + " --range nan", "landscape: --range nan must be a number in (0, 100]"},
           {"--model " + model + " --points 2", "--points: Value 2 not in range 3 to 10001"},
           {"--model " + model + " --grid 500", "--grid: Value 500 not in range 3 to 201"},
           {"--model " + model + " --net 64", "--net does not apply to landscape --model"},
           {"--opt sgd --range 2", "--range applies to landscape --model only"},
           {"--opt lamb", "unknown optimizer 'lamb'"},
           {"--opt sgd --decay-scope weights", "--decay-scope weights: sgd has no weight decay to scope"},
           {"--model " + out.file("missing.tgckpt"), out.file("missing.tgckpt")},
           {"--model " + out.file("landscape_1d.csv"), out.file("landscape_1d.csv")}}) {
    CAPTURE(args);
    const Result bad = run("landscape --data " + data.str() + " " + args + " --out " + out.str());
    CHECK(bad.code == 2);
    CHECK(has(bad.output, message));
  }
}

TEST_CASE("cli: --data digits trains an MLP past 97% on scikit-learn's digits, half of them held out by the seed") {
  TempDir out;
  const std::string model = out.file("digits.tgckpt");
  const Result r = run("train --data digits --net 100 --epochs 100 --batch 20 --opt adam:lr=0.001 --save " + model +
                       " --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "64-100-10 relu he on digits (898 training, 899 test images)"));
  CHECK(has(r.output, tg::sklearn_data_dir() + "/digits.csv.gz"));
  const std::vector<std::string> lines = lines_of(r.output);
  std::string last;
  for (const std::string& line : lines)
    if (line.rfind("epoch 100/100", 0) == 0) last = line;
  REQUIRE(!last.empty());
  const double test_accuracy = std::stod(last.substr(last.find("test acc ") + 9));
  CHECK(test_accuracy >= 0.97);  // this run: 0.9778
  // the checkpoint names the set, and eval scores the same 899 held-out images
  CHECK(tg::Checkpoint(model).fields().at("data") == "digits");
  const Result e = run("eval --data digits --model " + model);
  INFO(e.output);
  REQUIRE(e.code == 0);
  CHECK(has(e.output, fmt::format("on 899 test images: accuracy {:.2f}%", 100 * test_accuracy)));
  for (const char* name : {"iris", "wine", "breast-cancer"}) {
    CAPTURE(name);
    const Result t = run(std::string("train --data ") + name + " --net 32 --epochs 50 --batch 10 --opt sgd:lr=0.05 "
                         "--out " + out.str());
    CHECK(t.code == 0);
    CHECK(has(t.output, std::string(" on ") + name + " ("));
  }
  const Result unknown = run("train --data digitz --epochs 1");
  CHECK(unknown.code == 2);
  CHECK(has(unknown.output, "--data digitz: no such data folder, and not a data set name (digits, iris, wine, "
                            "breast-cancer, spiral, moons, circles, xor)"));
}

TEST_CASE("cli: on the spiral a linear model stays near chance, a two-layer network separates it, --boundary draws both") {
  TempDir linear, two_layer;
  const auto final_test_accuracy = [](const std::string& output) {
    const std::size_t at = output.rfind("test acc ");
    REQUIRE(at != std::string::npos);
    return std::stod(output.substr(at + 9));
  };
  const std::string common = "train --data spiral --epochs 300 --batch 30 --opt adam:lr=0.01 --boundary ";
  const Result flat = run(common + "--net \"\" --out " + linear.str());
  INFO(flat.output);
  REQUIRE(flat.code == 0);
  CHECK(has(flat.output, "2-3 relu he on spiral (150 training, 150 test images)"));
  CHECK(final_test_accuracy(flat.output) < 0.6);  // chance is 1/3; this run: 0.52
  const Result deep = run(common + "--net 32 --activation tanh --out " + two_layer.str());
  INFO(deep.output);
  REQUIRE(deep.code == 0);
  CHECK(final_test_accuracy(deep.output) >= 0.95);  // this run: 0.9667
  for (const TempDir* dir : {&linear, &two_layer}) {
    CHECK(is_png(dir->file("boundary.png")));
    const std::vector<std::string> rows = lines_of(text_of(dir->file("boundary.csv")));
    CHECK(rows.front() == "epoch,x,y,class");
    CHECK(rows.size() == 1 + 6 * 100 * 100);  // six panels of a 100 x 100 grid
    CHECK(rows[1].rfind("1,", 0) == 0);
    CHECK(rows.back().rfind("300,", 0) == 0);
  }
  const Result not_2d = run("train --data iris --epochs 1 --boundary --out " + linear.str());
  CHECK(not_2d.code == 2);
  CHECK(has(not_2d.output, "--boundary draws classifiers of 2-D points; this data has 4 features per row"));
}

TEST_CASE("cli: compare --function draws any surface, and names the surfaces when one does not exist") {
  TempDir out;
  const Result r = run("compare --function saddle --all --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  // SGD on x^2 - y^2 from (-4, 0.001), lr 0.1, 40 steps: x *= 0.8 and y *= 1.2 each step
  CHECK(has(r.output, fmt::format("{:.10g}", -4 * std::pow(0.8, 40))));
  CHECK(has(r.output, fmt::format("{:.10g}", 0.001 * std::pow(1.2, 40))));
  CHECK(has(r.output, "rmsprop:lr=0.1"));
  // L-BFGS's line search runs off to infinity along y: its row says where its path stops
  const std::size_t lbfgs_row = r.output.find("lbfgs:iters=1");
  REQUIRE(lbfgs_row != std::string::npos);
  CHECK(r.output.substr(lbfgs_row, r.output.find('\n', lbfgs_row) - lbfgs_row).find("overflowed after step 8") !=
        std::string::npos);
  CHECK(is_png(out.file("function_paths.png")));
  const Result far = run("compare --function saddle --steps 5000 --opt sgd:lr=0.1 --out " + out.str());
  CHECK(far.code == 0);
  CHECK(has(far.output, "overflowed after step 3928"));
  const Result rosenbrock = run("compare --function rosenbrock --opt adam:lr=0.05 --out " + out.str());
  CHECK(has(rosenbrock.output, "1000 steps"));
  CHECK(has(rosenbrock.output, "distance to the minimum (1, 1)"));
  const Result unknown = run("compare --function banana");
  CHECK(unknown.code == 2);
  CHECK(has(unknown.output, "surface 'banana': no such surface (accepted: bowl, rosenbrock, beale, saddle)"));
}

TEST_CASE("cli: train --diagnose shows saturated sigmoids, dead units and update ratios, and keeps them when a run diverges") {
  TempDir wide, xavier, diverged, linear;
  const auto units = [](const TempDir& dir) { return lines_of(text_of(dir.file("diagnostics_units.csv"))); };
  const std::string common = "train --data spiral --net 64-64 --activation sigmoid --epochs 2 --batch 30 --diagnose ";
  const Result w = run(common + "--init 10 --out " + wide.str());
  INFO(w.output);
  REQUIRE(w.code == 0);
  CHECK(has(w.output, "diagnostics: " + wide.file("diagnostics_histograms.csv")));
  // weights of std 10: the second layer's sigmoids sit at 0 or 1 (this run: 95 %), Xavier's at neither
  CHECK(units(wide).at(0) == "epoch,layer,kind,inactive_share");
  CHECK(units(wide).at(2).rfind("0,3,Sigmoid,0.95", 0) == 0);
  const Result x = run(common + "--init xavier --out " + xavier.str());
  REQUIRE(x.code == 0);
  CHECK(units(xavier).at(2) == "0,3,Sigmoid,0");
  for (const char* png : {"activations.png", "gradients.png", "units.png", "update_ratios.png"}) {
    CAPTURE(png);
    CHECK(is_png(wide.file(png)));
  }
  const std::vector<std::string> histograms = lines_of(text_of(wide.file("diagnostics_histograms.csv")));
  CHECK(histograms.size() == 1 + 3 * 2 * 2 * 30);  // epochs 0-2, two layers, outputs and gradients, 30 bins
  CHECK(histograms.at(1).rfind("0,1,Sigmoid,activation,", 0) == 0);
  const std::vector<std::string> ratios = lines_of(text_of(wide.file("diagnostics_update_ratios.csv")));
  CHECK(ratios.at(0) == "step,parameter,log10_ratio");
  CHECK(ratios.at(1).rfind("1,0.W,", 0) == 0);
  SUBCASE("a diverging run exits 2 and still writes what was recorded") {
    const Result d = run("train --data spiral --net 64 --epochs 3 --batch 30 --opt sgd:lr=1e12 --diagnose --out " +
                         diverged.str());
    CHECK(d.code == 2);
    CHECK(has(d.output, "the loss became"));
    CHECK(units(diverged).at(1).rfind("0,1,ReLU,", 0) == 0);
    CHECK(is_png(diverged.file("update_ratios.png")));
  }
  SUBCASE("a model without activation layers: the update ratios only") {
    const Result l = run("train --data spiral --net \"\" --epochs 1 --diagnose --out " + linear.str());
    REQUIRE(l.code == 0);
    CHECK(units(linear).size() == 1);
    CHECK_FALSE(std::filesystem::exists(linear.file("units.png")));
    CHECK(is_png(linear.file("update_ratios.png")));
  }
  SUBCASE("a diagnostics file that is a FIFO is refused before any training, and left as it was") {
    REQUIRE(::mkfifo(linear.file("units.png").c_str(), 0644) == 0);
    const Result f = run("train --data spiral --net 8 --epochs 1 --diagnose --out " + linear.str());
    CHECK(f.code == 2);
    CHECK(has(f.output, "units.png: is a FIFO (named pipe), not a regular file; refusing to write over it"));
    CHECK_FALSE(has(f.output, "epoch  1/1"));
    CHECK(std::filesystem::is_fifo(linear.file("units.png")));
  }
  SUBCASE("an option of train only") {
    const Result misplaced = run("lr-find --data spiral --diagnose --out " + linear.str());
    CHECK(misplaced.code == 2);
    CHECK(has(misplaced.output, "--diagnose"));
  }
}

TEST_CASE("cli: compare --diagnose puts each run's saturation and update ratios side by side") {
  TempDir out;
  const Result r = run("compare --data spiral --net 64-64 --activation sigmoid --opt sgd --vary init 10 xavier "
                       "--epochs 2 --batch 30 --diagnose --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::vector<std::string> units = lines_of(text_of(out.file("compare_units.csv")));
  REQUIRE(units.size() == 1 + 2 * 2 * 3);  // two runs, two layers, epochs 0-2
  CHECK(units[0] == "label,epoch,layer,kind,inactive_share");
  CHECK(units[2].rfind("\"init=10\",0,3,Sigmoid,0.95", 0) == 0);  // the same weights as train's
  CHECK(units[8] == "\"init=xavier\",0,3,Sigmoid,0");
  CHECK(lines_of(text_of(out.file("compare_update_ratios.csv"))).at(1).rfind("\"init=10\",1,0.W,", 0) ==
        0);
  CHECK(is_png(out.file("compare_units.png")));
  CHECK(is_png(out.file("compare_update_ratios.png")));
  const Result surface = run("compare --function bowl --diagnose --out " + out.str());
  CHECK(surface.code == 2);
  CHECK(has(surface.output, "--diagnose does not apply to compare --function"));
}

TEST_CASE("cli: doctor prints its table, exits 1 when a check fails, and refuses what does not apply") {
  TempDir out, trained;
  const Result sound = run("doctor --data spiral --net 32 --activation tanh --init xavier --out " + out.str());
  INFO(sound.output);
  REQUIRE(sound.code == 0);
  CHECK(has(sound.output, "2-32-3 tanh xavier (double) on spiral (150 training rows), initial weights of seed 0"));
  CHECK(has(sound.output, "\nloss at initialisation             pass"));
  CHECK(has(sound.output, "all 6 checks passed"));
  const std::vector<std::string> csv = lines_of(text_of(out.file("doctor.csv")));
  REQUIRE(csv.size() == 7);
  CHECK(csv[0] == "check,result,measured,passes when,advice");
  CHECK(csv[1].rfind("\"loss at initialisation\",pass,", 0) == 0);
  CHECK(has(text_of(out.file("doctor.txt")), "gradient norms at initialisation:"));
  const Result wide = run("doctor --data spiral --net 64 --activation tanh --init 10 --out " + out.str());
  CHECK(wide.code == 1);
  CHECK(has(wide.output, "\nloss at initialisation             FAIL"));
  CHECK(has(wide.output, "checks failed"));
  SUBCASE("a checkpoint, in its own precision") {
    REQUIRE(run("train --data spiral --net 16 --epochs 2 --out " + trained.str()).code == 0);
    const Result saved = run("doctor --model " + trained.file("model.tgckpt") + " --data spiral --out " + out.str());
    INFO(saved.output);
    CHECK(saved.code == 0);
    CHECK(has(saved.output, "(float) on spiral (150 training rows), weights from " + trained.file("model.tgckpt")));
  }
  SUBCASE("options of a training run, a network with --model, and bad targets are refused before any work") {
    const Result epochs = run("doctor --data spiral --epochs 3 --out " + out.str());
    CHECK(epochs.code == 2);
    CHECK(has(epochs.output, "--epochs does not apply to doctor"));
    const Result both = run("doctor --model " + trained.file("none.tgckpt") + " --net 32 --out " + out.str());
    CHECK(both.code == 2);
    CHECK(has(both.output, "--net does not apply to doctor --model"));
    const Result missing = run("doctor --model " + trained.file("none.tgckpt") + " --data spiral --out " + out.str());
    CHECK(missing.code == 2);
    CHECK(has(missing.output, "none.tgckpt"));
    const Result bad_opt = run("doctor --data spiral --opt adam:lr=-1 --out " + out.str());
    CHECK(bad_opt.code == 2);
    REQUIRE(::mkfifo(trained.file("doctor.txt").c_str(), 0644) == 0);
    const Result fifo = run("doctor --data spiral --out " + trained.str());
    CHECK(fifo.code == 2);
    CHECK(has(fifo.output, "doctor.txt: is a FIFO (named pipe)"));
    CHECK_FALSE(has(fifo.output, "loss at initialisation"));
  }
}

TEST_CASE("experiment rnn-gradients: the gradient explodes through 20 steps, vanishes, and clipping bounds it") {
  TempDir out;
  const Result r = run("experiment rnn-gradients --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "the largest singular value (sigma) of Wh: 3.334"));
  const std::vector<std::string> rows = lines_of(text_of(out.file("rnn_gradients.csv")));
  REQUIRE(rows.size() == 21);
  CHECK(rows[0] == "step back,exploding,vanishing,clipped");
  const auto field = [&](std::size_t row, std::size_t column) {
    std::string line = rows[row];
    for (std::size_t c = 0; c < column; ++c) line = line.substr(line.find(',') + 1);
    return std::stod(line.substr(0, line.find(',')));
  };
  CHECK(field(20, 1) / field(1, 1) > 1e8);   // sigma 3.3: this run 2.3e8 / 0.195
  CHECK(field(20, 2) / field(1, 2) < 1e-6);  // sigma 0.5: at most 0.5^19 = 1.9e-6 of the first step
  for (std::size_t k = 1; k <= 20; ++k) CHECK(field(k, 3) <= 0.5 + 1e-12);  // norm 1 over a batch of 2
  CHECK(is_png(out.file("rnn_gradients.png")));
  const Result jobs = run("experiment rnn-gradients --jobs 2 --out " + out.str());
  CHECK(jobs.code == 2);
  CHECK(has(jobs.output, "--jobs does not apply to experiment rnn-gradients; leave it out"));
  const Result epochs = run("experiment rnn-gradients --epochs 3 --out " + out.str());
  CHECK(epochs.code == 2);
  CHECK(has(epochs.output, "--epochs does not apply to experiment rnn-gradients; leave it out"));
}

namespace {

// `text` as one shell word: single-quoted, each quote closed, escaped and reopened.
std::string shell_word(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Column `column` (0 = the first) of a CSV row of numbers.
double csv_field(const std::string& row, std::size_t column) {
  std::string line = row;
  for (std::size_t c = 0; c < column; ++c) line = line.substr(line.find(',') + 1);
  return std::stod(line.substr(0, line.find(',')));
}

}  // namespace

TEST_CASE("experiment sine: RNN and LSTM learn the noisy sine and predict cos one step ahead (DeZero 59-60)") {
  TempDir out;
  const Result r = run("experiment sine --out " + out.str());  // the full run: 100 epochs, about 3 s
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::vector<std::string> losses = lines_of(text_of(out.file("sine_loss.csv")));
  REQUIRE(losses.size() == 101);
  CHECK(losses[0] == "epoch,\"RNN(10), batch 1 (step 59)\",\"RNN(100), batch 30\",\"LSTM(100), batch 30 (step 60)\"");
  for (std::size_t model = 1; model <= 3; ++model) {
    CAPTURE(model);
    CHECK(csv_field(losses[100], model) < csv_field(losses[1], model) / 20);  // this run: 70-270 times lower
    CHECK(csv_field(losses[100], model) < 0.05);
  }
  // the batch-1 RNN takes 999 steps an epoch, the others 33: per epoch it learns the most
  CHECK(csv_field(losses[100], 1) < csv_field(losses[100], 2));
  CHECK(csv_field(losses[100], 1) < csv_field(losses[100], 3));
  const std::vector<std::string> predicted = lines_of(text_of(out.file("sine_prediction.csv")));
  REQUIRE(predicted.size() == 1001);
  double worst = 0;  // after the first steps (the state starts at zero) every model follows cos within 0.15
  for (std::size_t t = 20; t < 999; ++t)
    for (std::size_t model = 2; model <= 4; ++model)
      worst = std::max(worst, std::abs(csv_field(predicted[t + 1], model) - csv_field(predicted[t + 2], 1)));
  CHECK(worst < 0.15);
  const std::string table = text_of(out.file("sine.txt"));
  CHECK(has(table, "repeat the last value (no model)"));
  CHECK(is_png(out.file("sine.png")));
  const Result limit = run("experiment sine --limit 100 --out " + out.str());
  CHECK(limit.code == 2);
  CHECK(has(limit.output, "--limit does not apply to experiment sine; leave it out"));
  const Result book = run("experiment weight-init --epochs 3 --out " + out.str());
  CHECK(book.code == 2);
  CHECK(has(book.output, "--epochs applies to the experiments sine, addition and char-lm only"));
}

TEST_CASE("experiment addition: a reduced run learns, reversed input with Peeky best, and answers are shown") {
  TempDir out;
  const Result r = run("experiment addition --limit 5000 --epochs 8 --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "5000 problems such as "));
  CHECK(has(r.output, "4500 to train on, 500 to test"));
  const std::vector<std::string> rows = lines_of(text_of(out.file("addition.csv")));
  REQUIRE(rows.size() == 9);
  CHECK(rows[0] == "epoch,\"baseline\" accuracy,\"baseline\" loss,\"reversed input\" accuracy,\"reversed input\" "
                   "loss,\"reversed input + Peeky\" accuracy,\"reversed input + Peeky\" loss");
  for (std::size_t model = 0; model < 3; ++model)  // the training loss falls for each
    CHECK(csv_field(rows[8], 2 + 2 * model) < csv_field(rows[1], 2 + 2 * model));
  // the book's ordering, already on 4,500 problems (this run's losses 1.46, 1.38, 1.33; exact 0.8, 1.8, 3.2 %)
  CHECK(csv_field(rows[8], 2) > csv_field(rows[8], 4));
  CHECK(csv_field(rows[8], 4) > csv_field(rows[8], 6));
  CHECK(csv_field(rows[8], 5) > csv_field(rows[8], 1));
  CHECK(has(text_of(out.file("addition.txt")), "the first test problems, answered by reversed input + Peeky:"));
  CHECK(is_png(out.file("addition.png")));
  const Result few = run("experiment addition --limit 100 --out " + out.str());
  CHECK(few.code == 2);
  CHECK(has(few.output, "--limit 100: leaves 90 problems to train on, fewer than a batch of 128"));
  const Result zero = run("experiment addition --epochs 0 --out " + out.str());
  CHECK(zero.code == 2);
}

TEST_CASE("experiment char-lm: perplexity falls below a uniform guess's, and it makes up words") {
  TempDir out;
  const Result r = run("experiment char-lm --limit 4000 --epochs 2 --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "/usr/share/dict/american-english: 4000 words of a-z only"));
  const std::vector<std::string> rows = lines_of(text_of(out.file("char_lm.csv")));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == "epoch,training perplexity,held-out perplexity");
  CHECK(csv_field(rows[2], 2) < csv_field(rows[1], 2));
  CHECK(csv_field(rows[2], 2) < 15);  // a uniform guess over 27 characters: 27; this run 11
  const std::string text = text_of(out.file("char_lm.txt"));
  CHECK(has(text, "20 words it makes up, sampled letter by letter"));
  CHECK(is_png(out.file("char_lm.png")));
  // its own word list, with a name a shell would mangle; then lists that are not lists
  const std::string list = out.file("my words $HOME `x` 'q'");
  std::string words;
  for (char a = 'a'; a <= 'z'; ++a)
    for (char b = 'a'; b <= 'z'; ++b) words += std::string{a, b, 'e', 'n'} + "\n" + std::string{b, a, 's'} + "\n";
  {
    std::ofstream f(list);
    f << words;
  }
  const Result own = run("experiment char-lm --epochs 1 --data " + shell_word(list) + " --out " + out.file("own"));
  INFO(own.output);
  CHECK(own.code == 0);
  CHECK(has(own.output, "1352 words of a-z only"));
  const Result missing = run("experiment char-lm --data /no/such/list --out " + out.str());
  CHECK(missing.code == 2);
  CHECK(has(missing.output, "/no/such/list: not found (install Debian's wamerican"));
  const Result device = run("experiment char-lm --data /dev/zero --out " + out.str());
  CHECK(device.code == 2);
  CHECK(has(device.output, "/dev/zero: not a regular file"));
  const Result tiny = run("experiment char-lm --limit 20 --out " + out.str());
  CHECK(tiny.code == 2);
  CHECK(has(tiny.output, "char-lm: 20 words"));
  CHECK(has(tiny.output, "are too few for a batch of 32 rows of 35 steps; give more words"));
  const Result sine_data = run("experiment sine --data digits --out " + out.str());
  CHECK(sine_data.code == 2);
  CHECK(has(sine_data.output, "--data does not apply to experiment sine; leave it out"));
}

TEST_CASE("cli: compare and train take sequence models: an LSTM reads each image row by row") {
  TempDir out;
  const Result c = run("compare --net lstm:32 --opt sgd adam --epochs 2 --limit 3000 --out " + out.str());
  INFO(c.output);
  REQUIRE(c.code == 0);
  CHECK(has(c.output, "on 1x28x28 lstm:32 -> 10 he"));
  const std::vector<std::string> table = lines_of(text_of(out.file("compare_table.txt")));
  REQUIRE(table.size() == 4);
  const auto test_accuracy = [](const std::string& row) {  // the column before s/epoch: "52.62%"
    const std::size_t percent = row.rfind('%');
    const std::size_t start = row.rfind(' ', percent) + 1;
    return std::stod(row.substr(start, percent - start));
  };
  CHECK(table[2].find("sgd") == 0);
  CHECK(table[3].find("adam") == 0);
  CHECK(test_accuracy(table[3]) > 40);  // this run: adam 52.6 %, sgd 17.8 % on 3000 images after 2 epochs
  CHECK(test_accuracy(table[3]) > test_accuracy(table[2]));
  // a checkpoint of an LSTM network is evaluated and resumed as any other
  const std::string model = out.file("lstm.tgckpt");
  const Result t = run("train --net gru:16:layers=2 --epochs 1 --limit 500 --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  const Result e = run("eval --model " + model);
  INFO(e.output);
  CHECK(e.code == 0);
  CHECK(has(e.output, "accuracy"));
  const Result doctor = run("doctor --net lstm:16 --out " + out.file("doctor"));
  INFO(doctor.output);
  CHECK(doctor.code == 0);
  CHECK(has(doctor.output, "all 6 checks passed"));
  const Result bad = run("compare --net lstm:0 --out " + out.str());
  CHECK(bad.code == 2);
  CHECK(has(bad.output, "layer 1 'lstm:0': the hidden size must be positive"));
}

TEST_CASE("experiment half-precision: a trained network loses next to nothing in float16, and bad models are named") {
  TempDir out;
  const std::string model = out.file("mlp.tgckpt");
  const Result t = run("train --net 64 --epochs 1 --limit 5000 --opt adam:lr=0.001 --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  const Result r = run("experiment half-precision --model " + model + " --out " + out.str());
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::vector<std::string> rows = lines_of(text_of(out.file("half_precision.csv")));
  REQUIRE(rows.size() == 6);
  CHECK(rows[0] == "precision,rounded,test accuracy,change (points),predictions changed,overflowed");
  CHECK(rows[1].find("float32,none,") == 0);
  CHECK(rows[3].find("float16,\"weights, inputs and every layer's outputs\",") == 0);
  const auto change = [&](std::size_t row) {  // the third field from the end (the second may hold commas)
    std::string line = rows[row];
    for (int k = 0; k < 2; ++k) line = line.substr(0, line.rfind(','));
    return std::stod(line.substr(line.rfind(',') + 1));
  };
  CHECK(std::abs(change(2)) <= 0.2);  // float16: this run +0.00 and -0.01 points
  CHECK(std::abs(change(3)) <= 0.2);
  CHECK(std::abs(change(4)) <= 1.0);  // bfloat16 keeps 8 bits: this run +0.02 and +0.00
  CHECK(std::abs(change(5)) <= 1.0);
  const Result none = run("experiment half-precision --out " + out.str());
  CHECK(none.code == 2);
  CHECK(has(none.output, "experiment half-precision: give the trained network with --model CKPT"));
  const Result device = run("experiment half-precision --model /dev/zero --out " + out.str());
  CHECK(device.code == 2);
  CHECK(has(device.output, "/dev/zero"));
  const std::string text = out.file("not a model 'q' $x");
  {
    std::ofstream f(text);
    f << "hello\n";
  }
  const Result wrong = run("experiment half-precision --model " + shell_word(text) + " --out " + out.str());
  CHECK(wrong.code == 2);
  CHECK(has(wrong.output, "not a tapegrad checkpoint"));
  const Result epochs = run("experiment half-precision --model " + model + " --epochs 2 --out " + out.str());
  CHECK(epochs.code == 2);
  CHECK(has(epochs.output, "--epochs does not apply to experiment half-precision; leave it out"));
}

TEST_CASE("cli: --augment in train and compare (--vary augment), recorded in checkpoints, refused where it cannot apply") {
  TempDir out;
  const Result c = run("compare --opt adam --vary augment off on --net 32 --epochs 1 --limit 1000 --out " + out.str());
  INFO(c.output);
  REQUIRE(c.code == 0);
  const std::string table = text_of(out.file("compare_table.txt"));
  CHECK(has(table, "augment=off"));
  CHECK(has(table, "augment=on"));
  const std::string model = out.file("aug.tgckpt");
  const Result t = run("train --net 32 --epochs 1 --limit 500 --augment crop:1 --save " + model);
  INFO(t.output);
  REQUIRE(t.code == 0);
  CHECK(has(t.output, "augment: crop:1"));
  const Result conflict = run("train --epochs 2 --augment off --resume " + model + " --save " + out.file("b.tgckpt"));
  CHECK(conflict.code == 2);
  CHECK(has(conflict.output, "--augment off conflicts with the checkpoint's crop:1"));
  const Result resumed = run("train --epochs 2 --resume " + model + " --save " + out.file("c.tgckpt"));
  INFO(resumed.output);
  CHECK(resumed.code == 0);
  CHECK(has(resumed.output, "augment: crop:1"));
  const Result bad = run("train --augment rotate --data /no/such/dir");
  CHECK(bad.code == 2);
  CHECK(has(bad.output, "augmentation 'rotate': 'rotate' is not crop:P or flip (or give on or off)"));
  const Result iris = run("train --augment flip --data iris --epochs 1");
  CHECK(iris.code == 2);
  CHECK(has(iris.output, "holds no images"));
  const Result lr = run("lr-find --augment on");
  CHECK(lr.code == 2);
  CHECK(has(lr.output, "--augment does not apply to lr-find"));
  const Result doctor = run("doctor --augment on --out " + out.str());
  CHECK(doctor.code == 2);
  CHECK(has(doctor.output, "--augment does not apply to doctor"));
}

TEST_CASE("cli: train draws the accuracy per epoch (a resumed run's over every epoch), and odd names stay data") {
  TempDir base, toy;
  write_toy_mnist(toy);
  const std::string data = base.file("toy 'q' $HOME `id` \"d\"");  // reaches gnuplot as an argument, not as script
  std::filesystem::copy(toy.str(), data);
  const std::string out = base.file("out $x");
  const Result t = run("train --data " + shell_word(data) + " --net 16 --epochs 2 --batch 50 --out " + shell_word(out));
  INFO(t.output);
  REQUIRE(t.code == 0);
  const std::string png = out + "/train_accuracy.png";
  CHECK(has(t.output, "accuracy curve: " + png));
  CHECK(is_png(png));
  CHECK(has(text_of(out + "/train_accuracy.gp"), "set title ARG3"));
  std::filesystem::remove(png);
  const Result more = run("train --data " + shell_word(data) + " --epochs 1 --resume " + shell_word(out + "/model.tgckpt") +
                          " --out " + shell_word(out));
  INFO(more.output);
  REQUIRE(more.code == 0);
  CHECK(is_png(png));
  CHECK(lines_of(text_of(out + "/train_history.csv")).size() == 4);  // the header and epochs 1 to 3: the curve's rows
}

TEST_CASE("cli: under OpenBLAS's generic Prescott kernel on a CPU with AVX2, train says which kernel to select") {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2");
  TempDir out;
  const std::string train = " train --net 8 --epochs 1 --limit 200 --out " + out.str();
  const Result generic = run_command("OPENBLAS_CORETYPE=Prescott " + std::string(TAPEGRAD_CLI) + train);
  INFO(generic.output);
  REQUIRE(generic.code == 0);
  if (avx512)
    CHECK(has(generic.output, "note: OpenBLAS runs its generic Prescott kernel: it does not recognise this CPU, "
                              "which has AVX-512. OPENBLAS_CORETYPE=SkylakeX selects its kernel for AVX-512"));
  else if (avx2)
    CHECK(has(generic.output, "OPENBLAS_CORETYPE=Haswell selects its kernel for AVX2"));
  else
    CHECK_FALSE(has(generic.output, "note: OpenBLAS"));
  if (avx2) {  // a kernel made for the CPU: nothing to say
    const Result chosen = run_command("OPENBLAS_CORETYPE=Haswell " + std::string(TAPEGRAD_CLI) + train);
    CHECK(chosen.code == 0);
    CHECK_FALSE(has(chosen.output, "note: OpenBLAS"));
  }
}
