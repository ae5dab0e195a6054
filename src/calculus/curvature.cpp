#include "tapegrad/calculus/curvature.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "ops/gemm.hpp"

#include "calculus/gradient_dot.hpp"
#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/tensor/error.hpp"
#include "tapegrad/tensor/random.hpp"

namespace tapegrad {

// f, its gradient g (recorded), and s = sum over uses of <g_u, d_owner(u)> (detail::gradient_dot), where the d_k
// are constants whose buffers each product overwrites with v_k: the gradient of s is then H v, by one reverse pass.
// Held as node indices: each product rewinds the tape to `recorded` nodes, which makes every Var of it stale.
template <class T>
struct HessianOperator<T>::Recording {
  Tape<T> tape;
  std::vector<std::uint32_t> uses;
  std::vector<std::size_t> owner;
  std::vector<std::uint32_t> directions;  // one per parameter
  std::optional<std::uint32_t> s;         // none when f is linear in the parameters
  std::size_t recorded = 0;
};

template <class T>
HessianOperator<T>::HessianOperator(const std::function<Var<T>(Tape<T>&)>& f, std::vector<Parameter<T>*> params)
    : params_(std::move(params)), recording_(std::make_unique<Recording>()) {
  if (!f) throw ValueError("HessianOperator: the function is empty");
  if (params_.empty()) throw ValueError("HessianOperator: no parameters");
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (params_[k] == nullptr) throw ValueError(fmt::format("HessianOperator: parameter {} is null", k));
    dimension_ += params_[k]->value.size();
  }
  Recording& r = *recording_;
  const Var<T> root = f(r.tape);
  if (!root.valid() || root.shape().numel() != 1)
    throw ValueError(fmt::format("HessianOperator: f must return one element (a scalar loss), got shape {}",
                                 root.valid() ? root.shape().str() : std::string("(no variable)")));
  loss_ = double(root.value()[0]);
  if (!root.requires_grad()) {  // f does not depend on the parameters: H = 0, if it reads them at all
    for (Parameter<T>* p : params_)
      if (!r.tape.uses_of(*p).empty()) return;
    throw ValueError("HessianOperator: the function read none of the parameters (through tape.parameter)");
  }
  std::vector<Tensor<T>> zeros;
  for (Parameter<T>* p : params_) zeros.push_back(Tensor<T>::zeros(p->value.shape()));
  const detail::GradientDot<T> dot = detail::gradient_dot("HessianOperator", root, params_, zeros);
  for (const Var<T>& use : dot.uses) r.uses.push_back(use.index());
  r.owner = dot.owner;
  for (const Var<T>& direction : dot.directions) r.directions.push_back(direction.index());
  if (dot.value.requires_grad()) r.s = dot.value.index();  // else f is linear in the parameters: H = 0
  r.recorded = r.tape.size();
}

template <class T>
HessianOperator<T>::~HessianOperator() = default;

template <class T>
std::size_t HessianOperator<T>::tape_size() const {
  return recording_->tape.size();
}

template <class T>
std::vector<Tensor<T>> HessianOperator<T>::operator()(const std::vector<Tensor<T>>& v) {
  if (v.size() != params_.size())
    throw ValueError(fmt::format("HessianOperator: {} vectors for {} parameters", v.size(), params_.size()));
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (v[k].shape() != params_[k]->value.shape())
      throw ShapeError(fmt::format("HessianOperator: v[{}] has shape {} but parameter '{}' has shape {}", k,
                                   v[k].shape().str(), params_[k]->name, params_[k]->value.shape().str()));
  Recording& r = *recording_;
  std::vector<Tensor<T>> hv;
  for (Parameter<T>* p : params_) hv.push_back(Tensor<T>::zeros(p->value.shape()));
  ++products_;
  if (!r.s) return hv;
  r.tape.rewind(r.recorded);  // forget the last product's sweep: the tape does not grow
  for (std::size_t k = 0; k < params_.size(); ++k) {
    Tensor<T>& d = r.tape.output(r.directions[k]);
    std::copy(v[k].begin(), v[k].end(), d.begin());
  }
  std::vector<Var<T>> uses;
  for (std::uint32_t u : r.uses) uses.push_back(r.tape.handle(u));
  const std::vector<Var<T>> h = grad(r.tape.handle(*r.s), uses);
  for (std::size_t u = 0; u < uses.size(); ++u) {
    const Tensor<T>& part = h[u].value();
    Tensor<T>& target = hv[r.owner[u]];
    for (std::size_t i = 0; i < part.size(); ++i) target[i] += part[i];
  }
  return hv;
}

