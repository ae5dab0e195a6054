#pragma once
// The GEMM floor of a training step: its matrix products timed alone, each in the fastest way BLAS offers to form
// it. A product C (m x n) = A (m x k) B (k x n) can be formed as C or as C^T = B^T A^T, with each operand stored
// as it is or transposed: eight GEMM calls, plus two GEMV calls when m or n is 1. Which is fastest depends on the
// sizes and the OpenBLAS kernel (a fixed form was slower than tapegrad's own step under some kernels, so it was
// not a floor), hence each product's form is chosen by timing all of them once, in the run that reports it.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"
#include "report.hpp"  // OpenBLAS's CBLAS declarations

namespace bench {

struct Product {
  int m, n, k;  // C (m x n) = A (m x k) B (k x n)
};

template <class T>
class GemmFloor {
 public:
  explicit GemmFloor(std::vector<Product> products) : products_(std::move(products)) {
    for (const Product& p : products_) {
      Chosen c{p, {}, std::vector<T>(std::size_t(p.m) * std::size_t(p.k), T(0.5)),
               std::vector<T>(std::size_t(p.k) * std::size_t(p.n), T(0.01)),
               std::vector<T>(std::size_t(p.m) * std::size_t(p.n))};
      double best = 1e300;
      for (const Form& form : forms_of(p)) {
        const Stats s = measure([&] { form_product(c, form); }, 2, 7);
        if (s.median < best) {
          best = s.median;
          c.form = form;
        }
      }
      chosen_.push_back(std::move(c));
    }
  }
  /// Every product once, each in its chosen form.
  void run() {
    for (Chosen& c : chosen_) form_product(c, c.form);
  }
  /// The chosen forms, e.g. "C=AB, C^T=B^TA^T (gemv)".
  std::string forms() const {
    std::vector<std::string> names;
    for (const Chosen& c : chosen_) names.push_back(c.form.name());
    return fmt::format("{}", fmt::join(names, ", "));
  }

 private:
  struct Form {
    bool c_transposed = false, a_stored_transposed = false, b_stored_transposed = false, gemv = false;
    std::string name() const {
      if (gemv) return fmt::format("gemv{}", a_stored_transposed || b_stored_transposed ? "^T" : "");
      return fmt::format("{}{}{}", c_transposed ? "Ct" : "C", a_stored_transposed ? "t" : "n",
                         b_stored_transposed ? "t" : "n");
    }
  };
  struct Chosen {
    Product p;
    Form form;
    std::vector<T> a, b, c;
  };

  static std::vector<Form> forms_of(const Product& p) {
    std::vector<Form> forms;
    for (bool ct : {false, true})
      for (bool at : {false, true})
        for (bool bt : {false, true}) forms.push_back({ct, at, bt, false});
    if (p.m == 1 || p.n == 1)
      for (bool t : {false, true}) forms.push_back({false, p.m == 1 ? false : t, p.m == 1 ? t : false, true});
    return forms;
  }

  static void form_product(Chosen& c, const Form& f) {
    const Product& p = c.p;
    // A stored (m x k), or (k x m) when stored transposed; B (k x n), or (n x k).
    const int lda = f.a_stored_transposed ? p.m : p.k, ldb = f.b_stored_transposed ? p.k : p.n;
    if (f.gemv) {  // one row (m == 1: c = B^T a) or one column (n == 1: c = A b)
      if (p.m == 1)
        gemv(f.b_stored_transposed ? CblasNoTrans : CblasTrans, f.b_stored_transposed ? p.n : p.k,
             f.b_stored_transposed ? p.k : p.n, c.b.data(), ldb, c.a.data(), c.c.data());
      else
        gemv(f.a_stored_transposed ? CblasTrans : CblasNoTrans, f.a_stored_transposed ? p.k : p.m,
             f.a_stored_transposed ? p.m : p.k, c.a.data(), lda, c.b.data(), c.c.data());
      return;
    }
    const auto ta = f.a_stored_transposed ? CblasTrans : CblasNoTrans;
    const auto tb = f.b_stored_transposed ? CblasTrans : CblasNoTrans;
    if (!f.c_transposed) {
      gemm(ta, tb, p.m, p.n, p.k, c.a.data(), lda, c.b.data(), ldb, c.c.data(), p.n);
    } else {  // C^T (n x m) = B^T A^T: each operand read the other way round
      gemm(f.b_stored_transposed ? CblasNoTrans : CblasTrans, f.a_stored_transposed ? CblasNoTrans : CblasTrans,
           p.n, p.m, p.k, c.b.data(), ldb, c.a.data(), lda, c.c.data(), p.m);
    }
  }
  static void gemm(int ta, int tb, int m, int n, int k, const T* a, int lda, const T* b,
                   int ldb, T* c, int ldc) {
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
    else
      cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
  }
  // y = op(M) x, M stored (rows x cols)
  static void gemv(int t, int rows, int cols, const T* m, int ld, const T* x, T* y) {
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemv(CblasRowMajor, t, rows, cols, 1, m, ld, x, 1, 0, y, 1);
    else
      cblas_dgemv(CblasRowMajor, t, rows, cols, 1, m, ld, x, 1, 0, y, 1);
  }

  std::vector<Product> products_;
  std::vector<Chosen> chosen_;
};

}  // namespace bench
