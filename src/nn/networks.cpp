#include "tapegrad/nn/networks.hpp"

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "tapegrad/nn/recurrent.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

Activation parse_activation(const std::string& text) {
  if (text == "relu") return Activation::ReLU;
  if (text == "sigmoid") return Activation::Sigmoid;
  if (text == "tanh") return Activation::Tanh;
  throw ValueError(fmt::format("activation: '{}' is not relu, sigmoid or tanh", text));
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::ReLU: break;
  }
  return "relu";
}

std::string MlpSpec::str() const {
  std::string text = fmt::format("{} {} {}", fmt::join(sizes, "-"), to_string(activation), init.str());
  if (batchnorm) text += " batchnorm";
  if (dropout > 0) text += fmt::format(" dropout {:g}", dropout);
  return text;
}

template <class T>
std::unique_ptr<Sequential<T>> make_mlp(const MlpSpec& spec, Rng& rng) {
  if (spec.sizes.size() < 2)
    throw ValueError(fmt::format("mlp: needs at least an input and an output size, got '{}'", fmt::join(spec.sizes, "-")));
  auto net = std::make_unique<Sequential<T>>();
  for (std::size_t i = 0; i + 1 < spec.sizes.size(); ++i) {
    net->template add<Linear<T>>(spec.sizes[i], spec.sizes[i + 1], spec.init, rng);
    if (i + 2 == spec.sizes.size()) break;  // the last Linear gives logits
    if (spec.batchnorm) net->template add<BatchNorm<T>>(spec.sizes[i + 1]);
    switch (spec.activation) {
      case Activation::ReLU: net->template add<ReLU<T>>(); break;
      case Activation::Sigmoid: net->template add<Sigmoid<T>>(); break;
      case Activation::Tanh: net->template add<Tanh<T>>(); break;
    }
    if (spec.dropout > 0) net->template add<Dropout<T>>(spec.dropout, rng.engine()());
  }
  return net;
}

template std::unique_ptr<Sequential<float>> make_mlp(const MlpSpec&, Rng&);
template std::unique_ptr<Sequential<double>> make_mlp(const MlpSpec&, Rng&);

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (true) {
    const std::size_t end = std::min(text.find(separator, at), text.size());
    parts.push_back(text.substr(at, end - at));
    if (end == text.size()) return parts;
    at = end + 1;
  }
}

bool is_sizes(const std::string& text) {
  if (text.empty() || text == "none") return true;
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

// One layer of a layer list, as parsed; the errors name the whole text and the layer.
struct LayerText {
  std::string text, kind;
  std::vector<std::string> args;                      // positional
  std::vector<std::pair<std::string, std::string>> keys;  // key=value
};

class LayerParser {
 public:
  LayerParser(const std::string& net, const std::string& layer, std::size_t position)
      : net_(net), layer_(layer), position_(position) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw ValueError(fmt::format("network '{}': layer {} '{}': {}", net_, position_, layer_, why));
  }
  std::size_t count(const std::string& text, const char* what) const {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])) || *end != '\0' || v > 1000000)
      fail(fmt::format("{} '{}' is not a whole number up to 1000000", what, text));
    return static_cast<std::size_t>(v);
  }
  std::size_t positive(const std::string& text, const char* what) const {
    const std::size_t v = count(text, what);
    if (v == 0) fail(fmt::format("{} must be positive", what));
    return v;
  }
  Extent2d extent(const std::string& text, const char* what, bool allow_zero) const {
    const std::vector<std::string> hw = split(text, 'x');
    if (hw.size() > 2) fail(fmt::format("{} '{}' is not N or HxW", what, text));
    const auto one = [&](const std::string& t) { return allow_zero ? count(t, what) : positive(t, what); };
    return hw.size() == 1 ? Extent2d(one(hw[0])) : Extent2d(one(hw[0]), one(hw[1]));
  }

 private:
  const std::string& net_;
  const std::string& layer_;
  std::size_t position_;
};

