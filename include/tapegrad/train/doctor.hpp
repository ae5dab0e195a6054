#pragma once
// The checks that find the usual bugs of a network before a long run (CS231n's and Karpathy's checklists): the
// loss at initialisation against ln(classes), overfitting one small batch, samples that do not leak into each
// other, a gradient check of every layer, units that die in the first steps, and gradients that reach every
// parameter at comparable sizes. Each check leaves the model as it found it.
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/calculus/gradcheck.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {

struct DoctorOptions {
  std::size_t batch = 32;            // rows of the loss at initialisation, the gradient norms and the first steps
  double init_factor = 2;            // the loss of the first step passes between ln(C) / factor and ln(C) x factor
  std::size_t overfit_rows = 16;     // the small batch to overfit, with Adam at overfit_lr
  std::size_t overfit_steps = 1000;
  double overfit_lr = 0.01;
  double overfit_loss = 0.05;        // passes when its loss (evaluation mode) falls below this
  std::size_t warmup_steps = 50;     // steps of `optimizer` before units are counted (the last 5 steps' mean)
  OptimizerSpec optimizer{"adam", {}};
  double inactive_limit = 0.5;       // a layer fails with more dead (ReLU) or saturated (tanh, sigmoid) units
  double gradient_spread = 100;      // fails when the largest per-element RMS gradient of a weight exceeds the
                                     // smallest by more than this (vanishing or exploding), or one is 0
  GradcheckOptions gradcheck{};      // the checks of layers with parameters (fast by default: 8 directions);
                                     // a layer without parameters is checked at every element (kinks left out)
  std::uint64_t seed = 0;            // the rows every check reads: a seeded shuffle of the data
  DoctorOptions() { gradcheck.fast = true; }
};

enum class Verdict { Pass, Fail, Expected };  // Expected: a known exception (BatchNorm in training mode)

struct DoctorCheck {
  std::string name;      // "loss at initialisation", ...
  Verdict verdict = Verdict::Pass;
  std::string measured;  // the numbers
  std::string rule;      // what passes
  std::string advice;    // when it fails (or is expected to): the usual cause
};

struct DoctorReport {
  std::vector<DoctorCheck> checks;
  // Each parameter's gradient L2 norm at initialisation (mean loss over `batch` rows), qualified names.
  std::vector<std::pair<std::string, double>> gradient_norms;
  bool passed() const;    // no check failed
  std::string table() const;  // the checks, then the gradient norms
};

/// Runs every check on `model` with `data` (its first rows). ValueError for a model without parameters, data
/// without rows, or a model whose outputs per row do not match the data's classes.
template <class T>
DoctorReport examine(Module<T>& model, const Dataset& data, const DoctorOptions& options = {});

}  // namespace tapegrad
