#pragma once
// What the benchmark programs share: raw BLAS for the GEMM floors, LibTorch's dtype for T, a tapegrad training
// step to time, and the table of tapegrad / LibTorch rows they print.
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"
#include "tapegrad/tapegrad.hpp"

extern "C" {
// OpenBLAS's CBLAS (declared here rather than through <cblas.h>, whose Debian copy clashes with others)
enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111, CblasTrans = 112 };
void cblas_sgemm(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
void cblas_dgemm(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
void cblas_sgemv(int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
void cblas_dgemv(int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
char* openblas_get_config(void);
}

namespace bench {

/// C = op(A) op(B) + beta C through OpenBLAS directly, row-major (the floors' GEMMs).
template <class T>
void blas_gemm(int ta, int tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>) cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
  else cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
constexpr torch::Dtype dtype() {
  return std::is_same_v<T, float> ? torch::kFloat32 : torch::kFloat64;
}
template <class T>
const char* type_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

/// A tapegrad network trained by SGD lr 0.01 on the data set's first `batch` rows: step() is one timed step.
template <class T>
struct TapegradStep {
  TapegradStep(std::unique_ptr<tapegrad::Sequential<T>> model, const tapegrad::Dataset& data, std::size_t batch)
      : net(std::move(model)), sgd(tapegrad::make_sgd<T>(net->parameters(), {0.01})) {
    tapegrad::TrainerOptions o;
    o.progress = tapegrad::TrainerOptions::Progress::Quiet;
    trainer = std::make_unique<tapegrad::Trainer<T>>(*net, *sgd, o);
    std::vector<std::size_t> rows(batch);
    for (std::size_t i = 0; i < batch; ++i) rows[i] = i;
    data.gather(rows.data(), batch, x, labels);
  }
  void step() { trainer->step(x, labels); }
  std::unique_ptr<tapegrad::Sequential<T>> net;
  std::unique_ptr<tapegrad::Optimizer<T>> sgd;
  std::unique_ptr<tapegrad::Trainer<T>> trainer;
  tapegrad::Tensor<T> x;
  std::vector<std::size_t> labels;
};

/// LibTorch's twin of TapegradStep: `net` trained by SGD lr 0.01 on the first `batch` rows of the data; step() is
/// one timed step. `as_input` turns rows of features into the network's input (as they are for an MLP, images
/// for a conv net).
template <class T>
struct TorchStep {
  using AsInput = torch::Tensor (*)(const torch::Tensor& rows);
  TorchStep(torch::nn::Sequential network, AsInput as_input, const torch::Tensor& all_x, const torch::Tensor& all_y,
            std::size_t batch)
      : net(std::move(network)), sgd(net->parameters(), torch::optim::SGDOptions(0.01)), as_input(as_input) {
    net->to(dtype<T>());
    use(all_x.narrow(0, 0, int64_t(batch)), all_y.narrow(0, 0, int64_t(batch)));
  }
  /// The batch the next steps train on.
  void use(const torch::Tensor& rows, const torch::Tensor& labels) {
    x = as_input(rows).to(dtype<T>()).contiguous();
    y = labels.contiguous();
  }
  void step() {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    sgd.step();
  }
  /// One epoch over all rows in a fresh random order, batches of 100 (the LibTorch side of the epoch rows).
  void epoch(const torch::Tensor& all_x, const torch::Tensor& all_y) {
    const auto order = torch::randperm(all_x.size(0), torch::kInt64);
    for (int64_t start = 0; start < all_x.size(0); start += 100) {
      const auto index = order.narrow(0, start, std::min<int64_t>(100, all_x.size(0) - start));
      use(all_x.index_select(0, index), all_y.index_select(0, index));
      step();
    }
  }
  torch::nn::Sequential net;
  torch::optim::SGD sgd;
  AsInput as_input;
  torch::Tensor x, y;
};

/// The rows of a report: each a tapegrad figure and its LibTorch twin.
class Report {
 public:
  /// `scale` turns Stats' seconds into `unit`; the row is echoed to stderr as it is measured.
  void add(const std::string& name, const std::string& unit, double scale, Stats ours, Stats theirs,
           const std::string& note = "") {
    rows_.push_back({name, unit, scale, ours, theirs, note});
    fmt::print(stderr, "  {:<58} tapegrad {:>10.3f}  LibTorch {:>10.3f} {}\n", name, ours.median * scale,
               theirs.median * scale, unit);
  }
  /// The markdown table: medians with [min, max], and the ratio tapegrad / LibTorch.
  void print_table() const {
    fmt::print("| benchmark | unit | tapegrad median [min, max] | LibTorch median [min, max] | ratio | notes |\n");
    fmt::print("|---|---|---|---|---|---|\n");
    for (const Row& r : rows_)
      fmt::print("| {} | {} | {} [{}, {}] | {} [{}, {}] | {:.2f} | {} |\n", r.name, r.unit, cell(r.ours.median * r.scale),
                 cell(r.ours.min * r.scale), cell(r.ours.max * r.scale), cell(r.theirs.median * r.scale),
                 cell(r.theirs.min * r.scale), cell(r.theirs.max * r.scale), r.ours.median / r.theirs.median, r.note);
  }
  /// A figure with three significant digits, or none after the point from 100 up.
  static std::string cell(double v) {
    return v >= 100 ? fmt::format("{:.0f}", v) : v >= 10 ? fmt::format("{:.1f}", v) : fmt::format("{:.3g}", v);
  }

 private:
  struct Row {
    std::string name, unit;
    double scale;
    Stats ours, theirs;
    std::string note;
  };
  std::vector<Row> rows_;
};

}  // namespace bench
