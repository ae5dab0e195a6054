#pragma once
// Moved to tapegrad/autograd/format.hpp in 0.2.0; this forwarding header goes in 0.3.0.
#include "tapegrad/autograd/format.hpp"