namespace {

using Vector = std::vector<double>;

// Four running sums: a dot product of a million elements is not one chain of dependent additions.
double dot(const double* a, const double* b, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i], s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2], s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}
double dot(const Vector& a, const Vector& b) { return dot(a.data(), b.data(), a.size()); }

// Independent +-1 entries, one bit of a 64-bit draw each.
void rademacher(Vector& v, Rng& rng) {
  for (std::size_t i = 0; i < v.size(); i += 64) {
    std::uint64_t bits = rng.engine()();
    for (std::size_t b = i; b < std::min(v.size(), i + 64); ++b, bits >>= 1) v[b] = (bits & 1) ? 1.0 : -1.0;
  }
}

// The Lanczos basis: orthonormal rows of n values, one contiguous block, so that orthogonalizing against all of
// them is two BLAS products (c = B w, w -= B^T c) instead of a pass per row.
class Basis {
 public:
  Basis(std::size_t n, std::size_t capacity) : n_(n) { values_.reserve(n * capacity); }
  std::size_t size() const { return rows_; }
  const double* row(std::size_t r) const { return values_.data() + r * n_; }
  void add(const Vector& v) {
    values_.insert(values_.end(), v.begin(), v.end());
    ++rows_;
  }
  // w minus its components along every row; a second pass when the first removed most of w (Daniel, Gragg,
  // Kaufman and Stewart's test), so the basis stays orthonormal to rounding.
  void orthogonalize(Vector& w) {
    coefficients_.resize(rows_);
    along_.resize(n_);
    for (int pass = 0; pass < 2; ++pass) {
      const double before = std::sqrt(dot(w, w));
      detail::gemm<double>(false, true, 1, rows_, n_, w.data(), values_.data(), 0.0, coefficients_.data());
      // both as rows (c^T = w^T B^T, then c^T B): one gemv each, where columns would be gemms that pack all of B
      detail::gemm<double>(false, false, 1, n_, rows_, coefficients_.data(), values_.data(), 0.0, along_.data());
      for (std::size_t i = 0; i < n_; ++i) w[i] -= along_[i];
      if (std::sqrt(dot(w, w)) > 0.7071 * before) break;
    }
  }

 private:
  std::size_t n_, rows_ = 0;
  Vector values_, coefficients_, along_;
};

template <class T>
Vector flat(const std::vector<Tensor<T>>& parts) {
  Vector out;
  for (const Tensor<T>& t : parts) out.insert(out.end(), t.begin(), t.end());
  return out;
}

template <class T>
std::vector<Tensor<T>> shaped(const Vector& x, const std::vector<Parameter<T>*>& params) {
  std::vector<Tensor<T>> out;
  std::size_t at = 0;
  for (Parameter<T>* p : params) {
    Tensor<T> t(p->value.shape());
    for (T& e : t) e = static_cast<T>(x[at++]);
    out.push_back(std::move(t));
  }
  return out;
}

template <class T>
Vector product_of(HessianOperator<T>& h, const Vector& x) {
  return flat(h(shaped<T>(x, h.parameters())));
}

}  // namespace

