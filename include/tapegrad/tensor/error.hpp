#pragma once
// Every failure tapegrad reports is one of these exceptions, with the context needed to fix it.
#include <stdexcept>
#include <string>

namespace tapegrad {

/// Base of all tapegrad errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shapes that do not fit an op; the message names the op and every shape involved.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// Misuse of a tape: backward on the wrong variable, twice, or with a stale variable.
class TapeError : public Error {
 public:
  using Error::Error;
};

/// An argument outside its domain (a label out of range, a negative size, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

/// A data or checkpoint file that is missing, truncated or malformed; the message names the file.
class DataError : public Error {
 public:
  using Error::Error;
};

/// A value or gradient became NaN or infinite (a diverging run, a log of zero, ...).
class NumericError : public Error {
 public:
  using Error::Error;
};

/// A user-written op (CustomOp) failed or broke its contract: its forward or backward threw, or backward
/// returned the wrong number of gradients. The message names the op.
class OpError : public Error {
 public:
  using Error::Error;
};

/// An allocation that cannot succeed (a tensor larger than memory), reported instead of std::bad_alloc.
class MemoryError : public Error {
 public:
  using Error::Error;
};

/// A group of processes training together failed to exchange data (an MPI call failed, or another process
/// reported an error and every process stops); the message names the call and the process.
class CommunicationError : public Error {
 public:
  using Error::Error;
};

/// Work stopped on request (TrainerOptions::should_stop, e.g. Ctrl-C); the message says what was kept.
class Interrupted : public Error {
 public:
  using Error::Error;
};

}  // namespace tapegrad