// Adds one layer to `net` (or, when net is null, only sizes it) and moves `sample` to its output shape.
template <class T>
void add_layer(Sequential<T>* net, Shape& sample, NetFootprint& size, const NetSpec& spec, const std::string& list,
               const std::string& layer, std::size_t position, Rng& rng) {
  const LayerParser p(list, layer, position);
  std::vector<std::string> parts = split(layer, ':');
  const std::string kind = parts[0];
  std::vector<std::string> args;
  Extent2d stride{0}, pad{0};
  bool has_stride = false, drop_remainder = false;
  const bool recurrent = kind == "lstm" || kind == "gru" || kind == "rnn";
  std::size_t stacked = 1;  // a recurrent layer's layers=L
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::size_t eq = parts[i].find('=');
    if (eq == std::string::npos) {
      if (has_stride || pad.h || pad.w || drop_remainder) p.fail("positional values come before key=value settings");
      args.push_back(parts[i]);
      continue;
    }
    const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    if (recurrent) {
      if (key != "layers") p.fail(fmt::format("unknown setting '{}' (layers=L)", parts[i]));
      stacked = p.positive(value, "the layer count");
      if (stacked > 100) p.fail("the layer count is at most 100");
      continue;
    }
    if (kind != "conv" && kind != "maxpool" && kind != "avgpool") p.fail(fmt::format("takes no '{}' setting", key));
    if (key == "stride") stride = p.extent(value, "the stride", false), has_stride = true;
    else if (key == "pad") pad = p.extent(value, "the padding", true);
    else if (key == "remainder" && value == "drop") drop_remainder = true;
    else p.fail(fmt::format("unknown setting '{}' (stride, pad or remainder=drop)", parts[i]));
  }
  const auto want_args = [&](std::size_t n, const char* usage) {
    if (args.size() != n) p.fail(fmt::format("needs {}", usage));
  };
  const bool spatial = kind == "conv" || kind == "maxpool" || kind == "avgpool";
  if (spatial && sample.rank() != 3) {
    if (spec.sample.rank() == 3 && sample == Shape{spec.sample.numel()} && position == 1) {
      if (net) net->template add<Reshape<T>>(spec.sample);  // rows of pixels back into images
      size.activations += double(spec.sample.numel());
    }
    else
      p.fail(fmt::format("needs images (channels, height, width), but its input is {}", sample.str()));
    sample = spec.sample;
  }
  // Runs a shape function with the layer named in its error.
  const auto checked = [&](auto&& shape_of) {
    try {
      return shape_of();
    } catch (const ShapeError& e) {
      throw ShapeError(fmt::format("network '{}': layer {} '{}': {}", list, position, layer, e.what()));
    } catch (const ValueError& e) {
      const std::string why = e.what();
      p.fail(why.find("allow_remainder") == std::string::npos ? why : why + " (in a layer list: remainder=drop)");
    }
  };
  const auto without_batch = [](const Shape& s) { return Shape(std::vector<std::size_t>(s.begin() + 1, s.end())); };
  const auto with_batch = [](const Shape& s) {
    std::vector<std::size_t> dims{1};
    dims.insert(dims.end(), s.begin(), s.end());
    return Shape(dims);
  };

  if (kind == "conv") {
    want_args(2, "conv:FILTERS:KERNEL, e.g. conv:30:5");
    Conv2dSettings settings;
    settings.stride = has_stride ? stride : Extent2d(1);
    settings.padding = pad;
    settings.allow_remainder = drop_remainder;
    const std::size_t filters = p.positive(args[0], "the filter count");
    const Extent2d kernel = p.extent(args[1], "the kernel", false);
    const std::size_t channels = sample[0];
    sample = checked([&] {
      return without_batch(conv2d_output_shape(with_batch(sample), {filters, channels, kernel.h, kernel.w}, settings));
    });
    size.parameters += double(filters) * double(channels) * double(kernel.h) * double(kernel.w) + double(filters);
    if (net) net->template add<Conv2D<T>>(channels, filters, kernel, spec.init, rng, settings);
  } else if (kind == "maxpool" || kind == "avgpool") {
    want_args(1, fmt::format("{}:WINDOW, e.g. {}:2", kind, kind).c_str());
    const Extent2d window = p.extent(args[0], "the window", false);
    Pool2dSettings settings(window, has_stride ? stride : window, pad);
    settings.allow_remainder = drop_remainder;
    const Pooling pooling = kind == "maxpool" ? Pooling::Max : Pooling::Average;
    sample = checked([&] { return without_batch(pool2d_output_shape(with_batch(sample), settings, pooling)); });
    if (net && pooling == Pooling::Max) net->template add<MaxPool2D<T>>(settings);
    if (net && pooling == Pooling::Average) net->template add<AvgPool2D<T>>(settings);
  } else if (kind == "linear") {
    want_args(1, "linear:SIZE, e.g. linear:100");
    const std::size_t units = p.positive(args[0], "the size");
    size.parameters += double(sample.numel()) * double(units) + double(units);
    if (net) net->template add<Linear<T>>(sample.numel(), units, spec.init, rng);
    sample = Shape{units};
  } else if (recurrent) {
    want_args(1, fmt::format("{}:HIDDEN[:layers=L], e.g. {}:128", kind, kind).c_str());
    const std::size_t hidden = p.positive(args[0], "the hidden size");
    // a flat input that holds an image's pixels is read as the image's rows
    const Shape read = sample.rank() == 1 && position == 1 && spec.sample.rank() == 3 ? spec.sample : sample;
    if (read.rank() != 1 && read.rank() != 3)
      p.fail(fmt::format("reads (C, H, W) or (F), but its input is {}", read.str()));
    const std::size_t width = read.rank() == 3 ? read[0] * read[2] : 1, steps = read.rank() == 3 ? read[1] : read[0];
    const double gates = kind == "lstm" ? 4 : kind == "gru" ? 3 : 1;
    for (std::size_t l = 0; l < stacked; ++l)
      size.parameters += gates * double(hidden) * (double(l == 0 ? width : hidden) + double(hidden) + 2);
    size.activations += gates * 2 * double(steps) * double(hidden) * double(stacked);
    if (net) {
      if (kind == "lstm") net->template add<LastHidden<T, LSTMCell<T>>>(read, hidden, stacked, rng);
      else if (kind == "gru") net->template add<LastHidden<T, GRUCell<T>>>(read, hidden, stacked, rng);
      else net->template add<LastHidden<T, RNNCell<T>>>(read, hidden, stacked, rng);
    }
    sample = Shape{hidden};
  } else if (kind == "dropout") {
    want_args(1, "dropout:RATIO, e.g. dropout:0.5");
    char* end = nullptr;
    const double ratio = std::strtod(args[0].c_str(), &end);
    if (args[0].empty() || *end != '\0' || !(ratio >= 0 && ratio < 1)) p.fail("the ratio must be in [0, 1)");
    if (net) net->template add<Dropout<T>>(ratio, rng.engine()());
  } else {
    want_args(0, "no values");
    if (kind == "batchnorm") size.parameters += 2 * double(sample.numel());
    if (kind == "flatten" || kind == "batchnorm") sample = Shape{sample.numel()};
    if (kind != "relu" && kind != "sigmoid" && kind != "tanh" && kind != "flatten" && kind != "batchnorm")
      p.fail("unknown layer (conv, maxpool, avgpool, linear, relu, sigmoid, tanh, flatten, batchnorm, dropout, lstm, "
             "gru, rnn)");
    if (net) {
      if (kind == "relu") net->template add<ReLU<T>>();
      else if (kind == "sigmoid") net->template add<Sigmoid<T>>();
      else if (kind == "tanh") net->template add<Tanh<T>>();
      else if (kind == "flatten") net->template add<Flatten<T>>();
      else net->template add<BatchNorm<T>>(sample.numel());
    }
  }
  size.activations += double(sample.numel());
}

