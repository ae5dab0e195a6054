// The book's chapter 5 by hand: every layer written as a custom op with its own forward and backward, then
// checked against numerical gradients and trained, with a training loop written out (no Trainer).
//   1. MulLayer and AddLayer on the apple/orange graph (5.4-5.5): 715, then 2.2, 110, 3.3, 165, 650.
//   2. Relu, Sigmoid, Affine and SoftmaxWithLoss (5.5-5.6), assembled into TwoLayerNet (5.7).
//   3. gradient_check.py: mean |backprop - numerical| per parameter.
//   4. A Sigmoid whose backward forgets a factor, and the FAIL row that points at it.
//   5. A short training run on Fashion-MNIST (SGD lr 0.1, batch 100), accuracy after each epoch.
// Usage: book_layers [DATA_DIR [EPOCHS]]   (default: Debian's Fashion-MNIST, 1 epoch)
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;
using Tensor = tg::Tensor<double>;
using Var = tg::Var<double>;
using Grads = std::vector<Tensor>;

namespace {

// ---- 5.4: the multiplication and addition layers (elementwise on tensors of one shape)
struct MulLayer : tg::CustomOp<double> {
  Tensor x, y;
  const char* name() const override { return "MulLayer"; }
  Tensor forward(const tg::Inputs<double>& in) override {
    x = in[0];
    y = in[1];
    Tensor out = x;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = x[i] * y[i];
    return out;
  }
  Grads backward(const Tensor& dout) override {
    Tensor dx = dout, dy = dout;
    for (std::size_t i = 0; i < dout.size(); ++i) {
      dx[i] = dout[i] * y[i];  // the inputs swap
      dy[i] = dout[i] * x[i];
    }
    return {dx, dy};
  }
};

struct AddLayer : tg::CustomOp<double> {
  const char* name() const override { return "AddLayer"; }
  Tensor forward(const tg::Inputs<double>& in) override {
    Tensor out = in[0];
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += in[1][i];
    return out;
  }
  Grads backward(const Tensor& dout) override { return {dout, dout}; }  // passed through unchanged
};

// ---- 5.5: activation layers
struct Relu : tg::CustomOp<double> {
  std::vector<bool> mask;  // x <= 0
  const char* name() const override { return "Relu"; }
  Tensor forward(const tg::Inputs<double>& in) override {
    Tensor out = in[0];
    mask.assign(out.size(), false);
    for (std::size_t i = 0; i < out.size(); ++i)
      if (out[i] <= 0) mask[i] = true, out[i] = 0;
    return out;
  }
  Grads backward(const Tensor& dout) override {
    Tensor dx = dout;
    for (std::size_t i = 0; i < dx.size(); ++i)
      if (mask[i]) dx[i] = 0;
    return {dx};
  }
};

struct Sigmoid : tg::CustomOp<double> {
  Tensor out;
  const char* name() const override { return "Sigmoid"; }
  Tensor forward(const tg::Inputs<double>& in) override {
    out = in[0];
    for (double& v : out) v = 1 / (1 + std::exp(-v));
    return out;
  }
  Grads backward(const Tensor& dout) override {
    Tensor dx = dout;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = dout[i] * (1 - out[i]) * out[i];
    return {dx};
  }
};

// The same with a bug a learner might write: the factor (1 - y) forgotten.
struct ForgetfulSigmoid : Sigmoid {
  const char* name() const override { return "ForgetfulSigmoid"; }
  Grads backward(const Tensor& dout) override {
    Tensor dx = dout;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = dout[i] * out[i];
    return {dx};
  }
};

// ---- 5.6: Affine (x W + b) and SoftmaxWithLoss (softmax, then cross-entropy against one-hot t)
struct Affine : tg::CustomOp<double> {
  const char* name() const override { return "Affine"; }
  Tensor forward(const tg::Inputs<double>& in) override {  // x (N, I), W (I, O), b (O)
    const Tensor &x = in[0], &w = in[1], &b = in[2];
    const std::size_t n = x.shape()[0], inner = w.shape()[0], o = w.shape()[1];
    Tensor out(tg::Shape{n, o});
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t j = 0; j < o; ++j) out[r * o + j] = b[j];
      for (std::size_t k = 0; k < inner; ++k)
        for (std::size_t j = 0; j < o; ++j) out[r * o + j] += x[r * inner + k] * w[k * o + j];
    }
    return out;
  }
  Grads backward(const Tensor& dout) override {  // dx = dout W^T, dW = x^T dout, db = column sums of dout
    const Tensor &x = input(0), &w = input(1);     // read at backward time: no copies kept
    const std::size_t n = x.shape()[0], inner = w.shape()[0], o = w.shape()[1];
    Tensor dx(x.shape()), dw(w.shape()), db(tg::Shape{o});
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < inner; ++k) {
        double sum = 0;
        for (std::size_t j = 0; j < o; ++j) {
          sum += dout[r * o + j] * w[k * o + j];
          dw[k * o + j] += x[r * inner + k] * dout[r * o + j];
        }
        dx[r * inner + k] = sum;
      }
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < o; ++j) db[j] += dout[r * o + j];
    return {needs_grad(0) ? dx : Tensor(), dw, db};  // the images need no gradient
  }
};

