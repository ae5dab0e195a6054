#pragma once
// Moved to tapegrad/tensor/error.hpp in 0.2.0; this forwarding header goes in 0.3.0.
#include "tapegrad/tensor/error.hpp"
