// Forward mode, Jacobians and Hessians against LibTorch's nearest equivalents, float64, one thread:
//   jvp        tapegrad::jvp                    LibTorch: torch.autograd.functional.jvp's method (double vjp)
//   jacobian   tapegrad::jacobian (reverse)     LibTorch: autograd::grad per row, the graph retained
//              tapegrad::jacobian (forward)     LibTorch: the double-vjp jvp per column
//   hessian    tapegrad::hessian                LibTorch: the gradient with create_graph, then grad per row
//   curvature  HessianOperator products         LibTorch: the gradient with create_graph once, then grad of <g, v>
//              top_eigenvalues (Lanczos)        per product, the graph retained; PyHessian's power iteration
//              hessian_trace (Hutchinson)       PyHessian's loop of +-1 vectors
// Usage: tapegrad_modes_bench   prints a markdown table to stdout
#include <ctime>
#include <unistd.h>

#include "report.hpp"

namespace tg = tapegrad;
using bench::Stats;
using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

bench::Report report;

torch::Tensor as_torch(const T& t) {
  std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  return torch::from_blob(const_cast<double*>(t.data()), dims, torch::kFloat64).clone();
}

// A two-layer tanh map x (rows, n) -> tanh(x W1) W2 (rows, out): the function every row differentiates.
struct Map {
  Map(std::size_t n, std::size_t hidden, std::size_t out) {
    tg::Rng rng(3);
    w1 = T::randn({n, hidden}, rng);
    w2 = T::randn({hidden, out}, rng);
    for (double& e : w1) e /= std::sqrt(double(n));
    for (double& e : w2) e /= std::sqrt(double(hidden));
    tw1 = as_torch(w1);
    tw2 = as_torch(w2);
  }
  V operator()(const V& x) const {
    const std::size_t n = w1.shape()[0];
    return tg::matmul(tg::tanh(tg::matmul(tg::reshape(x, {x.shape().numel() / n, n}), x.tape().constant_ref(w1))),
                      x.tape().constant_ref(w2));
  }
  torch::Tensor operator()(const torch::Tensor& x) const {
    return torch::tanh(x.reshape({-1, tw1.size(0)}).mm(tw1)).mm(tw2);
  }
  T w1, w2;
  torch::Tensor tw1, tw2;
};

void jvp_row(std::size_t rows, std::size_t n, int reps) {
  const Map f(n, n, n);
  tg::Rng rng(4);
  const T x = T::randn({rows, n}, rng), v = T::randn({rows, n}, rng);
  const tg::TensorFunction<double> fn = [&](const V& xv) { return f(xv); };
  const Stats fresh = bench::measure([&] { tg::jvp(fn, x, v); }, 5, reps);
  tg::Tape<double> tape;
  const Stats reused = bench::measure([&] { tg::jvp(tape, fn, x, v); }, 5, reps);
  const torch::Tensor tx = as_torch(x), tv = as_torch(v);
  const Stats theirs = bench::measure(
      [&] {
        const torch::Tensor xr = tx.clone().requires_grad_(true);
        const torch::Tensor y = f(xr);
        const torch::Tensor u = torch::zeros_like(y).requires_grad_(true);
        const auto g = torch::autograd::grad({y}, {xr}, {u}, true, true);
        const auto jv = torch::autograd::grad({g[0]}, {u}, {tv});
      },
      5, reps);
  report.add(fmt::format("jvp of tanh(x W1) W2, x {}x{}, float64", rows, n), "ms", 1e3, fresh, theirs,
             "jvp(f, x, v), on the thread's kept tape; both by double vjp (PyTorch's functional.jvp method)");
  report.add(fmt::format("jvp of tanh(x W1) W2, x {}x{}, float64, the caller's tape", rows, n), "ms", 1e3, reused,
             theirs, "jvp(tape, f, x, v)");
}

void jacobian_rows(std::size_t n, std::size_t out, int reps, tg::JacobianMode mode = tg::JacobianMode::Automatic) {
  const Map f(n, 32, out);
  tg::Rng rng(5);
  const T x = T::randn({n}, rng);
  const tg::TensorFunction<double> fn = [&](const V& xv) { return tg::reshape(f(xv), {out}); };
  const bool forward = mode == tg::JacobianMode::Forward ||
                       (mode == tg::JacobianMode::Automatic && n < out);
  const Stats ours = bench::measure([&] { tg::jacobian(fn, x, mode); }, 3, reps);
  const torch::Tensor tx = as_torch(x);
  const Stats theirs = bench::measure(
      [&] {
        const torch::Tensor xr = tx.clone().requires_grad_(true);
        const torch::Tensor y = f(xr).reshape({static_cast<int64_t>(out)});
        if (!forward) {  // a row per output, the graph retained
          for (std::size_t i = 0; i < out; ++i) {
            torch::Tensor e = torch::zeros_like(y);
            e[static_cast<int64_t>(i)] = 1;
            const auto row = torch::autograd::grad({y}, {xr}, {e}, true);
          }
        } else {  // a column per input, by double vjp
          const torch::Tensor u = torch::zeros_like(y).requires_grad_(true);
          const auto g = torch::autograd::grad({y}, {xr}, {u}, true, true);
          for (std::size_t j = 0; j < n; ++j) {
            torch::Tensor e = torch::zeros_like(xr);
            e[static_cast<int64_t>(j)] = 1;
            const auto column = torch::autograd::grad({g[0]}, {u}, {e}, true);
          }
        }
      },
      3, reps);
  report.add(fmt::format("jacobian of tanh(x W1) W2, R^{} -> R^{}, {} mode, float64", n, out,
                         forward ? "forward" : "reverse"),
             "ms", 1e3, ours, theirs,
             forward ? fmt::format("forward: {} columns (LibTorch: a double-vjp jvp per column)", n)
                     : fmt::format("reverse: {} rows (LibTorch: autograd::grad per row)", out));
}