struct SoftmaxWithLoss : tg::CustomOp<double> {
  Tensor y, t;  // softmax output and one-hot targets
  const char* name() const override { return "SoftmaxWithLoss"; }
  Tensor forward(const tg::Inputs<double>& in) override {
    const Tensor& x = in[0];
    t = in[1];
    y = x;
    const std::size_t n = x.shape()[0], c = x.shape()[1];
    double loss = 0;
    for (std::size_t r = 0; r < n; ++r) {
      double top = x[r * c], total = 0;
      for (std::size_t j = 1; j < c; ++j) top = std::max(top, x[r * c + j]);
      for (std::size_t j = 0; j < c; ++j) total += y[r * c + j] = std::exp(x[r * c + j] - top);
      for (std::size_t j = 0; j < c; ++j) {
        y[r * c + j] /= total;
        loss -= t[r * c + j] * std::log(y[r * c + j] + 1e-7);  // the book's cross_entropy_error
      }
    }
    return Tensor::scalar(loss / double(n));
  }
  Grads backward(const Tensor& dout) override {  // (y - t) / N
    const double scale = dout.item() / double(y.shape()[0]);
    Tensor dx = y;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = scale * (y[i] - t[i]);
    return {dx, Tensor()};  // no gradient for the targets
  }
};

// ---- 5.7: TwoLayerNet, a module of our own with the layers above
template <class Activation>
struct TwoLayerNet : tg::Module<double> {
  tg::Parameter<double> W1, b1, W2, b2;
  TwoLayerNet(std::size_t input, std::size_t hidden, std::size_t output, tg::Rng& rng)
      : W1("W1", Tensor::randn({input, hidden}, rng, 0.01)), b1("b1", Tensor::zeros({hidden})),
        W2("W2", Tensor::randn({hidden, output}, rng, 0.01)), b2("b2", Tensor::zeros({output})) {
    register_parameter("W1", W1);
    register_parameter("b1", b1);
    register_parameter("W2", W2);
    register_parameter("b2", b2);
  }
  Var forward(tg::Tape<double>& tape, const Var& x) override {  // the scores (logits)
    const Var h = tg::apply<Activation>({tg::apply<Affine>({x, tape.parameter(W1), tape.parameter(b1)})});
    return tg::apply<Affine>({h, tape.parameter(W2), tape.parameter(b2)});
  }
  Var loss(tg::Tape<double>& tape, const Tensor& x, const Tensor& t) {
    return tg::apply<SoftmaxWithLoss>({forward(tape, tape.constant_ref(x)), tape.constant_ref(t)});
  }
  std::string describe() const override {
    return fmt::format("TwoLayerNet({} -> {} -> {}, {})", W1.value.shape()[0], W1.value.shape()[1],
                       W2.value.shape()[1], Activation().name());
  }
};

// gradient_check.py: the book's figure, mean |backprop - numerical|, for each parameter.
template <class Net>
tg::GradcheckReport check_net(Net& net, const Tensor& x, const Tensor& t) {
  return tg::gradcheck<double>([&](tg::Tape<double>& tape) { return net.loss(tape, x, t); }, net.parameters());
}

}  // namespace

