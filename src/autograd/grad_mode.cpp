#include "tapegrad/autograd/grad_mode.hpp"

namespace tapegrad {
namespace {
thread_local bool grad_enabled_on_this_thread = true;
thread_local bool anomaly_detection_on_this_thread = false;
}

bool is_grad_enabled() { return grad_enabled_on_this_thread; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled_on_this_thread) { grad_enabled_on_this_thread = false; }
NoGradGuard::~NoGradGuard() { grad_enabled_on_this_thread = previous_; }

GradModeGuard::GradModeGuard(bool enabled) : previous_(grad_enabled_on_this_thread) {
  grad_enabled_on_this_thread = enabled;
}
GradModeGuard::~GradModeGuard() { grad_enabled_on_this_thread = previous_; }

bool is_anomaly_detection_enabled() { return anomaly_detection_on_this_thread; }

DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_detection_on_this_thread) {
  anomaly_detection_on_this_thread = true;
}
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_detection_on_this_thread = previous_; }

}  // namespace tapegrad