SymmetricEigen symmetric_eigen(const std::vector<double>& matrix, std::size_t n) {
  if (matrix.size() != n * n)
    throw ValueError(fmt::format("symmetric_eigen: {} values for a {} x {} matrix", matrix.size(), n, n));
  std::vector<double> a = matrix, v(n * n, 0.0);
  double scale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v[i * n + i] = 1;
    for (std::size_t j = 0; j < n; ++j) scale = std::max(scale, std::abs(a[i * n + j]));
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (std::abs(a[i * n + j] - a[j * n + i]) > 1e-10 * std::max(scale, 1e-300))
        throw ValueError(fmt::format("symmetric_eigen: the matrix is not symmetric at ({}, {}): {} against {}", i, j,
                                     a[i * n + j], a[j * n + i]));
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) off += a[i * n + j] * a[i * n + j];
    if (off <= 1e-30 * std::max(scale * scale, 1e-300)) break;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // columns p and q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {  // rows p and q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return a[i * n + i] < a[j * n + j]; });
  SymmetricEigen out;
  out.vectors.assign(n * n, 0.0);
  for (std::size_t c = 0; c < n; ++c) {
    out.values.push_back(a[order[c] * n + order[c]]);
    for (std::size_t r = 0; r < n; ++r) out.vectors[r * n + c] = v[r * n + order[c]];
  }
  return out;
}

template <class T>
Eigenpairs<T> top_eigenvalues(HessianOperator<T>& hessian, const CurvatureOptions& options) {
  const std::size_t n = hessian.dimension();
  if (options.k == 0 || options.k > n)
    throw ValueError(fmt::format("top_eigenvalues: k must be between 1 and the dimension {}, got {}", n, options.k));
  if (options.max_iterations < options.k)
    throw ValueError(fmt::format("top_eigenvalues: max_iterations ({}) must be at least k ({})",
                                 options.max_iterations, options.k));
  if (!(options.tolerance > 0)) throw ValueError("top_eigenvalues: the tolerance must be > 0");
  const std::size_t before = hessian.products();
  Rng rng(options.seed);
  Vector q(n);
  rademacher(q, rng);
  const double norm0 = std::sqrt(dot(q, q));
  for (double& e : q) e /= norm0;
  const std::size_t limit = std::min(options.max_iterations, n);
  Basis basis(n, limit + 1);
  basis.add(q);
  Vector alpha, beta;  // the tridiagonal matrix's diagonal and off-diagonal
  // Partial reorthogonalization (Simon 1984): omega[k] estimates q_j . q_k by a recurrence that costs O(j) a step;
  // only when some estimate passes sqrt(eps) is the new vector orthogonalized against the whole basis (and the
  // one after it too). Semi-orthogonality keeps the Ritz values exact to rounding, at a fraction of the memory
  // traffic of orthogonalizing every step.
  const double eps = std::numeric_limits<double>::epsilon(), noise = eps * std::sqrt(double(n));
  Vector omega_before, omega{1.0};  // estimates for q_{j-1} and q_j against q_0 ... (1 against themselves)
  bool reorthogonalize_next = false;
  Eigenpairs<T> out;
  for (std::size_t j = 0; j < limit; ++j) {
    const double* q = basis.row(j);
    Vector w = product_of(hessian, Vector(q, q + n));
    alpha.push_back(dot(w.data(), q, n));
    // the three-term recurrence, then once more against the last two vectors (cheap, and it keeps them exact)
    const double* q_before = j > 0 ? basis.row(j - 1) : nullptr;
    for (int pass = 0; pass < 2; ++pass) {
      const double along = pass == 0 ? alpha.back() : dot(w.data(), q, n);
      const double along_before = !q_before ? 0 : pass == 0 ? beta.back() : dot(w.data(), q_before, n);
      for (std::size_t i = 0; i < n; ++i) w[i] -= along * q[i] + (q_before ? along_before * q_before[i] : 0.0);
    }
    double b = std::sqrt(dot(w, w));
    if (b > 0) {  // omega for q_{j+1}: q_{j+1} . q_k for k < j by the recurrence, eps-sized against q_j
      Vector next(j + 2, noise);
      next[j + 1] = 1;
      double largest = 0;
      for (std::size_t k = 0; k < j; ++k) {
        double o = beta[k] * omega[k + 1] + (alpha[k] - alpha[j]) * omega[k];
        if (j > 0) o -= beta[j - 1] * omega_before[k];
        if (k > 0) o += beta[k - 1] * omega[k - 1];
        o = o / b;
        next[k] = o + (o >= 0 ? noise : -noise);
        largest = std::max(largest, std::abs(next[k]));
      }
      if (reorthogonalize_next || largest > std::sqrt(eps)) {
        basis.orthogonalize(w);
        b = std::sqrt(dot(w, w));
        for (std::size_t k = 0; k <= j; ++k) next[k] = noise;
        reorthogonalize_next = !reorthogonalize_next;  // the vector after a reorthogonalized one is done too
      }
      omega_before = std::move(omega);
      omega = std::move(next);
    }
    // the Ritz values of the m x m tridiagonal matrix, and their residuals |b * last component|
    const std::size_t m = alpha.size();
    std::vector<double> t(m * m, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      t[i * m + i] = alpha[i];
      if (i + 1 < m) t[i * m + i + 1] = t[(i + 1) * m + i] = beta[i];
    }
    const SymmetricEigen ritz = symmetric_eigen(t, m);
    const bool exhausted = b <= 1e-12 * std::max(1.0, std::abs(alpha.back())) || m == n;
    if (m >= options.k) {
      bool converged = true;
      std::vector<double> residuals;
      for (std::size_t i = 0; i < options.k; ++i) {
        const std::size_t c = m - 1 - i;
        const double value = ritz.values[c];
        residuals.push_back(std::abs(b * ritz.vectors[(m - 1) * m + c]));
        converged = converged && residuals.back() <= options.tolerance * std::max(std::abs(value), 1.0);
      }
      if (converged || exhausted || j + 1 == limit) {
        out.converged = converged || exhausted;
        for (std::size_t i = 0; i < options.k; ++i) {
          const std::size_t c = m - 1 - i;
          out.values.push_back(ritz.values[c]);
          out.residuals.push_back(exhausted ? 0.0 : residuals[i]);
          Vector x(n, 0.0);
          for (std::size_t r = 0; r < m; ++r)
            for (std::size_t e = 0; e < n; ++e) x[e] += ritz.vectors[r * m + c] * basis.row(r)[e];
          out.vectors.push_back(shaped<T>(x, hessian.parameters()));
        }
        break;
      }
    }
    if (exhausted) {  // an invariant subspace before k values: restart from a vector orthogonal to it
      Vector fresh(n);
      rademacher(fresh, rng);
      basis.orthogonalize(fresh);
      const double fn = std::sqrt(dot(fresh, fresh));
      for (double& e : fresh) e /= fn;
      beta.push_back(0);
      basis.add(fresh);
      omega.assign(j + 2, noise);  // the fresh vector is orthogonal to the whole basis
      omega[j + 1] = 1;
      reorthogonalize_next = false;
      continue;
    }
    beta.push_back(b);
    for (double& e : w) e /= b;
    basis.add(w);
  }
  out.products = hessian.products() - before;
  return out;
}

