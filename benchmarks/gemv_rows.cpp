// How many rows a product may have and still be faster as one gemv per row than as one gemm, under the OpenBLAS
// kernel in use: the measurements behind the table in src/ops/gemm.cpp (recorded in benchmarks/GEMV_ROWS.md by
// scripts/bench.sh, both kernels). For each row count m, each precision, both layouts of B and op(B) sizes in
// two classes (under 16384 elements, and over), prints gemv's time over gemm's, and per class the largest m
// up to which the geometric mean of those ratios stays below 1.
#include <cblas.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"

extern "C" char* openblas_get_corename();

namespace {

template <class T>
double ratio(int m, int k, int n, bool trans_b) {
  std::vector<T> a(std::size_t(m) * k, T(0.5)), b(std::size_t(k) * n, T(0.01)), c(std::size_t(m) * n);
  const int ldb = trans_b ? k : n;
  const auto gemm = [&] {
    const auto tb = trans_b ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(T) == 4)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1, a.data(), k, b.data(), ldb, 0, c.data(), n);
    else
      cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1, a.data(), k, b.data(), ldb, 0, c.data(), n);
  };
  const auto gemv = [&] {  // as ops/gemm.cpp calls it: op(B)^T times each row of A
    for (int i = 0; i < m; ++i) {
      const T* row = a.data() + std::size_t(i) * k;
      T* out = c.data() + std::size_t(i) * n;
      if constexpr (sizeof(T) == 4) {
        if (trans_b) cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1, b.data(), ldb, row, 1, 0, out, 1);
        else cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1, b.data(), ldb, row, 1, 0, out, 1);
      } else {
        if (trans_b) cblas_dgemv(CblasRowMajor, CblasNoTrans, n, k, 1, b.data(), ldb, row, 1, 0, out, 1);
        else cblas_dgemv(CblasRowMajor, CblasTrans, k, n, 1, b.data(), ldb, row, 1, 0, out, 1);
      }
    }
  };
  const std::vector<bench::Stats> s = bench::measure_interleaved({gemv, gemm}, 200, 2000);
  return s[0].median / s[1].median;
}

}  // namespace

int main() {
  openblas_set_num_threads(1);
  const std::vector<std::pair<int, int>> small{{100, 10}, {10, 100}, {64, 64}}, large{{784, 100}, {256, 256}};
  fmt::print("OpenBLAS core: {}. gemv per row / gemm, median of 2,000 interleaved calls each.\n\n",
             openblas_get_corename());
  fmt::print("| rows | op(B) sizes (k, n) | float, B | float, B^T | double, B | double, B^T | geometric mean |\n");
  fmt::print("|---|---|---|---|---|---|---|\n");
  for (const auto& [label, sizes] : {std::pair{"small", small}, std::pair{"large", large}}) {
    int last_win = 0;
    bool winning = true;
    for (int m = 1; m <= 8; ++m) {
      double log_sum = 0;
      int count = 0;
      std::vector<std::string> cells(4);
      for (const auto& [k, n] : sizes) {
        const double r[4] = {ratio<float>(m, k, n, false), ratio<float>(m, k, n, true), ratio<double>(m, k, n, false),
                             ratio<double>(m, k, n, true)};
        for (int j = 0; j < 4; ++j) {
          cells[j] += fmt::format("{}{:.2f}", cells[j].empty() ? "" : " ", r[j]);
          log_sum += std::log(r[j]);
          ++count;
        }
      }
      const double mean = std::exp(log_sum / count);
      if (winning && mean < 1) last_win = m;
      else winning = false;
      std::string names;
      for (const auto& [k, n] : sizes) names += fmt::format("{}({}, {})", names.empty() ? "" : " ", k, n);
      fmt::print("| {} | {} {} | {} | {} | {} | {} | {:.2f} |\n", m, label, names, cells[0], cells[1], cells[2],
                 cells[3], mean);
    }
    fmt::print("\n{} op(B): gemv up to {} rows\n\n", label, last_win);
  }
}
