#pragma once
// Whether ops record backward rules. The only mutable global state in tapegrad: one thread-local flag.

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

}  // namespace tapegrad
