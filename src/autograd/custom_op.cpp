#include "tapegrad/autograd/custom_op.hpp"

#include <exception>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad::detail {

void rethrow_from_custom_op(const char* op, const char* stage) {
  const auto where = [&](const char* what) { return fmt::format("{}: {} threw: {}", op, stage, what); };
  try {
    throw;
  } catch (const ShapeError& e) {  // keep tapegrad's own error kinds, with the op named
    throw ShapeError(where(e.what()));
  } catch (const ValueError& e) {
    throw ValueError(where(e.what()));
  } catch (const NumericError& e) {
    throw NumericError(where(e.what()));
  } catch (const TapeError& e) {
    throw TapeError(where(e.what()));
  } catch (const std::exception& e) {
    throw OpError(where(e.what()));
  } catch (...) {
    throw OpError(where("an exception that is not a std::exception"));
  }
}

template <class T>
void check_custom_gradients(BackwardContext<T>& context, const std::vector<Tensor<T>>& grads) {
  if (grads.size() != context.input_count())
    throw OpError(fmt::format("{}: backward returned {} gradient{} for {} input{}", context.op_name(), grads.size(),
                              grads.size() == 1 ? "" : "s", context.input_count(),
                              context.input_count() == 1 ? "" : "s"));
  for (std::size_t k = 0; k < grads.size(); ++k)
    if (context.needs_grad(k)) context.accumulate(k, grads[k]);  // ShapeError names the op and both shapes
}

template void check_custom_gradients(BackwardContext<float>&, const std::vector<Tensor<float>>&);
template void check_custom_gradients(BackwardContext<double>&, const std::vector<Tensor<double>>&);

}  // namespace tapegrad::detail
