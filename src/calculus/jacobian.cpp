#include "tapegrad/calculus/jacobian.hpp"

#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

// f recorded on `tape` from the variable x: x, f(x), checked to be a result of x on this tape.
template <class T>
struct Recording {
  Var<T> x, y;
};

template <class T>
Recording<T> record(const char* op, const TensorFunction<T>& f, Tape<T>& tape, const Tensor<T>& x) {
  if (!f) throw ValueError(fmt::format("{}: the function is empty", op));
  Recording<T> r;
  r.x = tape.variable(x);
  r.y = f(r.x);
  if (!r.y.valid()) throw ValueError(fmt::format("{}: the function returned no variable (a default Var)", op));
  tape.check(r.y, op);  // a Var of another tape, or of an earlier recording
  if (!r.y.requires_grad())
    throw ValueError(fmt::format("{}: the function's result (shape {}) does not depend on x: it recorded nothing from "
                                 "the variable it was given (did it compute from a copy, or a constant?)",
                                 op, r.y.shape().str()));
  return r;
}

template <class T>
void expect_shape(const char* op, const char* what, const Tensor<T>& t, const Shape& shape, const char* of) {
  if (t.shape() != shape)
    throw ShapeError(fmt::format("{}: {} has shape {} but {} has shape {}", op, what, t.shape().str(), of,
                                 shape.str()));
}

// A (rows x columns) result must fit in this machine's memory: refused before any pass, never an OOM kill while
// its pages are filled.
template <class T>
void check_fits(const char* op, std::size_t rows, std::size_t columns) {
  const double bytes = double(rows) * double(columns) * double(sizeof(T));
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  const double memory = pages > 0 && page_size > 0 ? double(pages) * double(page_size) : 0;
  if (memory > 0 && bytes > memory)
    throw MemoryError(fmt::format("{}: the result has {} x {} elements, {:.3g} GB, more than this machine's {:.3g} GB "
                                  "of memory; use jvp or vjp for the products you need",
                                  op, rows, columns, bytes / 1e9, memory / 1e9));
}

Shape joined(const Shape& a, const Shape& b) {
  std::vector<std::size_t> dims(a.begin(), a.end());
  dims.insert(dims.end(), b.begin(), b.end());
  return Shape(dims);
}

// The one-hot seed e_i of `shape`, reused: set i, and clear the previous one.
template <class T>
struct OneHot {
  explicit OneHot(const Shape& shape) : seed(Tensor<T>::zeros(shape)) {}
  const Tensor<T>& at(std::size_t i) {
    if (last < seed.size()) seed[last] = T(0);
    seed[i] = T(1);
    last = i;
    return seed;
  }
  Tensor<T> seed;
  std::size_t last = static_cast<std::size_t>(-1);
};

// J^T u recorded as a function of a dummy variable u of f(x)'s shape: its gradient with respect to u, seeded
// with v, is J v. (u's value does not matter, J^T u being linear in u: zero.)
template <class T>
struct Transposed {
  Var<T> u, jt_u;
};

template <class T>
Transposed<T> transposed(const Recording<T>& r) {
  Tape<T>& tape = r.y.tape();
  Transposed<T> t;
  t.u = tape.variable(Tensor<T>::zeros(r.y.shape()));
  t.jt_u = grad(sum(r.y * t.u), {r.x}, kCreateGraph)[0];
  return t;
}

// J v from the recorded J^T u: zeros where J^T u does not depend on u (J = 0).
template <class T>
Tensor<T> forward_product(const Transposed<T>& t, const Tensor<T>& v) {
  if (!t.jt_u.requires_grad()) return Tensor<T>::zeros(t.u.shape());
  return grad(t.jt_u, {t.u}, v)[0].value();
}

// The tape the convenience forms record on: this thread's kept tape, whose buffers stay allocated from one call to
// the next (as PyTorch's allocator keeps freed blocks), so a loop of calls does not page-fault its memory in again.
// A call made while the kept tape is in use (f itself calling jvp) gets a fresh tape.
template <class T>
class KeptTape {
 public:
  KeptTape() {
    if (!slot().busy) {
      slot().busy = true;
      kept_ = &slot();
    } else {
      own_ = std::make_unique<Tape<T>>();
    }
  }
  ~KeptTape() {
    if (kept_ == nullptr) return;
    kept_->tape.clear();
    kept_->busy = false;
  }
  KeptTape(const KeptTape&) = delete;
  KeptTape& operator=(const KeptTape&) = delete;
  Tape<T>& get() { return kept_ != nullptr ? kept_->tape : *own_; }

 private:
  struct Slot {
    Tape<T> tape;
    bool busy = false;
  };
  static Slot& slot() {
    static thread_local Slot kept;
    return kept;
  }
  Slot* kept_ = nullptr;
  std::unique_ptr<Tape<T>> own_;
};

}  // namespace

