// Per-sample gradients: their mean is the batch gradient, each equals a backward pass on that sample alone, and
// Linear layers get them from one pass.
#include "helpers.hpp"

using testing::kink_free;
using testing::message_of;
using T = tg::Tensor<double>;
using V = tg::Var<double>;

namespace {

tg::SampleLoss<double> cross_entropy_of(const std::vector<std::size_t>& labels) {
  return [labels](const V& output, std::size_t first, std::size_t count) {
    return tg::softmax_cross_entropy(output, std::vector<std::size_t>(labels.begin() + first,
                                                                      labels.begin() + first + count));
  };
}

// The gradient of each parameter for the whole batch, and for sample n alone, by plain backward passes.
std::vector<T> gradients(tg::Module<double>& model, const T& x, const tg::SampleLoss<double>& loss,
                         std::size_t first, std::size_t count) {
  model.zero_grad();
  tg::Tape<double> tape;
  std::vector<std::size_t> dims(x.shape().begin(), x.shape().end());
  const std::size_t per = x.size() / dims[0];
  dims[0] = count;
  T rows{tg::Shape(dims)};
  std::copy(x.begin() + first * per, x.begin() + (first + count) * per, rows.begin());
  loss(model(tape, tape.constant(rows)), first, count).backward();
  std::vector<T> out;
  for (tg::Parameter<double>* p : model.parameters()) out.push_back(p->grad());
  return out;
}

void check_against_loops(tg::Module<double>& model, const T& x, const tg::SampleLoss<double>& loss) {
  const std::size_t batch = x.shape()[0];
  const tg::PerSampleGradients<double> ps = tg::per_sample_gradients(model, x, loss);
  const std::vector<T> whole = gradients(model, x, loss, 0, batch);
  REQUIRE(ps.gradients.size() == whole.size());
  for (std::size_t k = 0; k < whole.size(); ++k) {
    CAPTURE(ps.names[k]);
    const std::size_t size = whole[k].size();
    REQUIRE(ps.gradients[k].size() == batch * size);
    for (std::size_t i = 0; i < size; ++i) {  // the mean of the per-sample gradients is the batch gradient
      double mean = 0;
      for (std::size_t n = 0; n < batch; ++n) mean += ps.gradients[k][n * size + i];
      CHECK(std::abs(mean / double(batch) - whole[k][i]) < 1e-14);
    }
  }
  for (std::size_t n = 0; n < batch; ++n) {  // and each is the gradient of that sample alone
    const std::vector<T> alone = gradients(model, x, loss, n, 1);
    for (std::size_t k = 0; k < alone.size(); ++k)
      for (std::size_t i = 0; i < alone[k].size(); ++i)
        CHECK(std::abs(ps.gradients[k][n * alone[k].size() + i] - alone[k][i]) < 1e-14);
  }
}

}  // namespace

TEST_CASE("per-sample gradients of an MLP: one backward pass, mean = batch gradient, each = its sample alone") {
  tg::Rng rng(8);
  auto net = tg::make_mlp<double>({{5, 7, 6, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  const T x = kink_free({9, 5}, rng);
  const std::vector<std::size_t> labels{0, 2, 1, 1, 0, 2, 2, 0, 1};
  const tg::PerSampleGradients<double> ps = tg::per_sample_gradients(*net, x, cross_entropy_of(labels));
  CHECK(ps.backward_passes == 1);
  for (const std::string& m : ps.methods) CHECK(m == "outer products");
  CHECK(ps.gradients[0].shape() == tg::Shape{9, 5, 7});
  check_against_loops(*net, x, cross_entropy_of(labels));
}

TEST_CASE("per-sample gradients of a conv net: filters by a pass per sample, Linear layers by outer products") {
  tg::Rng rng(9);
  tg::NetSpec spec;
  spec.sample = {1, 8, 8};
  spec.classes = 3;
  spec.layers = "conv:4:3,relu,maxpool:2,linear:6,relu";
  auto net = tg::make_network<double>(spec, rng);
  const T x = kink_free({4, 64}, rng);
  const std::vector<std::size_t> labels{2, 0, 1, 1};
  const tg::PerSampleGradients<double> ps = tg::per_sample_gradients(*net, x, cross_entropy_of(labels));
  CHECK(ps.backward_passes == 1 + 4);
  std::size_t outer = 0, looped = 0;
  for (std::size_t k = 0; k < ps.names.size(); ++k) {
    CAPTURE(ps.names[k]);
    (ps.methods[k] == "outer products" ? outer : looped) += 1;
  }
  CHECK(outer == 4);   // two Linear layers' W and b
  CHECK(looped == 2);  // the conv layer's filters and bias
  check_against_loops(*net, x, cross_entropy_of(labels));
}

TEST_CASE("per-sample gradients refuse what has none: BatchNorm in training, empty batch, no parameters, bad loss") {
  tg::Rng rng(10);
  const T x = kink_free({4, 3}, rng);
  const std::vector<std::size_t> labels{0, 1, 1, 0};
  tg::Sequential<double> bn_net;
  bn_net.add<tg::Linear<double>>(3, 2, tg::Init::xavier(), rng);
  bn_net.add<tg::BatchNorm<double>>(2);
  CHECK(message_of<tg::ValueError>([&] { tg::per_sample_gradients(bn_net, x, cross_entropy_of(labels)); })
            .find("BatchNorm '1' is in training mode") != std::string::npos);
  bn_net.set_training(false);
  check_against_loops(bn_net, x, cross_entropy_of(labels));  // in evaluation mode it is per-sample again
  const T no_rows = T::zeros({0, 3});
  CHECK(message_of<tg::ValueError>([&] { tg::per_sample_gradients(bn_net, no_rows, cross_entropy_of(labels)); }) ==
        "per_sample_gradients: the batch is empty (shape (0, 3))");
  tg::Sequential<double> empty;
  empty.add<tg::Tanh<double>>();
  CHECK(message_of<tg::ValueError>([&] { tg::per_sample_gradients(empty, x, cross_entropy_of(labels)); }) ==
        "per_sample_gradients: the model has no parameters");
  tg::Linear<double> linear(3, 2, tg::Init::xavier(), rng);
  CHECK(message_of<tg::ValueError>([&] {
          tg::per_sample_gradients<double>(linear, x, [](const V& out, std::size_t, std::size_t) { return out; });
        }) == "per_sample_gradients: the loss must be one element (a mean over the samples), got shape (4, 2)");
  // the model's own gradients are left as they were
  linear.W.grad()[0] = 42;
  tg::per_sample_gradients(linear, x, cross_entropy_of(labels));
  CHECK(linear.W.grad()[0] == 42);
}
