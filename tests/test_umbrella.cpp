// The umbrella header gives users the library, not the support code the program and the tests share (the
// gradcheck catalog, the book's 2-D descent, curve smoothing: src/support/). This file includes nothing else.
#include <doctest/doctest.h>

#include "tapegrad/tapegrad.hpp"

namespace tapegrad {
// Compiles only if tapegrad.hpp did not declare functions of these names in tapegrad:: (a variable may not
// share its name with a function in one namespace), nor a namespace tapegrad::support.
[[maybe_unused]] int kink_free = 0;
[[maybe_unused]] int positive = 0;
[[maybe_unused]] int gradcheck_catalog = 0;
[[maybe_unused]] int descend = 0;
[[maybe_unused]] int book_bowl = 0;
[[maybe_unused]] int smooth_curve = 0;
[[maybe_unused]] int first_below = 0;
[[maybe_unused]] int support = 0;
}  // namespace tapegrad

TEST_CASE("the umbrella header does not bring the support code (catalog, 2-D descent, smoothing) into tapegrad::") {
  CHECK(tapegrad::kink_free + tapegrad::positive + tapegrad::gradcheck_catalog + tapegrad::descend +
            tapegrad::book_bowl + tapegrad::smooth_curve + tapegrad::first_below + tapegrad::support ==
        0);
}