// Walks a layer list: builds it into `net` when given, and sizes it either way.
template <class T>
NetFootprint walk_layers(const NetSpec& spec, Sequential<T>* net, Rng& rng) {
  if (spec.classes == 0 || spec.sample.numel() == 0)
    throw ValueError(fmt::format("network '{}': needs a sample shape and classes, got {} and {}", spec.layers,
                                 spec.sample.str(), spec.classes));
  const std::string list = spec.layer_list();
  NetFootprint size;
  size.activations = double(spec.sample.numel());
  Shape sample{spec.sample.numel()};  // data enters as rows
  const std::vector<std::string> layers = split(list, ',');
  for (std::size_t i = 0; i < layers.size(); ++i) add_layer(net, sample, size, spec, list, layers[i], i + 1, rng);
  size.parameters += double(sample.numel()) * double(spec.classes) + double(spec.classes);
  size.activations += double(spec.classes);
  if (net) net->template add<Linear<T>>(sample.numel(), spec.classes, spec.init, rng);
  return size;
}

}  // namespace

std::vector<std::size_t> parse_layer_sizes(const std::string& text) {
  std::vector<std::size_t> sizes;
  if (text.empty() || text == "none") return sizes;
  for (const std::string& part : split(text, '-')) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v == 0 || v > 100000)
      throw ValueError(fmt::format("network '{}': not a list of layer sizes like 100 or 256-128", text));
    sizes.push_back(static_cast<std::size_t>(v));
  }
  return sizes;
}

