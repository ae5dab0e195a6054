#pragma once
// Moved in 0.2.0: grad() to tapegrad/autograd/grad.hpp, hessian_vector_product to tapegrad/calculus/hessian.hpp;
// this forwarding header goes in 0.3.0.
#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/calculus/hessian.hpp"