const char* mode_name(JacobianMode mode) {
  switch (mode) {
    case JacobianMode::Forward: return "forward";
    case JacobianMode::Reverse: return "reverse";
    case JacobianMode::Automatic: break;
  }
  return "automatic";
}

template <class T>
Linearization<T> jvp(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v) {
  expect_shape("jvp", "v", v, x.shape(), "x");
  tape.clear();
  const Recording<T> r = record("jvp", f, tape, x);
  return {r.y.value(), forward_product(transposed(r), v)};
}

template <class T>
Linearization<T> vjp(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& u) {
  tape.clear();
  const Recording<T> r = record("vjp", f, tape, x);
  expect_shape("vjp", "u", u, r.y.shape(), "f(x)");
  tape.backward(r.y, u);
  return {r.y.value(), r.x.grad()};
}

template <class T>
JacobianResult<T> jacobian(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x, JacobianMode mode) {
  tape.clear();
  const Recording<T> r = record("jacobian", f, tape, x);
  const std::size_t rows = r.y.shape().numel(), columns = x.size();
  check_fits<T>("jacobian", rows, columns);
  JacobianResult<T> out;
  out.value = r.y.value();
  out.matrix = Tensor<T>(joined(r.y.shape(), x.shape()));
  const bool forward = mode == JacobianMode::Forward || (mode == JacobianMode::Automatic && columns < rows);
  out.mode = forward ? JacobianMode::Forward : JacobianMode::Reverse;
  out.why = fmt::format("{} mode: {} passes, one per {} ({} rows, {} columns; {})", mode_name(out.mode),
                        forward ? columns : rows, forward ? "column" : "row", rows, columns,
                        mode != JacobianMode::Automatic ? "as asked"
                        : rows == columns ? "as many passes either way: reverse, which records no backward"
                                          : "fewer passes");
  if (forward) {
    const Transposed<T> t = transposed(r);
    OneHot<T> e(x.shape());
    for (std::size_t j = 0; j < columns; ++j) {
      const Tensor<T> column = forward_product(t, e.at(j));
      for (std::size_t i = 0; i < rows; ++i) out.matrix[i * columns + j] = column[i];
    }
    out.passes = columns;
  } else {
    OneHot<T> e(r.y.shape());
    for (std::size_t i = 0; i < rows; ++i) {
      const Tensor<T> row = grad(r.y, {r.x}, e.at(i))[0].value();
      std::copy(row.begin(), row.end(), out.matrix.begin() + static_cast<std::ptrdiff_t>(i * columns));
    }
    out.passes = rows;
  }
  return out;
}

template <class T>
Tensor<T> hessian(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x) {
  tape.clear();
  const Recording<T> r = record("hessian", f, tape, x);
  if (r.y.shape().numel() != 1)
    throw ShapeError(fmt::format("hessian: f must return one element (a scalar loss), got shape {}; for a vector "
                                 "function use jacobian(), or reduce it first",
                                 r.y.shape().str()));
  const std::size_t n = x.size();
  check_fits<T>("hessian", n, n);
  Tensor<T> h(joined(x.shape(), x.shape()));
  const Var<T> g = grad(r.y, {r.x}, kCreateGraph)[0];
  if (!g.requires_grad()) return Tensor<T>::zeros(h.shape());  // f linear in x
  OneHot<T> e(x.shape());
  for (std::size_t j = 0; j < n; ++j) {
    const Tensor<T> row = grad(g, {r.x}, e.at(j))[0].value();
    std::copy(row.begin(), row.end(), h.begin() + static_cast<std::ptrdiff_t>(j * n));
  }
  return h;
}

template <class T>
Linearization<T> jvp(const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v) {
  KeptTape<T> tape;
  return jvp(tape.get(), f, x, v);
}
template <class T>
Linearization<T> vjp(const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& u) {
  KeptTape<T> tape;
  return vjp(tape.get(), f, x, u);
}
template <class T>
JacobianResult<T> jacobian(const TensorFunction<T>& f, const Tensor<T>& x, JacobianMode mode) {
  KeptTape<T> tape;
  return jacobian(tape.get(), f, x, mode);
}
template <class T>
Tensor<T> hessian(const TensorFunction<T>& f, const Tensor<T>& x) {
  KeptTape<T> tape;
  return hessian(tape.get(), f, x);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                    \
  template Linearization<T> jvp(const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&);     \
  template Linearization<T> vjp(const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&);     \
  template JacobianResult<T> jacobian(const TensorFunction<T>&, const Tensor<T>&, JacobianMode);   \
  template Tensor<T> hessian(const TensorFunction<T>&, const Tensor<T>&);                                 \
  template Linearization<T> jvp(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&); \
  template Linearization<T> vjp(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&); \
  template JacobianResult<T> jacobian(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&, JacobianMode); \
  template Tensor<T> hessian(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