int main(int argc, char** argv) try {
  // 1. The apple and orange graph: (100 * 2 + 150 * 3) * 1.1
  {
    tg::Tape<double> tape;
    const Var apple = tape.variable(Tensor::scalar(100)), apple_num = tape.variable(Tensor::scalar(2));
    const Var orange = tape.variable(Tensor::scalar(150)), orange_num = tape.variable(Tensor::scalar(3));
    const Var tax = tape.variable(Tensor::scalar(1.1));
    const Var all = tg::apply<AddLayer>(
        {tg::apply<MulLayer>({apple, apple_num}), tg::apply<MulLayer>({orange, orange_num})});
    const Var price = tg::apply<MulLayer>({all, tax});
    price.backward();
    fmt::print("price: {:g}\n", price.item());
    fmt::print("dApple: {:g}, dApple_num: {:g}, dOrange: {:g}, dOrange_num: {:g}, dTax: {:g}\n\n", apple.grad().item(),
               apple_num.grad().item(), orange.grad().item(), orange_num.grad().item(), tax.grad().item());
  }

  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const std::size_t epochs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1;
  const tg::TrainTest data = tg::load_mnist(dir);
  tg::Rng rng(42);
  Tensor x_batch;
  std::vector<std::size_t> labels;
  const std::size_t first_three[] = {0, 1, 2};
  data.train.gather(first_three, 3, x_batch, labels);
  const Tensor t_batch = tg::Dataset::one_hot<double>(labels, 10);

  // 3. gradient_check.py on three images (hidden 10 instead of 50 keeps the numerical side quick)
  {
    TwoLayerNet<Relu> net(784, 10, 10, rng);
    const tg::GradcheckReport report = check_net(net, x_batch, t_batch);
    fmt::print("gradient check of {} on 3 images, mean |backprop - numerical|:\n", net.describe());
    for (const tg::GradcheckEntry& e : report.entries) fmt::print("{}:{:.10e}\n", e.name, e.mean_abs_error);
    fmt::print("{}\n", report.passed() ? "every layer's backward agrees" : report.table());
  }
  // 4. A wrong backward: the table shows which parameter and which element.
  {
    TwoLayerNet<ForgetfulSigmoid> net(784, 10, 10, rng);
    const tg::GradcheckReport report = check_net(net, x_batch, t_batch);
    fmt::print("the same check with a Sigmoid whose backward forgets (1 - y):\n{}\n", report.table());
  }

  // 5. Training, by hand: record, backward, update, clear.
  TwoLayerNet<Relu> net(data.train.features, 50, 10, rng);
  fmt::print("{}", net.summary(tg::Shape{100, data.train.features}));
  const double lr = 0.1;
  tg::BatchSampler batches(data.train.rows, 100, /*shuffle=*/true, /*seed=*/42);
  tg::Tape<double> tape;
  Tensor x, t;
  const auto test_accuracy = [&] {
    tg::NoGradGuard no_grad;
    tg::Tape<double> eval;
    Tensor test_x;
    std::vector<std::size_t> test_y(data.test.rows), all(data.test.rows);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    data.test.gather(all.data(), all.size(), test_x, test_y);
    return tg::accuracy(net.forward(eval, eval.constant_ref(test_x)).value(), test_y);
  };
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    for (std::size_t b = 0; b < batches.batches(); ++b) {
      data.train.gather(batches.indices(b), batches.size(b), x, labels);
      t = tg::Dataset::one_hot<double>(labels, 10);
      tape.clear();
      net.zero_grad();
      const Var loss = net.loss(tape, x, t);
      loss.backward();
      for (tg::Parameter<double>* p : net.parameters())
        for (std::size_t i = 0; i < p->value.size(); ++i) p->value[i] -= lr * p->grad()[i];
      loss_sum += loss.item();
    }
    batches.next_epoch();
    fmt::print("epoch {}/{}  mean loss {:.4f}  test acc {:.4f}\n", epoch, epochs,
               loss_sum / double(batches.batches()), test_accuracy());
  }
  return 0;
} catch (const tg::Error& e) {
  fmt::print(stderr, "book_layers: {}\n", e.what());
  return 1;
}
