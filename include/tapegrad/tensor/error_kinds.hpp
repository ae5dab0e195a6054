#pragma once
// The table of tapegrad's error kinds (tapegrad/tensor/error.hpp): each class, what it means, and a way to throw
// it, which `tapegrad errors` and docs/reference/errors.md read.
#include <string>
#include <vector>

namespace tapegrad {

struct ErrorKind {
  const char* name;     // the class, e.g. "ShapeError"
  const char* meaning;  // when it is thrown, and what its message holds
  void (*raise)(const std::string& message);  // throws this kind (never returns)
};

/// Every kind, base class first.
const std::vector<ErrorKind>& error_kinds();
/// The table as Markdown (docs/reference/errors.md).
std::string errors_markdown();

}  // namespace tapegrad
