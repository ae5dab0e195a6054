#include "cli/processes.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#ifdef TAPEGRAD_WITH_MPI
#include "tapegrad/distributed/mpi.hpp"
#else
namespace tapegrad {
class MpiCollective {};  // built without MPI: never made, but Processes' members must be complete types
}  // namespace tapegrad
#endif

namespace cli {

Processes::Processes([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#ifdef TAPEGRAD_WITH_MPI
  if (!tapegrad::MpiCollective::launched_by_mpirun()) return;
  mpi_ = std::make_unique<tapegrad::MpiCollective>(argc, argv);
  if (mpi_->rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    std::fprintf(stderr, "tapegrad: process %zu: cannot silence its standard output\n", mpi_->rank());
#endif
}

Processes::~Processes() = default;

bool Processes::built_with_mpi() {
#ifdef TAPEGRAD_WITH_MPI
  return true;
#else
  return false;
#endif
}

namespace {
using Settings = std::vector<std::pair<std::string, std::string>>;
std::string packed(const Settings& settings) {
  std::string bytes;
  for (const auto& [name, value] : settings) bytes += name + '\0' + value + '\0';
  return bytes;
}
Settings unpacked(const std::string& bytes) {
  Settings settings;
  std::vector<std::string> fields{""};
  for (char c : bytes) {
    if (c == '\0') fields.emplace_back();
    else fields.back().push_back(c);
  }
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) settings.emplace_back(fields[i], fields[i + 1]);
  return settings;
}
// The first difference between this process's settings and process 0's, as a sentence.
std::string difference(const Settings& root, const Settings& other) {
  const auto shown = [](const std::string& value) { return value.empty() ? std::string("(not given)") : value; };
  for (std::size_t i = 0; i < std::max(root.size(), other.size()); ++i) {
    if (i < root.size() && i < other.size() && root[i] == other[i]) continue;
    const std::string name = i < root.size() ? root[i].first : other[i].first;
    return fmt::format("the processes disagree: {} is {} here and {} on process 0; every process of an MPI job "
                       "needs the same settings and data, so none was run",
                       name, i < other.size() ? shown(other[i].second) : "(missing)",
                       i < root.size() ? shown(root[i].second) : "(missing)");
  }
  return "";
}
}  // namespace

#ifdef TAPEGRAD_WITH_MPI
void Processes::agree(const Settings& settings) {
  if (!mpi_ || size() < 2) return;
  const std::string mine = packed(settings), root_settings = mpi_->broadcast_bytes(mine);
  all_or_none([&] {  // the lowest process that differs is named
    if (mine != root_settings) throw tapegrad::ValueError(difference(unpacked(root_settings), settings));
  });
}
std::size_t Processes::rank() const { return mpi_ ? mpi_->rank() : 0; }
std::size_t Processes::size() const { return mpi_ ? mpi_->size() : 1; }
std::size_t Processes::local_size() const { return mpi_ ? mpi_->local_size() : 1; }
tapegrad::Collective* Processes::collective() { return mpi_.get(); }
std::vector<std::string> Processes::gather(const std::string& bytes) {
  return mpi_ ? mpi_->gather(bytes) : std::vector<std::string>{bytes};
}
void Processes::all_or_none(const std::function<void()>& part) {
  if (!mpi_) return part();
  std::string error;
  try {
    part();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  const std::string first = mpi_->first_failure(error);
  if (first.empty()) return;
  failure_is_shared_ = true;
  throw tapegrad::CommunicationError(first);
}
void Processes::abort(int exit_code) {
  if (mpi_) mpi_->abort(exit_code);
  std::exit(exit_code);
}
#else
std::size_t Processes::rank() const { return 0; }
std::size_t Processes::size() const { return 1; }
std::size_t Processes::local_size() const { return 1; }
tapegrad::Collective* Processes::collective() { return nullptr; }
std::vector<std::string> Processes::gather(const std::string& bytes) { return {bytes}; }
void Processes::all_or_none(const std::function<void()>& part) { part(); }
void Processes::agree(const Settings&) {}
void Processes::abort(int exit_code) { std::exit(exit_code); }
#endif

}  // namespace cli
