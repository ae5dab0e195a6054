// The umbrella header gives users the library, not the test catalog's helpers (this file includes nothing else).
#include <doctest/doctest.h>

#include "tapegrad/tapegrad.hpp"

namespace tapegrad {
// Compiles only if tapegrad.hpp did not declare functions of these names in tapegrad:: (a variable may not
// share its name with a function in one namespace).
[[maybe_unused]] int kink_free = 0;
[[maybe_unused]] int positive = 0;
[[maybe_unused]] int gradcheck_catalog = 0;
}  // namespace tapegrad

TEST_CASE("the umbrella header does not bring the gradcheck catalog's helpers into tapegrad::") {
  CHECK(tapegrad::kink_free + tapegrad::positive + tapegrad::gradcheck_catalog == 0);
}