template <class T>
TraceEstimate hessian_trace(HessianOperator<T>& hessian, std::size_t samples, std::uint64_t seed) {
  if (samples < 2) throw ValueError(fmt::format("hessian_trace: needs at least 2 samples, got {}", samples));
  const std::size_t before = hessian.products();
  Rng rng(seed);
  std::vector<double> estimates;
  for (std::size_t s = 0; s < samples; ++s) {
    Vector v(hessian.dimension());
    rademacher(v, rng);
    estimates.push_back(dot(v, product_of(hessian, v)));
  }
  TraceEstimate out;
  out.trace = std::accumulate(estimates.begin(), estimates.end(), 0.0) / double(samples);
  double variance = 0;
  for (double e : estimates) variance += (e - out.trace) * (e - out.trace);
  variance /= double(samples - 1);
  out.std_error = std::sqrt(variance / double(samples));
  out.products = hessian.products() - before;
  return out;
}

template class HessianOperator<float>;
template class HessianOperator<double>;
template Eigenpairs<float> top_eigenvalues(HessianOperator<float>&, const CurvatureOptions&);
template Eigenpairs<double> top_eigenvalues(HessianOperator<double>&, const CurvatureOptions&);
template TraceEstimate hessian_trace(HessianOperator<float>&, std::size_t, std::uint64_t);
template TraceEstimate hessian_trace(HessianOperator<double>&, std::size_t, std::uint64_t);

}  // namespace tapegrad
