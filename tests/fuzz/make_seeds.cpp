// Writes the fuzzers' seed corpus (valid and broken files) into tests/fuzz/corpus/: run once, files committed.
#include <filesystem>
#include <fstream>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

namespace {
std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write(const std::string& path, const std::vector<char>& b) { std::ofstream(path, std::ios::binary).write(b.data(), b.size()); }
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  std::filesystem::create_directories(dir + "/idx");
  std::filesystem::create_directories(dir + "/checkpoint");
  const tg::IdxArray images{{3, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}}, labels{{3}, {1, 9, 0}};
  tg::write_idx(dir + "/idx/images-idx3-ubyte", images);
  tg::write_idx(dir + "/idx/images-idx3-ubyte.gz", images);
  tg::write_idx(dir + "/idx/labels-idx1-ubyte", labels);
  auto b = bytes_of(dir + "/idx/images-idx3-ubyte");
  write(dir + "/idx/truncated", {b.begin(), b.end() - 3});
  auto bad = b;
  bad[2] = 0x0d;
  write(dir + "/idx/wrong-type", bad);
  bad = b;
  for (int i = 4; i < 8; ++i) bad[i] = char(0xff);
  write(dir + "/idx/absurd-dims", bad);

  tg::Rng rng(1);
  auto net = tg::make_mlp<double>({{2, 3, 2}, tg::Activation::ReLU, tg::Init::he(), true, 0}, rng);
  auto adam = tg::make_adam<double>(net->parameters());
  tg::save_checkpoint(dir + "/checkpoint/valid.tgckpt", *net, adam.get(), "sizes=2-3-2\n");
  tg::save_checkpoint(dir + "/checkpoint/model-only.tgckpt", *net);
  auto c = bytes_of(dir + "/checkpoint/valid.tgckpt");
  write(dir + "/checkpoint/truncated", {c.begin(), c.begin() + long(c.size() / 2)});
  auto flipped = c;
  flipped[c.size() / 3] ^= 0x10;
  write(dir + "/checkpoint/flipped", flipped);
  return 0;
}
