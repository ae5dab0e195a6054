#include "tapegrad/viz/dot.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

std::string dot_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') continue;
    else out += c;
  }
  return out;
}

namespace {

// Small tensors by value ("715", "[2.2, 110]"), larger ones by shape and summary.
template <class T>
std::string show(const Tensor<T>& t, std::size_t max_values) {
  if (t.size() == 0) return fmt::format("{} (empty)", t.shape().str());
  if (t.size() == 1) return fmt::format("{:.6g}", double(t[0]));
  if (t.size() <= max_values) {
    std::vector<std::string> values;
    for (T v : t) values.push_back(fmt::format("{:.4g}", double(v)));
    return fmt::format("{} [{}]", t.shape().str(), fmt::join(values, ", "));
  }
  const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
  double total = 0;
  for (T v : t) total += double(v);
  return fmt::format("{}  min {:.3g}  max {:.3g}  mean {:.3g}", t.shape().str(), double(*lo), double(*hi),
                     total / double(t.size()));
}

}  // namespace

template <class T>
std::string tape_to_dot(const Tape<T>& tape, const Var<T>& root, const DotOptions& options) {
  tape.check(root, "tape_to_dot");
  const std::uint32_t last = root.index();
  std::string out = "digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n";
  if (!options.title.empty())
    out += fmt::format("  labelloc=t;\n  label=\"{}\";\n", dot_escape(options.title));
  for (std::uint32_t i = 0; i <= last; ++i) {
    const NodeView<T> n = tape.view(i);
    const std::string kind = n.op;
    std::string label, style;
    if (n.parameter) {
      const auto given = options.parameter_names.find(n.parameter);
      label = given != options.parameter_names.end() ? given->second
              : n.parameter->name.empty()            ? "parameter"
                                                     : n.parameter->name;
      style = "shape=box, style=filled, fillcolor=\"#cfe2ff\"";
    } else if (kind == "leaf") {
      label = n.requires_grad ? "variable" : "input";
      style = "shape=ellipse, style=filled, fillcolor=\"#fff3bf\"";
    } else if (kind == "constant") {
      label = "constant";
      style = "shape=box, style=\"filled,dashed\", fillcolor=\"#eeeeee\", fontcolor=\"#555555\"";
    } else {
      label = kind;
      style = "shape=box, style=\"rounded,filled\", fillcolor=\"white\"";
    }
    label += "\n" + show(tape.value(i), options.max_values);
    // A gradient is shown once the reverse sweep has completed this node (see DotOptions::backward_steps).
    const bool reached = options.backward_steps >= last || i + options.backward_steps >= last;
    if (options.gradients && tape.consumed() && n.requires_grad && reached) {
      const Tensor<T>* grad = n.parameter ? &n.parameter->grad() : n.grad;
      if (grad) label += "\ngrad " + show(*grad, options.max_values);
    }
    out += fmt::format("  n{} [label=\"{}\", {}];\n", i, dot_escape(label), style);
  }
  for (std::uint32_t i = 0; i <= last; ++i) {
    const NodeView<T> n = tape.view(i);
    for (std::size_t k = 0; k < n.input_count; ++k)
      out += fmt::format("  n{} -> n{}{};\n", n.inputs[k], i,
                         n.input_count > 1 ? fmt::format(" [label=\"{}\"]", k) : std::string());
  }
  return out + "}\n";
}

template <class T>
std::string tape_to_dot(const Tape<T>& tape, const DotOptions& options) {
  if (tape.size() == 0) return "digraph tape {\n}\n";
  return tape_to_dot(tape, tape.handle(static_cast<std::uint32_t>(tape.size() - 1)), options);
}

template <class T>
std::string module_to_dot(Module<T>& model, const Shape& input) {
  const std::vector<ModuleInfo> infos = model.inspect(input);
  std::string out = "digraph model {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10, shape=box, "
                    "style=\"rounded,filled\", fillcolor=\"#cfe2ff\"];\n";
  out += fmt::format("  input [label=\"input\\n{}\", shape=ellipse, fillcolor=\"#fff3bf\"];\n", input.str());
  // Leaves joined in the order forward() called them; containers as nested clusters around their leaves.
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (call, index) of the leaves that ran
  std::size_t open_clusters = 0;
  std::vector<std::string> stack;  // names of the open clusters
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const ModuleInfo& m = infos[i];
    while (!stack.empty() && (m.name.rfind(stack.back() + ".", 0) != 0)) {
      out += "  }\n";
      stack.pop_back();
    }
    if (!m.leaf) {
      if (m.depth > 0) {
        out += fmt::format("  subgraph cluster_{} {{\n  label=\"{}: {}\";\n  style=rounded;\n", i, dot_escape(m.name),
                           dot_escape(m.description));
        stack.push_back(m.name);
        ++open_clusters;
      }
      continue;
    }
    std::string label = fmt::format("{}: {}", m.name.empty() ? "(model)" : m.name, m.description);
    if (m.has_output) label += "\n" + m.output.str();
    if (m.parameters) label += fmt::format("\n{} parameters", m.parameters);
    out += fmt::format("  m{} [label=\"{}\"];\n", i, dot_escape(label));
    if (m.has_output) order.emplace_back(m.call, i);
  }
  for (; !stack.empty(); stack.pop_back()) out += "  }\n";
  std::sort(order.begin(), order.end());
  std::string previous = "input";
  for (const auto& [call, index] : order) {
    out += fmt::format("  {} -> m{};\n", previous, index);
    previous = fmt::format("m{}", index);
  }
  (void)open_clusters;
  return out + "}\n";
}

#define TAPEGRAD_INSTANTIATE(T)                                                          \
  template std::string tape_to_dot(const Tape<T>&, const DotOptions&);                   \
  template std::string tape_to_dot(const Tape<T>&, const Var<T>&, const DotOptions&);    \
  template std::string module_to_dot(Module<T>&, const Shape&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
