#pragma once
// Anomaly detection's checks (internal): called after each op's forward and each node's backward when
// DetectAnomalyGuard is active.
#include <cstdint>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad::detail {

/// Throws NumericError if node `index`'s value holds a NaN or an infinity.
template <class T>
void check_value(const Tape<T>& tape, std::uint32_t index);
/// Throws NumericError if the gradient node `index`'s backward rule produced for one of its inputs is not finite.
template <class T>
void check_input_gradients(Tape<T>& tape, std::uint32_t index);

}  // namespace tapegrad::detail
