#pragma once
// Moved to tapegrad/autograd/custom_op.hpp in 0.2.0; this forwarding header goes in 0.3.0.
#include "tapegrad/autograd/custom_op.hpp"
