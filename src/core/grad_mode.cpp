#include "tapegrad/core/grad_mode.hpp"

namespace tapegrad {
namespace {
thread_local bool grad_enabled_on_this_thread = true;
}

bool is_grad_enabled() { return grad_enabled_on_this_thread; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled_on_this_thread) { grad_enabled_on_this_thread = false; }
NoGradGuard::~NoGradGuard() { grad_enabled_on_this_thread = previous_; }

}  // namespace tapegrad
