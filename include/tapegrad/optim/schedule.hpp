#pragma once
// Learning-rate schedules and gradient clipping: what a training loop does to the step besides the optimizer's
// own rule. Schedules are closed forms of the iteration count, so a resumed run continues where it stopped.
#include <cstddef>
#include <string>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// A schedule as written on a command line, iterations counted from 0 over the whole run:
///   constant                       lr
///   step:every=N,gamma=G           lr G^floor(t / N)                       (PyTorch's StepLR)
///   exp:gamma=G                    lr G^t                                   (ExponentialLR)
///   cosine:period=N,min=M          M + (lr - M)(1 + cos(pi min(t, N) / N)) / 2   (N = 0: the whole run)
///   plateau:factor=F,patience=P,min=M   lr F^k, k = how often an epoch's mean loss has failed to improve on the
///                                  best by 1e-4 (relative) for more than P epochs in a row; at least M
/// and, before any of them, `warmup=W`: lr (t + 1) / W for t < W, the schedule then running from t - W.
struct ScheduleSpec {
  enum class Kind { Constant, Step, Exponential, Cosine, Plateau };
  Kind kind = Kind::Constant;
  std::size_t every = 0;      // Step
  double gamma = 0.1;         // Step, Exponential
  std::size_t period = 0;     // Cosine (0: the rest of the run after warm-up)
  double min_lr = 0;          // Cosine, Plateau
  double factor = 0.1;        // Plateau
  std::size_t patience = 10;  // Plateau, in epochs
  std::size_t warmup = 0;     // iterations of linear warm-up

  /// ValueError naming the schedule, the key and what is accepted: unknown kinds or keys, a repeated key, a key
  /// the kind does not use, step without every, a gamma or factor outside (0, 1], a negative minimum.
  static ScheduleSpec parse(const std::string& text);
  std::string str() const;  // back to text, only what differs from the defaults ("constant" for none)
  bool constant() const { return kind == Kind::Constant && warmup == 0; }
};

/// A schedule at work: the rate for each step of a run of `total_iterations` steps starting from `base_lr`.
class LrSchedule {
 public:
  LrSchedule(ScheduleSpec spec, double base_lr, std::size_t total_iterations);
  /// The learning rate of step t (0-based).
  double rate(std::size_t t) const;
  /// Reduce-on-plateau's input: the epoch's mean training loss. Other kinds ignore it.
  void end_epoch(double loss);
  const ScheduleSpec& spec() const { return spec_; }

 private:
  ScheduleSpec spec_;
  double base_lr_;
  std::size_t total_;
  double best_loss_ = 0;
  bool seen_epoch_ = false;
  std::size_t bad_epochs_ = 0, reductions_ = 0;
};

/// Gradient clipping, applied after backward and before the optimizer's step.
struct GradientClip {
  double max_norm = 0;   // > 0: scale every gradient by max_norm / (norm + 1e-6) when the global L2 norm exceeds it
  double max_value = 0;  // > 0: clamp every gradient element into [-max_value, max_value]
  /// "norm=1", "value=0.5" or "norm=1,value=0.5"; ValueError for a threshold that is not a positive number.
  static GradientClip parse(const std::string& text);
  std::string str() const;
  bool active() const { return max_norm > 0 || max_value > 0; }
};

/// The L2 norm of all the parameters' gradients together (PyTorch's clip_grad_norm_ total norm).
template <class T>
double gradient_norm(const std::vector<Parameter<T>*>& params);
/// Scales every gradient by max_norm / (norm + 1e-6) when the global norm exceeds max_norm (PyTorch's
/// clip_grad_norm_); returns the norm before clipping. ValueError unless max_norm > 0.
template <class T>
double clip_gradient_norm(const std::vector<Parameter<T>*>& params, double max_norm);
/// Clamps every gradient element into [-max_value, max_value]. ValueError unless max_value > 0.
template <class T>
void clip_gradient_values(const std::vector<Parameter<T>*>& params, double max_value);

}  // namespace tapegrad
