// libFuzzer target: any text given to OptimizerSpec::parse must give a spec or a ValueError; a spec must print
// back (str()) to text that parses to the same spec, and building its optimizer must succeed or refuse the
// values with a ValueError -- never a crash, a silent NaN setting or a hang.
#include <cstdint>
#include <string>

#include "tapegrad/tapegrad.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tg = tapegrad;
  const std::string text(reinterpret_cast<const char*>(data), size);
  tg::OptimizerSpec spec;
  try {
    spec = tg::OptimizerSpec::parse(text);
  } catch (const tg::ValueError&) {
    return 0;
  }
  const tg::OptimizerSpec again = tg::OptimizerSpec::parse(spec.str());  // must not throw
  if (again.str() != spec.str()) __builtin_trap();
  tg::Parameter<double> p("p", tg::Tensor<double>{1.0, -2.0});
  try {
    auto optimizer = tg::make_optimizer<double>(spec, {&p});
    p.grad() = tg::Tensor<double>{0.5, 0.25};
    optimizer->step();
  } catch (const tg::ValueError&) {
  }
  return 0;
}
