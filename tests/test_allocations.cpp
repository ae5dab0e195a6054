// A steady-state training step allocates nothing: every buffer (values, gradients, the ops' saved state) is
// reused from the step before. Counted by replacing malloc (glibc's, forwarded to __libc_malloc; so BLAS's own
// allocations count too) and the global operator new in this test binary (not under AddressSanitizer, which
// brings its own).
#include <atomic>
#include <cstdlib>
#include <new>

#include "helpers.hpp"

#if !defined(__SANITIZE_ADDRESS__)
namespace {
std::atomic<std::size_t> g_allocations{0};
}
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* malloc(std::size_t n) {
  ++g_allocations;
  return __libc_malloc(n);
}
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) return p;  // counted by malloc
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

template <class T>
void check_mlp_steps_allocate_nothing(std::size_t batch) {
  tg::set_blas_threads(1);
  tg::Rng rng(3);
  const tg::Tensor<T> x = tg::Tensor<T>::randn({batch, 784}, rng);
  const std::vector<std::size_t> labels(batch, 4);
  for (const char* optimizer : {"sgd", "adam"}) {
    auto net = tg::make_mlp<T>({{784, 100, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
    auto opt = tg::make_optimizer<T>(optimizer, net->parameters());
    tg::TrainerOptions o;
    o.progress = tg::TrainerOptions::Progress::Quiet;
    tg::Trainer<T> trainer(*net, *opt, o);
    for (int i = 0; i < 20; ++i) trainer.step(x, labels);
    const std::size_t before = g_allocations;
    for (int i = 0; i < 20; ++i) trainer.step(x, labels);
    const std::size_t allocated = g_allocations - before;
    INFO(std::string(optimizer), " batch ", batch);
    CHECK(allocated == 0);
  }
}

// In double, the output layer's product (100, 100) x (100, 10) is one OpenBLAS's AVX-512 kernels allocate in
// (ops/gemm.cpp); on another CPU this runs the ordinary path.
// Batch 1: the weight gradients are kept factored (Parameter::defer_grad), in buffers that are kept too.
TEST_CASE("a steady-state training step allocates nothing (MLP with softmax cross-entropy, SGD and Adam)") {
  for (std::size_t batch : {100, 1}) {
    check_mlp_steps_allocate_nothing<float>(batch);
    check_mlp_steps_allocate_nothing<double>(batch);
  }
}

template <class T>
void check_conv_steps_allocate_nothing() {
  tg::set_blas_threads(1);
  tg::Rng rng(4);
  const tg::Tensor<T> x = tg::Tensor<T>::randn({20, 784}, rng);
  const std::vector<std::size_t> labels(20, 2);
  tg::NetSpec spec;
  spec.sample = {1, 28, 28};
  spec.layers = "conv:8:5,relu,maxpool:2,conv:4:3:pad=1,avgpool:2,maxpool:3:stride=1,linear:20,relu";
  for (const char* layers : {tg::kSimpleConvNet, spec.layers.c_str()}) {
    tg::NetSpec s = spec;
    s.layers = layers;
    auto net = tg::make_network<T>(s, rng);
    auto opt = tg::make_optimizer<T>("adam", net->parameters());
    tg::TrainerOptions o;
    o.progress = tg::TrainerOptions::Progress::Quiet;
    tg::Trainer<T> trainer(*net, *opt, o);
    for (int i = 0; i < 3; ++i) trainer.step(x, labels);
    for (int i = 0; i < 5; ++i) {
      const std::size_t before = g_allocations;
      trainer.step(x, labels);
      const std::size_t allocated = g_allocations - before;  // before INFO, which allocates the first time
      INFO(std::string(layers) << ", step " << i << ", " << std::string(sizeof(T) == 4 ? "float" : "double"));
      CHECK(allocated == 0);
    }
  }
}

TEST_CASE("a steady-state conv net training step allocates nothing (SimpleConvNet, and conv, max and average pooling)") {
  check_conv_steps_allocate_nothing<float>();
  check_conv_steps_allocate_nothing<double>();
}

// The benchmark's LSTM step (one fused lstm_step node per step) with a mean-squared-error loss, time- and
// batch-first, two layers, and 100 stateful chunks (truncated BPTT carries the state from the chunk before): the
// memory of a long run stays flat.
template <class T>
void check_lstm_steps_allocate_nothing(bool batch_first, std::size_t layers, bool stateful) {
  tg::set_blas_threads(1);
  tg::Rng rng(5);
  tg::SequenceOptions options;
  options.batch_first = batch_first;
  options.layers = layers;
  tg::LSTM<T> lstm(16, 24, rng, options);
  lstm.set_stateful(stateful);
  auto adam = tg::make_adam<T>(lstm.parameters());
  const tg::Tensor<T> x = tg::Tensor<T>::randn({7, 5, 16}, rng), target = tg::Tensor<T>::randn({7, 5, 24}, rng);
  tg::Tape<T> tape;
  const auto step = [&] {
    tape.clear();
    adam->zero_grad();
    tg::mse(lstm.run(tape, tape.constant_ref(x)).output, tape.constant_ref(target)).backward();
    adam->step();
  };
  for (int i = 0; i < 5; ++i) step();
  const std::size_t before = g_allocations;
  for (int i = 0; i < (stateful ? 100 : 10); ++i) step();  // stateful: 100 chunks of truncated BPTT
  const std::size_t allocated = g_allocations - before;  // before INFO, which may allocate its first time
  INFO("batch_first ", batch_first, ", layers ", layers, ", stateful ", stateful);
  CHECK(allocated == 0);
}

TEST_CASE("a steady-state LSTM training step allocates nothing (time- and batch-first, 1 and 2 layers, stateful)") {
  for (const bool batch_first : {false, true})
    for (const std::size_t layers : {1, 2})
      for (const bool stateful : {false, true}) {
        check_lstm_steps_allocate_nothing<float>(batch_first, layers, stateful);
        check_lstm_steps_allocate_nothing<double>(batch_first, layers, stateful);
      }
}
#endif
