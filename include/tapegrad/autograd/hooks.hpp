#pragma once
// Hooks: functions called as values and gradients pass (Var::register_hook, Module's forward and backward hooks).
// Each registration returns a HookHandle that removes it. Nothing is called, and nothing is paid, where none is
// registered: the sweep tests one flag per node.
#include <cstddef>
#include <memory>
#include <vector>

namespace tapegrad {

namespace detail {
/// Which hooks of one owner (a tape's recording, a module) are still registered. Shared with the handles, so a
/// handle that outlives its owner neither dangles nor removes anything.
struct HookLiveness {
  std::vector<bool> live;
  std::size_t add() {
    live.push_back(true);
    return live.size() - 1;
  }
};
}  // namespace detail

/// Removes one registered hook (PyTorch's RemovableHandle). Letting the handle go does not remove the hook.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<detail::HookLiveness> owner, std::size_t id) : owner_(std::move(owner)), id_(id) {}
  /// Unregisters the hook. Nothing happens when it was removed already, or when its owner is gone (a Var hook
  /// after tape.clear(), a module hook after the module).
  void remove() {
    if (const auto owner = owner_.lock()) owner->live[id_] = false;
  }
  /// Still registered, and its owner still there.
  bool active() const {
    const auto owner = owner_.lock();
    return owner && owner->live[id_];
  }

 private:
  std::weak_ptr<detail::HookLiveness> owner_;
  std::size_t id_ = 0;
};

}  // namespace tapegrad
