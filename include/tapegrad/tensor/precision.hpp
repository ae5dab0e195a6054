#pragma once
// Narrower floating-point formats, simulated: a value rounded to the nearest float16 or bfloat16 (ties to even)
// and kept in a float or double, as NumPy's astype(float16) and back. What evaluating a network in half precision
// (the book's half_float_network.py) needs; tapegrad does not compute in these formats.
#include <string>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

enum class Precision { Float32, Float16, BFloat16 };

/// "float32", "float16", "bfloat16".
std::string to_string(Precision p);

/// x rounded to the nearest value of format `p`, ties to even, as IEEE 754 converts:
///   float16: 10 fraction bits, exponents -14 to 15, subnormals down to 2^-24; beyond 65504 (from 65520 on) inf;
///   bfloat16: 7 fraction bits and float32's exponent range;
///   float32: float32's own rounding.
/// NaN stays NaN and infinities stay infinite.
double round_to(double x, Precision p);

/// Every element of t rounded to `p`, in place; returns how many became infinite (overflow).
template <class T>
std::size_t round_to(Tensor<T>& t, Precision p);

extern template std::size_t round_to(Tensor<float>&, Precision);
extern template std::size_t round_to(Tensor<double>&, Precision);

}  // namespace tapegrad
