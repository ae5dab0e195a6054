#pragma once
// A random computation as data: a list of steps over a (3, 4) input, replayed by tapegrad and by a reference
// library (LibTorch, ADOL-C) so that both differentiate the same function.
#include <cstddef>
#include <string>
#include <vector>

#include "tapegrad/tensor/random.hpp"

namespace reference {

enum class Kind {
  Neg, Pow, Tanh, Sigmoid, Relu, Abs, ExpOfTanh, Softmax, LogSoftmax,  // one operand
  Add, Sub, Mul, DivBySquarePlusOne,                                  // two operands (the second may be reduced)
  RowSum, ColumnMean, MaxAll,                                         // reductions, broadcast back when used
  MatmulThrough,                                                       // a b^T b: (3, 4) again
};

struct Step {
  Kind kind;
  std::size_t a = 0, b = 0;  // operand indices into the values so far (0: the input)
  double p = 0;              // Pow's exponent
};

std::string name_of(const Step& s);

/// 2 to 8 steps; operands chosen among earlier values; the last value is the output.
std::vector<Step> random_recipe(tapegrad::Rng& rng);

/// Inputs with exact zeros and ties: a quarter of the elements are 0, some repeat the largest value.
std::vector<double> input_with_zeros(tapegrad::Rng& rng);

}  // namespace reference
