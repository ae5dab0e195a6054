#pragma once
// Shared test helpers: random inputs that stay away from kinks, and a gradcheck that explains failures.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "support/catalog.hpp"
#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

namespace testing {

/// The message of the exception of type E (a tapegrad::Error by default) that `call` throws; "" if it throws none.
template <class E = tg::Error, class F>
std::string message_of(F&& call) {
  try {
    call();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

/// Inputs away from kinks, and positive inputs: the gradcheck catalog's (src/support/catalog.hpp).
using tg::support::kink_free;
using tg::support::positive;

/// Trainer options for tests: no bar, no lines, the given epochs, batch and batch-order seed.
inline tg::TrainerOptions quiet_options(std::size_t epochs, std::size_t batch, std::uint64_t seed) {
  tg::TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.seed = seed;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  return o;
}

/// 300 points on three spiral arms (seed 9): the training loop's small data set.
inline const tg::Dataset& spiral() {
  static const tg::Dataset d = tg::make_spiral(100, 3, 9);
  return d;
}

/// A random shape of rank in [min_rank, max_rank], extents in [1, 4].
inline tg::Shape random_shape(tg::Rng& rng, std::size_t min_rank = 1, std::size_t max_rank = 3) {
  const std::size_t rank = min_rank + rng.below(max_rank - min_rank + 1);
  std::vector<std::size_t> dims(rank);
  for (auto& d : dims) d = 1 + rng.below(4);
  return tg::Shape(dims);
}

using Fn = std::function<tg::Var<double>(tg::Tape<double>&, const std::vector<tg::Var<double>>&)>;

/// Full gradcheck in double; on failure the report table is printed.
inline tg::GradcheckReport check(const Fn& f, const std::vector<tg::Tensor<double>>& inputs,
                                 tg::GradcheckOptions options = {}) {
  tg::GradcheckReport report = tg::gradcheck<double>(f, inputs, options);
  INFO(report.table());
  CHECK(report.passed());
  return report;
}

/// Trains the network `make(training set, rng)` builds on Debian's Fashion-MNIST as the accuracy tests do: Adam lr
/// 0.001, batch 100, seed 0, float, one BLAS thread. Fails (never passes) when the data set is not installed.
template <class Make>
tg::History fit_fashion_mnist(Make&& make, std::size_t epochs) {
  const std::string dir = tg::default_data_dir();
  REQUIRE_MESSAGE(std::filesystem::exists(dir), dir << " is not installed (scripts/setup.sh installs it)");
  tg::set_blas_threads(1);
  const tg::TrainTest data = tg::load_mnist(dir);
  tg::Rng rng(0);
  auto net = make(data.train, rng);
  auto adam = tg::make_adam<float>(net->parameters(), {0.001});
  tg::TrainerOptions o;
  o.epochs = epochs;
  o.seed = 0;
  o.evaluate_train = false;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  tg::Trainer<float> trainer(*net, *adam, o);
  return trainer.fit(data.train, &data.test);
}

// max |a - b| / |b| (|b| floored at 1e-12): how far two runs' parameters drifted apart
/// gradcheck and gradgradcheck of f over these parameters, each report shown when it fails.
template <class Fn>
void check_first_and_second_order(const Fn& f, const std::vector<tg::Parameter<double>*>& params) {
  const tg::GradcheckReport first = tg::gradcheck<double>(f, params);
  INFO(first.table());
  CHECK(first.passed());
  const tg::GradcheckReport second = tg::gradgradcheck<double>(f, params);
  INFO(second.table());
  CHECK(second.passed());
}

inline double max_relative_diff(const tg::Tensor<double>& a, const tg::Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]) / std::max(1e-12, std::abs(b[i])));
  return m;
}

inline double max_abs_diff(const tg::Tensor<double>& a, const tg::Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

/// A fresh directory, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("tapegrad-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// Files in `folder` whose name marks them as a temporary of write_file_atomically ("*.tmp-XXXXXX").
inline std::size_t temporaries_in(const std::string& folder) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    n += entry.path().filename().string().find(".tmp-") != std::string::npos;
  return n;
}

inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace testing