bool NetSpec::is_mlp() const { return is_sizes(layers); }

MlpSpec NetSpec::mlp() const {
  if (!is_mlp()) throw ValueError(fmt::format("network '{}': not a list of hidden sizes", layers));
  MlpSpec spec;
  spec.sizes = {sample.numel()};
  for (std::size_t size : parse_layer_sizes(layers)) spec.sizes.push_back(size);
  spec.sizes.push_back(classes);
  spec.activation = activation;
  spec.init = init;
  spec.batchnorm = batchnorm;
  spec.dropout = dropout;
  return spec;
}

std::string NetSpec::layer_list() const {
  if (is_mlp()) throw ValueError(fmt::format("network '{}': hidden sizes, not a list of layers", layers));
  if (batchnorm || dropout > 0)
    throw ValueError(fmt::format("network '{}': batch normalisation and dropout settings apply to hidden sizes; a "
                                 "layer list names its own layers (batchnorm, dropout:RATIO)",
                                 layers));
  return layers == "simple_conv" ? kSimpleConvNet : layers == "deep_conv" ? kDeepConvNet : layers;
}

NetFootprint NetSpec::footprint() const {
  NetFootprint size;
  if (is_mlp()) {
    const MlpSpec m = mlp();
    for (std::size_t i = 0; i + 1 < m.sizes.size(); ++i)
      size.parameters += double(m.sizes[i]) * double(m.sizes[i + 1]) + double(m.sizes[i + 1]);
    for (std::size_t s : m.sizes) size.activations += double(s);
    return size;
  }
  Rng unused(0);
  return walk_layers<float>(*this, nullptr, unused);
}

std::string NetSpec::str() const {
  if (is_mlp()) return mlp().str();
  return fmt::format("{} {} -> {} {}", fmt::join(sample.dims(), "x"), layer_list(), classes, init.str());
}

template <class T>
std::unique_ptr<Sequential<T>> make_network(const NetSpec& spec, Rng& rng) {
  if (spec.is_mlp()) return make_mlp<T>(spec.mlp(), rng);
  spec.layer_list();  // refuses MLP-only settings
  auto net = std::make_unique<Sequential<T>>();
  walk_layers(spec, net.get(), rng);
  return net;
}

template std::unique_ptr<Sequential<float>> make_network(const NetSpec&, Rng&);
template std::unique_ptr<Sequential<double>> make_network(const NetSpec&, Rng&);

}  // namespace tapegrad
