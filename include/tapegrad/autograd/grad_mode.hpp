#pragma once
// Modes of the current thread: whether ops record backward rules, and whether every value and gradient is
// checked for NaN and infinity. The only mutable global state in tapegrad: these two thread-local flags.

namespace tapegrad {

bool is_grad_enabled();

/// While alive, ops on this thread compute values but record nothing to differentiate (like torch.no_grad).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Sets grad mode for a scope and restores it after (torch.set_grad_enabled): the gradient sweeps of
/// create_graph record with it on, whatever the caller had.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

bool is_anomaly_detection_enabled();

/// While alive, every value an op computes and every gradient backward() produces on this thread is checked;
/// the first NaN or infinity throws NumericError naming the op, its position on the tape and its input shapes
/// (like torch.autograd.detect_anomaly). Costs a pass over each tensor: for debugging, not for speed.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace tapegrad
