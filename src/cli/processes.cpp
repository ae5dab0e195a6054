#include "cli/processes.hpp"

#include <cstdio>
#include <cstdlib>

#include "tapegrad/core/error.hpp"
#ifdef TAPEGRAD_WITH_MPI
#include "tapegrad/distributed/mpi.hpp"
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

#ifdef TAPEGRAD_WITH_MPI
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
void Processes::abort(int exit_code) { std::exit(exit_code); }
#endif

}  // namespace cli
