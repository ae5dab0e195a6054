#pragma once
// Everything a user of tapegrad needs, floor by floor: values, the engine, ops, what is built from ops (gradient
// checking, curvature), layers, optimizers, data and training.
#include "tapegrad/tensor/error.hpp"
#include "tapegrad/tensor/error_kinds.hpp"
#include "tapegrad/tensor/format.hpp"
#include "tapegrad/tensor/random.hpp"
#include "tapegrad/tensor/shape.hpp"
#include "tapegrad/tensor/tensor.hpp"

#include "tapegrad/autograd/custom_op.hpp"
#include "tapegrad/autograd/format.hpp"
#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/autograd/op.hpp"
#include "tapegrad/autograd/tape.hpp"

#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/ops/derivatives.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"

#include "tapegrad/calculus/gradcheck.hpp"
#include "tapegrad/calculus/curvature.hpp"
#include "tapegrad/calculus/hessian.hpp"
#include "tapegrad/calculus/jacobian.hpp"

#include "tapegrad/nn/check.hpp"
#include "tapegrad/nn/conv_layers.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/metrics.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/networks.hpp"
#include "tapegrad/nn/per_sample.hpp"

#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/schedule.hpp"

#include "tapegrad/data/batches.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/idx.hpp"

#include "tapegrad/io/files.hpp"
#include "tapegrad/train/checkpoint.hpp"
#include "tapegrad/train/evaluate.hpp"
#include "tapegrad/train/lr_finder.hpp"
#include "tapegrad/train/sharpness.hpp"
#include "tapegrad/train/trainer.hpp"
#include "tapegrad/viz/dot.hpp"