void hessian_row(std::size_t n, int reps) {
  const Map f(n, 32, 1);
  tg::Rng rng(6);
  const T x = T::randn({n}, rng);
  const tg::TensorFunction<double> fn = [&](const V& xv) { return tg::sum(f(xv)); };
  const Stats ours = bench::measure([&] { tg::hessian(fn, x); }, 3, reps);
  const torch::Tensor tx = as_torch(x);
  const Stats theirs = bench::measure(
      [&] {
        const torch::Tensor xr = tx.clone().requires_grad_(true);
        const torch::Tensor y = f(xr).sum();
        const torch::Tensor g = torch::autograd::grad({y}, {xr}, {}, true, true)[0];
        for (std::size_t j = 0; j < n; ++j) {
          torch::Tensor e = torch::zeros_like(g);
          e[static_cast<int64_t>(j)] = 1;
          const auto row = torch::autograd::grad({g}, {xr}, {e}, true);
        }
      },
      3, reps);
  report.add(fmt::format("hessian of sum(tanh(x W1) W2), x in R^{}, float64", n), "ms", 1e3, ours, theirs,
             "gradient with create_graph, then a reverse pass per row (both)");
}

// A 784-100-10 tanh MLP's loss on 100 rows of random data (79,510 parameters), in both libraries.
struct MlpLoss {
  MlpLoss() {
    tg::Rng rng(7);
    for (const tg::Shape& s : {tg::Shape{784, 100}, tg::Shape{100}, tg::Shape{100, 10}, tg::Shape{10}}) {
      T initial = T::randn(s, rng);
      for (double& e : initial) e *= 0.05;
      params.emplace_back("p", initial);
    }
    x = T::randn({100, 784}, rng);
    for (std::size_t i = 0; i < 100; ++i) labels.push_back(i % 10);
    for (auto& p : params) {
      ptrs.push_back(&p);
      v.push_back(T::randn(p.value.shape(), rng));
      tp.push_back(as_torch(p.value).requires_grad_(true));
      tv.push_back(as_torch(v.back()));
    }
    tx = as_torch(x);
    std::vector<int64_t> label_values(labels.begin(), labels.end());
    ty = torch::tensor(label_values, torch::kLong);
  }
  V operator()(tg::Tape<double>& tape) {
    const V h = tg::tanh(tg::affine(tape.constant_ref(x), tape.parameter(params[0]), tape.parameter(params[1])));
    return tg::softmax_cross_entropy(tg::affine(h, tape.parameter(params[2]), tape.parameter(params[3])), labels);
  }
  // LibTorch: the gradient with create_graph, recorded once per measurement
  std::vector<torch::Tensor> torch_gradient() const {
    const auto h = torch::tanh(torch::addmm(tp[1], tx, tp[0]));
    const auto l = torch::nn::functional::cross_entropy(torch::addmm(tp[3], h, tp[2]), ty);
    return torch::autograd::grad({l}, tp, {}, true, true);
  }
  // H u as PyTorch computes it (torch.autograd.functional.hvp's method, PyHessian's): grad of <g, u>
  std::vector<torch::Tensor> torch_product(const std::vector<torch::Tensor>& g,
                                           const std::vector<torch::Tensor>& u) const {
    torch::Tensor dot = (g[0] * u[0]).sum();
    for (std::size_t k = 1; k < g.size(); ++k) dot = dot + (g[k] * u[k]).sum();
    return torch::autograd::grad({dot}, tp, {}, true);
  }
  std::vector<tg::Parameter<double>> params;
  std::vector<tg::Parameter<double>*> ptrs;
  T x;
  std::vector<std::size_t> labels;
  std::vector<T> v;
  std::vector<torch::Tensor> tp, tv;
  torch::Tensor tx, ty;
};

