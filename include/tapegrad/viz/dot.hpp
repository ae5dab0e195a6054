#pragma once
// What a tape recorded, drawn as the book draws computational graphs: a Graphviz DOT graph with a node per
// op and per leaf, forward values on each node and, after backward(), the gradient that reached it.
#include <cstddef>
#include <limits>
#include <map>
#include <string>

#include "tapegrad/tensor/shape.hpp"
#include "tapegrad/autograd/tape.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

struct DotOptions {
  std::string title;                 // drawn above the graph
  std::size_t max_values = 6;        // tensors with at most this many elements show their values; larger ones
                                     // their shape, min, max and mean
  /// Show gradients only on nodes the reverse sweep has completed after this many steps: step 0 is the seed
  /// (the root), step k has reached every node at tape position >= root - k. Unlimited: every gradient.
  std::size_t backward_steps = std::numeric_limits<std::size_t>::max();
  bool gradients = true;             // after backward(): show them
  /// Names shown for parameters instead of their own (Parameter::name), by address: a model's qualified names,
  /// e.g. from Module::named_parameters().
  std::map<const void*, std::string> parameter_names;
};

/// The DOT text of everything `tape` holds, up to and including `root` (its last node by default).
/// Parameters are blue boxes (with their names), variables yellow ellipses, constants grey, ops white rounded
/// boxes with the op's name; an edge runs from each input to the op that read it. Labels are escaped for DOT.
template <class T>
std::string tape_to_dot(const Tape<T>& tape, const DotOptions& options = {});
template <class T>
std::string tape_to_dot(const Tape<T>& tape, const Var<T>& root, const DotOptions& options = {});

/// A module's layer diagram: each module of the tree with its description, output shape for an input of
/// `input` and parameter count, containers as clusters, layers joined in the order forward() calls them.
template <class T>
std::string module_to_dot(Module<T>& model, const Shape& input);

/// Text escaped for a double-quoted DOT string (quotes, backslashes, line breaks).
std::string dot_escape(const std::string& text);

}  // namespace tapegrad
