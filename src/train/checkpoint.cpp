#include "tapegrad/train/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <unistd.h>

#include <fmt/format.h>
#include <zlib.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/io/files.hpp"

namespace tapegrad {
namespace {

constexpr char kMagic[8] = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kMaxName = 4096, kMaxRank = 8;

// Little-endian byte writer.
class Writer {
 public:
  template <class U>
  void put(U v) {
    unsigned char bytes[sizeof(U)];
    std::memcpy(bytes, &v, sizeof(U));  // x86-64 and arm64 are little-endian
    buffer.insert(buffer.end(), bytes, bytes + sizeof(U));
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    buffer.insert(buffer.end(), s.begin(), s.end());
  }
  template <class T>
  void put_tensor(const std::string& name, const Tensor<T>& t) {
    put_string(name);
    put(static_cast<std::uint32_t>(t.rank()));
    for (std::size_t d : t.shape()) put(static_cast<std::uint64_t>(d));
    for (T v : t) put(v);
  }
  std::vector<unsigned char> buffer;
};

// Bounds-checked reader: every read names the file and what ran out.
class Reader {
 public:
  Reader(std::string path, const std::vector<unsigned char>& bytes, std::size_t at, std::size_t end)
      : path_(std::move(path)), bytes_(bytes), end_(end), at_(at) {}
  template <class U>
  U get(const char* what) {
    need(sizeof(U), what);
    U v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(U));
    at_ += sizeof(U);
    return v;
  }
  std::string get_string(const char* what) {
    const auto n = get<std::uint32_t>(what);
    if (n > kMaxName) fail(fmt::format("{} is {} bytes long, more than a name can be", what, n));
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return s;
  }
  template <class T>
  Tensor<T> get_tensor(const std::string& name) {
    const auto rank = get<std::uint32_t>("a tensor's rank");
    if (rank > kMaxRank) fail(fmt::format("tensor '{}' has rank {}", name, rank));
    std::vector<std::size_t> dims;
    std::size_t count = 1;
    for (std::uint32_t i = 0; i < rank; ++i) {
      const auto d = get<std::uint64_t>("a tensor's extent");
      if (d != 0 && count > (end_ - at_) / d) fail(fmt::format("tensor '{}' is larger than the file", name));
      count *= d;
      dims.push_back(d);
    }
    need(count * sizeof(T), "tensor values");  // before allocating
    Tensor<T> t(Shape(std::move(dims)));
    if (count > 0) std::memcpy(t.data(), bytes_.data() + at_, count * sizeof(T));  // an empty tensor has no buffer
    at_ += count * sizeof(T);
    for (std::size_t i = 0; i < count; ++i)  // a crafted or diverged file must not load as weights
      if (!std::isfinite(t.data()[i])) fail(fmt::format("tensor '{}' holds {} at element {}", name, t.data()[i], i));
    return t;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}: corrupt checkpoint: {}", path_, what));
  }
  std::size_t position() const { return at_; }
  std::size_t end() const { return end_; }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > end_ - at_) fail(fmt::format("truncated while reading {}", what));
  }
  std::string path_;
  const std::vector<unsigned char>& bytes_;
  std::size_t end_, at_;
};

std::uint32_t crc_of(const unsigned char* data, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

namespace {
// Every tensor a checkpoint holds needs a name of its own: refuse a tree that gives one name twice, or one
// parameter two names (shared between modules: it would be saved, loaded and optimised twice).
template <class T>
void check_unique_names(const std::string& path, Module<T>& model) {
  std::map<std::string, int> names;
  std::map<const Parameter<T>*, std::string> seen;
  for (const auto& [name, p] : model.named_parameters()) {
    if (++names[name] > 1) throw ValueError(fmt::format("{}: cannot save: two parameters are named '{}'", path, name));
    const auto [it, fresh] = seen.emplace(p, name);
    if (!fresh)
      throw ValueError(fmt::format("{}: cannot save: one parameter is registered twice, as '{}' and '{}'", path,
                                   it->second, name));
  }
  for (const Buffer<T>& b : model.buffers())
    if (++names[b.name] > 1) throw ValueError(fmt::format("{}: cannot save: two buffers are named '{}'", path, b.name));
}

// The model's name of each parameter the optimizer updates, in the optimizer's order: its state is saved under
// the tree's names ("optim/v/0.W"), as the parameters are. ValueError naming the file for a parameter the model
// does not hold.
template <class T>
std::vector<std::string> optimizer_parameter_names(const std::string& path,
                                                   const std::vector<std::pair<std::string, Parameter<T>*>>& params,
                                                   const Optimizer<T>& optimizer) {
  std::map<const Parameter<T>*, std::string> name_of;
  for (const auto& [name, p] : params) name_of.emplace(p, name);
  std::vector<std::string> names;
  for (const Parameter<T>* p : optimizer.parameters()) {
    const auto it = name_of.find(p);
    if (it == name_of.end())
      throw ValueError(fmt::format("{}: the optimizer updates a parameter ('{}') that the model does not hold", path,
                                   p->name));
    names.push_back(it->second);
  }
  return names;
}

// "<slot>/<k>" (the optimizer's) as "<slot>/<the model's name of parameter k>" (the file's).
std::string named_slot(const std::string& indexed, const std::vector<std::string>& names) {
  const std::size_t slash = indexed.rfind('/');
  return indexed.substr(0, slash + 1) + names.at(std::stoul(indexed.substr(slash + 1)));
}

// The first line where two model descriptions differ, as "saved '...', this model '...'".
std::string first_difference(const std::string& saved, const std::string& current) {
  const auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return out;
  };
  const auto a = lines(saved), b = lines(current);
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "(nothing)", y = i < b.size() ? b[i] : "(nothing)";
    if (x != y) return fmt::format("saved '{}', this model '{}'", x, y);
  }
  return "the descriptions differ";
}
}  // namespace

