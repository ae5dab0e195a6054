// `tapegrad graph`: a recorded computation drawn as the book draws it, forward values and backward gradients on
// every node (optionally one frame per step of the reverse sweep); `tapegrad summary`: a network's layers.
#include <filesystem>

#include <cmath>

#include <fmt/format.h>

#include "support/book_chapter4.hpp"
#include "cli/common.hpp"

namespace cli {
namespace {
namespace book = tapegrad::support::book;

// The tape drawn once, or (steps) once per step of the reverse sweep: the gradient reaching one more node in each.
template <class T>
void draw(const tg::Tape<T>& tape, const tg::Var<T>& root, const std::string& out, const std::string& name,
          const std::string& title, bool steps, tg::Module<T>* model = nullptr) {
  tg::DotOptions options;
  options.title = title;
  if (model)
    for (const auto& [qualified, p] : model->named_parameters()) options.parameter_names[p] = qualified;  // "0.W"
  const std::string base = output_path(out, name);
  render_dot(base, tg::tape_to_dot(tape, root, options));
  fmt::print("graph: {}.dot, {}.png, {}.svg ({} nodes)\n", base, base, base, root.index() + 1);
  if (!steps) return;
  for (std::size_t k = 0; k <= root.index(); ++k) {
    options.backward_steps = k;
    options.title = fmt::format("{}: backward, step {} of {}", title, k, root.index());
    render_dot(fmt::format("{}_step{:03}", base, k), tg::tape_to_dot(tape, root, options));
  }
  fmt::print("steps: {}_step000 ... {}_step{:03} (.dot, .png, .svg)\n", base, base, root.index());
}

// The book's figure 5-17: (100 * 2 + 150 * 3) * 1.1 = 715; backward 2.2, 110, 3.3, 165, 650.
void apple(const std::string& out, bool steps) {
  tg::Parameter<double> apple("apple", tg::Tensor<double>::scalar(100)), apple_num("apple_num", tg::Tensor<double>::scalar(2));
  tg::Parameter<double> orange("orange", tg::Tensor<double>::scalar(150)), orange_num("orange_num", tg::Tensor<double>::scalar(3));
  tg::Parameter<double> tax("tax", tg::Tensor<double>::scalar(1.1));
  tg::Tape<double> tape;
  const auto price = (tape.parameter(apple) * tape.parameter(apple_num) + tape.parameter(orange) * tape.parameter(orange_num)) *
                     tape.parameter(tax);
  price.backward();
  fmt::print("price {:g}; gradients: apple {:g}, apple_num {:g}, orange {:g}, orange_num {:g}, tax {:g}\n", price.item(),
             apple.grad().item(), apple_num.grad().item(), orange.grad().item(), orange_num.grad().item(), tax.grad().item());
  draw(tape, price, out, "apple", "the book's apples and oranges (figure 5-17)", steps);
}

void simple_net(const std::string& out, bool steps) {
  book::SimpleNet net;
  tg::Tape<double> tape;
  const auto loss = net.loss(tape, book::simple_net_x, book::simple_net_t);
  loss.backward();
  fmt::print("simpleNet loss {:.9g}\n", loss.item());
  draw(tape, loss, out, "simple-net", "the book's simpleNet on one sample (ch04)", steps);
}

// A model's forward and backward on the first test image, against its label.
template <class T>
void model_on_image(tg::Module<T>& net, const tg::Dataset& test, const std::string& out, const std::string& name,
                    const std::string& title, bool steps) {
  tg::Tensor<T> x;
  std::vector<std::size_t> label;
  const std::size_t first = 0;
  test.gather(&first, 1, x, label);
  net.set_training(false);
  tg::Tape<T> tape;
  const auto loss = tg::softmax_cross_entropy(net(tape, tape.constant(x)), label);
  loss.backward();
  fmt::print("loss {:.6g} on test image 0 (label {})\n", double(loss.item()), label[0]);
  draw(tape, loss, out, name, fmt::format("{} on test image 0 (label {})", title, label[0]), steps, &net);
}

template <class T>
void saved_model(const std::string& model, const tg::Dataset& test, const std::string& out, bool steps) {
  const tg::NetSpec spec = spec_from(parse_metadata(model));
  tg::Rng rng(0);
  auto net = tg::make_network<T>(spec, rng);
  tg::load_checkpoint(model, *net);
  model_on_image(*net, test, out, "model", fmt::format("{} ({})", spec.str(), model), steps);
}

}  // namespace

int graph(const std::string& demo, const std::string& model, const std::string& data, const std::string& out,
          bool steps) {
  const std::vector<std::string> demos{"apple", "simple-net", "two-layer"};
  if (model.empty() && std::find(demos.begin(), demos.end(), demo) == demos.end())
    throw tg::ValueError(fmt::format("graph: no demo named '{}' (apple, simple-net, two-layer, or --model FILE)", demo));
  tg::prepare_output_folder(out);
  if (demo == "apple" && model.empty()) {
    apple(out, steps);
    return 0;
  }
  if (demo == "simple-net" && model.empty()) {
    simple_net(out, steps);
    return 0;
  }
  const auto meta = model.empty() ? std::map<std::string, std::string>{} : parse_metadata(model);
  const tg::TrainTest d = load_data(data, recorded_seed(meta));
  if (!model.empty()) {
    if (meta.at("dtype") == "double") saved_model<double>(model, d.test, out, steps);
    else saved_model<float>(model, d.test, out, steps);
    return 0;
  }
  tg::Rng rng(1);
  auto net = tg::make_two_layer_net<double>(d.test.features, 8, d.test.classes, rng, tg::Activation::ReLU, 0.1);
  model_on_image(*net, d.test, out, "two-layer", fmt::format("TwoLayerNet {}-8-{}", d.test.features, d.test.classes), steps);
  return 0;
}

int summary(const RunOptions& run, std::size_t features, std::size_t classes) {
  tg::Shape sample{features};
  tg::NetSpec probe;
  probe.layers = run.hidden;
  if (!probe.is_mlp()) {  // a layer list takes one-channel square images, as MNIST's
    const auto side = static_cast<std::size_t>(std::lround(std::sqrt(double(features))));
    if (side * side != features)
      throw tg::ValueError(fmt::format("summary: --net {} takes square images; --features {} is not a square",
                                       run.hidden, features));
    sample = tg::Shape{1, side, side};
  }
  const tg::NetSpec spec = run.net(sample, classes);
  tg::prepare_output_folder(run.out);
  tg::Rng rng(run.seed);
  auto net = tg::make_network<double>(spec, rng);
  const tg::Shape input{run.batch, features};
  fmt::print("{}\n{}", spec.str(), net->summary(input));
  const std::string base = output_path(run.out, "model");
  render_dot(base, tg::module_to_dot(*net, input));
  fmt::print("diagram: {}.dot, {}.png, {}.svg\n", base, base, base);
  return 0;
}

}  // namespace cli