// 20 Hessian-vector products
void curvature_row(int reps) {
  MlpLoss loss;
  const int products = 20;
  const Stats ours = bench::measure(
      [&] {
        tg::HessianOperator<double> h(std::ref(loss), loss.ptrs);
        for (int i = 0; i < products; ++i) h(loss.v);
      },
      2, reps);
  const Stats theirs = bench::measure(
      [&] {
        const auto g = loss.torch_gradient();
        for (int i = 0; i < products; ++i) loss.torch_product(g, loss.tv);
      },
      2, reps);
  report.add("20 Hessian-vector products, 784-100-10 tanh MLP loss, batch 100, float64", "ms", 1e3, ours, theirs,
             "HessianOperator: recorded once, a reverse pass per product (LibTorch: grad of <g, v> per product)");
}

// The top eigenvalue to 1e-6: Lanczos until the residual |H x - l x| <= 1e-6 |l|, against PyHessian's power
// iteration until the eigenvalue changes by less than 1e-6 of itself (a weaker test: an eigenvalue settles long
// before its vector does), each with the products it needs.
void top_eigenvalue_row(int reps) {
  MlpLoss loss;
  tg::CurvatureOptions options;
  options.tolerance = 1e-6;
  std::size_t ours_products = 0, their_products = 0;
  const Stats ours = bench::measure(
      [&] {
        tg::HessianOperator<double> h(std::ref(loss), loss.ptrs);
        ours_products = tg::top_eigenvalues(h, options).products;
      },
      2, reps);
  const Stats theirs = bench::measure(
      [&] {
        const auto g = loss.torch_gradient();
        std::vector<torch::Tensor> u = loss.tv;
        double eigenvalue = 0;
        their_products = 0;
        for (int i = 0; i < 1000; ++i) {
          torch::Tensor norm = u[0].pow(2).sum();
          for (std::size_t k = 1; k < u.size(); ++k) norm = norm + u[k].pow(2).sum();
          norm = norm.sqrt();
          for (auto& part : u) part = part / norm;
          const auto hu = loss.torch_product(g, u);
          ++their_products;
          double next = 0;
          for (std::size_t k = 0; k < u.size(); ++k) next += (hu[k] * u[k]).sum().item<double>();
          u = hu;
          const bool settled = i > 0 && std::abs(next - eigenvalue) / (std::abs(eigenvalue) + 1e-6) < 1e-6;
          eigenvalue = next;
          if (settled) break;
        }
      },
      2, reps);
  report.add(fmt::format("top Hessian eigenvalue to 1e-6, 784-100-10 tanh MLP loss, batch 100, float64 ({} products; "
                         "LibTorch {})",
                         ours_products, their_products),
             "ms", 1e3, ours, theirs,
             "top_eigenvalues (Lanczos, partial reorthogonalization) on one HessianOperator (LibTorch: PyHessian's "
             "power iteration)");
}

// Hutchinson's trace estimate from 20 random +-1 vectors.
void trace_row(int reps) {
  MlpLoss loss;
  const std::size_t samples = 20;
  const Stats ours = bench::measure(
      [&] {
        tg::HessianOperator<double> h(std::ref(loss), loss.ptrs);
        tg::hessian_trace(h, samples);
      },
      2, reps);
  const Stats theirs = bench::measure(
      [&] {
        const auto g = loss.torch_gradient();
        double trace = 0;
        for (std::size_t i = 0; i < samples; ++i) {
          std::vector<torch::Tensor> u;
          for (const auto& p : loss.tp)
            u.push_back(torch::randint(0, 2, p.sizes(), torch::kFloat64) * 2 - 1);
          const auto hu = loss.torch_product(g, u);
          for (std::size_t k = 0; k < u.size(); ++k) trace += (hu[k] * u[k]).sum().item<double>();
        }
        (void)trace;
      },
      2, reps);
  report.add("Hessian trace, Hutchinson, 20 samples, 784-100-10 tanh MLP loss, batch 100, float64", "ms", 1e3, ours,
             theirs, "hessian_trace on one HessianOperator (LibTorch: PyHessian's loop of grad of <g, v>)");
}

}  // namespace

int main() {
  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  tg::set_blas_threads(1);
  fmt::print(stderr, "jvp\n");
  jvp_row(1, 64, 400);
  jvp_row(100, 64, 200);
  fmt::print(stderr, "jacobian\n");
  jacobian_rows(64, 64, 40);
  jacobian_rows(64, 64, 40, tg::JacobianMode::Forward);  // the cost of a column against a row
  jacobian_rows(4, 256, 40);
  fmt::print(stderr, "hessian\n");
  hessian_row(32, 40);
  fmt::print(stderr, "curvature\n");
  curvature_row(10);
  top_eigenvalue_row(10);
  trace_row(10);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  fmt::print("Measured {} on {} cores, OPENBLAS_CORETYPE={}, one thread everywhere; LibTorch {}; OpenBLAS {}.\n\n",
             date, sysconf(_SC_NPROCESSORS_ONLN), coretype ? coretype : "(unset)", TORCH_VERSION, openblas_get_config());
  report.print_table();
  return 0;
}