template <class T>
void save_checkpoint(const std::string& path, Module<T>& model, const Optimizer<T>* optimizer,
                     const std::string& metadata) {
  check_unique_names(path, model);
  Writer w;
  w.buffer.insert(w.buffer.end(), kMagic, kMagic + 8);
  w.put(kVersion);
  w.put(static_cast<std::uint32_t>(sizeof(T)));
  w.put_string(model.description());
  const OptimizerState<T> state = optimizer ? optimizer->state() : OptimizerState<T>{};
  w.put_string(state.optimizer);
  w.put_string(metadata);
  const auto params = model.named_parameters();
  const auto buffers = model.buffers();
  w.put(static_cast<std::uint32_t>(params.size() + buffers.size() + state.tensors.size()));
  for (const auto& [name, p] : params) w.put_tensor("param/" + name, p->value);
  for (const Buffer<T>& b : buffers) w.put_tensor("buffer/" + b.name, *b.tensor);
  if (optimizer) {
    const std::vector<std::string> names = optimizer_parameter_names(path, params, *optimizer);
    for (const auto& [name, t] : state.tensors) w.put_tensor("optim/" + named_slot(name, names), t);
  }
  w.put(static_cast<std::uint32_t>(state.scalars.size()));
  for (const auto& [name, v] : state.scalars) {
    w.put_string("optim/" + name);
    w.put(v);
  }
  w.put(crc_of(w.buffer.data(), w.buffer.size()));
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(w.buffer.data()), w.buffer.size()));
}

Checkpoint::Checkpoint(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw DataError(fmt::format("{}: not a checkpoint: {}", path,
                                ec ? ec.message() : std::string("not a regular file (a folder, device or FIFO)")));
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(fmt::format("{}: cannot read checkpoint ({})", path, ec.message()));
  std::ifstream in(path, std::ios::binary);
  bytes_.resize(size);
  if (!in.read(reinterpret_cast<char*>(bytes_.data()), static_cast<std::streamsize>(size)))
    throw DataError(fmt::format("{}: cannot read checkpoint", path));
  if (size < 8 + 4 + 4 + 4 || std::memcmp(bytes_.data(), kMagic, 8) != 0)
    throw DataError(fmt::format("{}: not a tapegrad checkpoint (no TAPEGRAD magic)", path));
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes_.data() + size - 4, 4);
  const bool intact = crc_of(bytes_.data(), size - 4) == stored_crc;
  end_ = size - 4;
  Reader r(path, bytes_, 0, end_);
  r.get<std::uint64_t>("magic");
  const auto version = r.get<std::uint32_t>("version");
  if (version != kVersion)
    throw DataError(fmt::format("{}: checkpoint version {} is not supported (this tapegrad reads {})", path, version,
                                kVersion));
  if (!intact) throw DataError(fmt::format("{}: corrupt checkpoint: checksum mismatch", path));
  scalar_size_ = r.get<std::uint32_t>("precision");
  model_ = r.get_string("the model description");
  optimizer_ = r.get_string("the optimizer name");
  metadata_ = r.get_string("the metadata");
  body_ = r.position();
}

std::map<std::string, std::string> Checkpoint::fields() const {
  std::map<std::string, std::string> fields;
  for (std::size_t start = 0; start < metadata_.size();) {
    const std::size_t end = std::min(metadata_.find('\n', start), metadata_.size());
    const std::string line = metadata_.substr(start, end - start);
    if (const std::size_t eq = line.find('='); eq != std::string::npos)
      if (!fields.emplace(line.substr(0, eq), line.substr(eq + 1)).second)
        throw DataError(
            fmt::format("{}: corrupt checkpoint: metadata field '{}' appears twice", path_, line.substr(0, eq)));
    start = end + 1;
  }
  return fields;
}

std::string read_checkpoint_metadata(const std::string& path) { return Checkpoint(path).metadata(); }

std::map<std::string, std::string> read_checkpoint_fields(const std::string& path) { return Checkpoint(path).fields(); }

template <class T>
void load_checkpoint(const std::string& path, Module<T>& model, Optimizer<T>* optimizer) {
  load_checkpoint(Checkpoint(path), model, optimizer);
}

