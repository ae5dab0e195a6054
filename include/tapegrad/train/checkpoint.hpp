#pragma once
// Saving and loading a model's parameters and buffers, and optionally its optimizer's state.
//
// File format (little-endian), version 1:
//   "TAPEGRAD" (8 bytes)  u32 version = 1  u32 scalar size (4 float, 8 double)
//   string model description (Module::description(): every module's kind and settings; compared on loading)   string optimizer name ("" if none)
//   string metadata (free text for the caller, e.g. how to rebuild the model)
//   u32 tensor count, then per tensor: string name, u32 rank, u64 extents[rank], values
//       names: "param/<name>", "buffer/<name>", "optim/<slot>/<name>"
//   u32 scalar count, then per scalar: string name, f64 value (names "optim/<name>")
//   u32 CRC-32 (zlib) of every byte before it
// Written to a uniquely named temporary beside <path>, flushed, then renamed over it (write_file_atomically): a
// crash leaves the old file or the new one, never a torn one, and two runs saving to one path never share a
// temporary.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {

template <class T>
void save_checkpoint(const std::string& path, Module<T>& model, const Optimizer<T>* optimizer = nullptr,
                     const std::string& metadata = "");

/// The model alone, without template arguments, for either precision.
inline void save_checkpoint(const std::string& path, Module<float>& model) {
  save_checkpoint<float>(path, model, nullptr, "");
}
inline void save_checkpoint(const std::string& path, Module<double>& model) {
  save_checkpoint<double>(path, model, nullptr, "");
}

class Checkpoint;
/// load_checkpoint(path, ...) from a checkpoint read already (below).
template <class T>
void load_checkpoint(const Checkpoint& checkpoint, Module<T>& model, Optimizer<T>* optimizer = nullptr);

/// A checkpoint file read once and checked (a regular file, magic, version, checksum), its header parsed: what
/// a caller inspects (metadata) and what load_checkpoint then loads are the same bytes, however the file changes
/// in between.
class Checkpoint {
 public:
  explicit Checkpoint(const std::string& path);  // DataError naming the file and what is wrong
  const std::string& path() const { return path_; }
  const std::string& metadata() const { return metadata_; }
  /// The metadata's "key=value" lines as a map; DataError for a key that appears twice.
  std::map<std::string, std::string> fields() const;

 private:
  template <class T>
  friend void load_checkpoint(const Checkpoint&, Module<T>&, Optimizer<T>*);
  std::string path_, model_, optimizer_, metadata_;
  std::vector<unsigned char> bytes_;
  std::size_t body_ = 0, end_ = 0;  // the tensors start at body_; the checksum at end_
  std::uint32_t scalar_size_ = 0;
};

/// The metadata string saved with a checkpoint (after the same checks as loading: magic, version, checksum).
std::string read_checkpoint_metadata(const std::string& path);
/// Its "key=value" lines as a map (the form the Trainer and the tapegrad program write); other lines are skipped.
std::map<std::string, std::string> read_checkpoint_fields(const std::string& path);

/// Verifies magic, version, checksum, precision, the model's description (a Tanh network does not load into a
/// ReLU network of the same sizes), and that every parameter, buffer and optimizer slot exists with the model's
/// shape, before changing anything; DataError naming the file and what differs otherwise.
/// Saving refuses (ValueError) a model that gives two tensors one name or one parameter two names.
template <class T>
void load_checkpoint(const std::string& path, Module<T>& model, Optimizer<T>* optimizer = nullptr);

}  // namespace tapegrad
