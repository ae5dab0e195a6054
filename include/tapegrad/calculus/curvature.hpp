#pragma once
// Curvature of a scalar loss over parameters, from Hessian-vector products: the top eigenvalues by Lanczos, and
// the trace by Hutchinson's estimator (what PyHessian computes). The sharpness (the largest eigenvalue) against
// 2 / learning rate is what decides whether gradient descent on a quadratic converges.
//
//   HessianOperator<double> H(loss, params);          // records the loss and its gradient once
//   Eigenpairs<double> top = top_eigenvalues(H, {3}); // the 3 largest, each product one reverse pass
//   TraceEstimate tr = hessian_trace(H, 100);         // 100 products with random +-1 vectors
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// The Hessian of a scalar f over `params` (all of them together) as an operator. f and its gradient are
/// recorded once, at the parameters' values when the operator is made; each product H v is then one reverse pass
/// through that recording: nothing is recorded again, and the tape does not grow.
template <class T>
class HessianOperator {
 public:
  /// `f` records the loss on the tape it is given, reading each parameter through tape.parameter(). ValueError
  /// when it returns more than one element, reads none of the parameters, or `params` is empty or holds null.
  HessianOperator(const std::function<Var<T>(Tape<T>&)>& f, std::vector<Parameter<T>*> params);
  ~HessianOperator();
  HessianOperator(const HessianOperator&) = delete;
  HessianOperator& operator=(const HessianOperator&) = delete;

  /// H v: one tensor per parameter, of its shape (ShapeError naming the parameter otherwise).
  std::vector<Tensor<T>> operator()(const std::vector<Tensor<T>>& v);
  /// Products computed so far.
  std::size_t products() const { return products_; }
  /// The number of parameters' elements: H is dimension() x dimension().
  std::size_t dimension() const { return dimension_; }
  const std::vector<Parameter<T>*>& parameters() const { return params_; }
  /// f at the recorded point.
  double loss() const { return loss_; }
  /// Nodes on its tape between products: f, its gradient and <g, v>, recorded once; a product's own nodes are
  /// forgotten (Tape::rewind) before the next one, so this does not grow.
  std::size_t tape_size() const;

 private:
  struct Recording;
  std::vector<Parameter<T>*> params_;
  std::unique_ptr<Recording> recording_;
  std::size_t products_ = 0, dimension_ = 0;
  double loss_ = 0;
};

struct CurvatureOptions {
  std::size_t k = 1;                  // how many of the largest eigenvalues
  std::size_t max_iterations = 100;   // Lanczos steps (Hessian-vector products) at most
  double tolerance = 1e-8;            // stop when every wanted residual |H x - l x| <= tolerance * max(|l|, 1)
  std::uint64_t seed = 1;             // the starting vector
};

template <class T>
struct Eigenpairs {
  std::vector<double> values;                 // the k largest eigenvalues, largest first
  std::vector<std::vector<Tensor<T>>> vectors;  // each one's unit eigenvector, one tensor per parameter
  std::vector<double> residuals;              // |H x - l x| of each
  std::size_t products = 0;                   // Hessian-vector products used
  bool converged = false;                     // every residual within the tolerance
};

/// The k largest (algebraic) eigenvalues of H by the Lanczos method with partial reorthogonalization (Simon), from
/// a seeded random start. Exact (to rounding) once the iterations reach the dimension. ValueError for k = 0, k larger
/// than the dimension, or max_iterations < k.
template <class T>
Eigenpairs<T> top_eigenvalues(HessianOperator<T>& hessian, const CurvatureOptions& options = {});

struct TraceEstimate {
  double trace = 0;      // the mean of v^T H v over the samples
  double std_error = 0;  // its standard error (0 for a diagonal H: each sample is then exact)
  std::size_t products = 0;
};

/// Hutchinson's estimator of the trace: v^T H v averaged over `samples` random vectors of independent +-1
/// entries (seeded). ValueError for fewer than 2 samples.
template <class T>
TraceEstimate hessian_trace(HessianOperator<T>& hessian, std::size_t samples, std::uint64_t seed = 1);

/// The eigenvalues (ascending) and unit eigenvectors (columns of an n x n row-major matrix) of a symmetric n x n
/// matrix, by cyclic Jacobi rotations: the small dense solver Lanczos uses, public for tests and for checking a
/// Hessian that hessian() built. ValueError for a matrix that is not square or not symmetric.
struct SymmetricEigen {
  std::vector<double> values;
  std::vector<double> vectors;
};
SymmetricEigen symmetric_eigen(const std::vector<double>& matrix, std::size_t n);

extern template class HessianOperator<float>;
extern template class HessianOperator<double>;
extern template Eigenpairs<float> top_eigenvalues(HessianOperator<float>&, const CurvatureOptions&);
extern template Eigenpairs<double> top_eigenvalues(HessianOperator<double>&, const CurvatureOptions&);
extern template TraceEstimate hessian_trace(HessianOperator<float>&, std::size_t, std::uint64_t);
extern template TraceEstimate hessian_trace(HessianOperator<double>&, std::size_t, std::uint64_t);

}  // namespace tapegrad