template <class T>
void load_checkpoint(const Checkpoint& file, Module<T>& model, Optimizer<T>* optimizer) {
  const std::string& path = file.path();
  Reader r(path, file.bytes_, file.body_, file.end_);
  if (file.scalar_size_ != sizeof(T))
    throw DataError(fmt::format("{}: saved in {}, the model is {}", path, file.scalar_size_ == 4 ? "float" : "double",
                                sizeof(T) == 4 ? "float" : "double"));
  const std::string& saved_model = file.model_;
  const std::string& saved_optimizer = file.optimizer_;
  const std::string model_description = model.description();
  if (saved_model != model_description)
    throw DataError(fmt::format("{}: the checkpoint was saved from another model: {}; the model is unchanged", path,
                                first_difference(saved_model, model_description)));

  std::map<std::string, Tensor<T>> tensors;
  const auto tensor_count = r.get<std::uint32_t>("the tensor count");
  for (std::uint32_t i = 0; i < tensor_count; ++i) {
    std::string name = r.get_string("a tensor name");
    if (tensors.count(name)) r.fail(fmt::format("tensor '{}' appears twice", name));
    tensors[name] = r.get_tensor<T>(name);
  }
  OptimizerState<T> state;
  state.optimizer = saved_optimizer;
  const auto scalar_count = r.get<std::uint32_t>("the scalar count");
  for (std::uint32_t i = 0; i < scalar_count; ++i) {
    const std::string name = r.get_string("a scalar name");
    if (name.rfind("optim/", 0) != 0) r.fail(fmt::format("scalar '{}' is not an optimizer's", name));
    for (const auto& [seen, value] : state.scalars)
      if (seen == name.substr(6)) r.fail(fmt::format("scalar '{}' appears twice", name));
    const double value = r.get<double>("a scalar");
    if (!std::isfinite(value)) r.fail(fmt::format("scalar '{}' is {}", name, value));
    state.scalars.emplace_back(name.substr(6), value);
  }
  if (r.position() != r.end()) r.fail("bytes left over after the last section");

  // Validate everything against the model before changing anything.
  const auto mismatch = [&](const std::string& what) {
    return DataError(fmt::format("{}: checkpoint does not fit this model: {}\nsaved model:\n{}this model:\n{}", path,
                                 what, saved_model, model_description));
  };
  const auto find = [&](const std::string& name, const Shape& shape) -> const Tensor<T>& {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw mismatch(fmt::format("no '{}'", name));
    if (it->second.shape() != shape)
      throw mismatch(fmt::format("'{}' has shape {} in the file, {} in the model", name, it->second.shape().str(),
                                 shape.str()));
    return it->second;
  };
  const auto params = model.named_parameters();
  const auto buffers = model.buffers();
  std::size_t expected = params.size() + buffers.size();
  for (const auto& [name, p] : params) find("param/" + name, p->value.shape());
  for (const Buffer<T>& b : buffers) find("buffer/" + b.name, b.tensor->shape());
  if (optimizer) {
    if (saved_optimizer.empty()) throw DataError(fmt::format("{}: the checkpoint holds no optimizer state", path));
    for (const auto& [name, t] : tensors)
      if (name.rfind("optim/", 0) == 0) state.tensors.emplace_back(name.substr(6), t);
    // order as the optimizer lists them, under its own names; load_state checks names and shapes
    const OptimizerState<T> current = optimizer->state();
    const std::vector<std::string> names = optimizer_parameter_names(path, params, *optimizer);
    std::map<std::string, Tensor<T>> by_name(state.tensors.begin(), state.tensors.end());
    state.tensors.clear();
    for (const auto& [name, t] : current.tensors) {
      const auto it = by_name.find(named_slot(name, names));
      if (it == by_name.end()) throw mismatch(fmt::format("no optimizer state 'optim/{}'", named_slot(name, names)));
      state.tensors.emplace_back(name, it->second);
    }
    expected += current.tensors.size();
    if (tensors.size() != expected) throw mismatch(fmt::format("{} tensors in the file, {} expected", tensors.size(), expected));
    try {
      optimizer->load_state(state);
    } catch (const ValueError& e) {
      throw mismatch(e.what());
    }
  }
  for (const auto& [name, p] : params) p->value = tensors["param/" + name];
  for (const Buffer<T>& b : buffers) *b.tensor = tensors["buffer/" + b.name];
}

template void save_checkpoint(const std::string&, Module<float>&, const Optimizer<float>*, const std::string&);
template void save_checkpoint(const std::string&, Module<double>&, const Optimizer<double>*, const std::string&);
template void load_checkpoint(const std::string&, Module<float>&, Optimizer<float>*);
template void load_checkpoint(const std::string&, Module<double>&, Optimizer<double>*);
template void load_checkpoint(const Checkpoint&, Module<float>&, Optimizer<float>*);
template void load_checkpoint(const Checkpoint&, Module<double>&, Optimizer<double>*);

}  // namespace tapegrad
