#include "tapegrad/distributed/mpi.hpp"

#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <mpi.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommunicationError(fmt::format("{} failed: {}", call, std::string(text, std::size_t(length))));
}

int count_of(std::size_t n, const char* call) {
  if (n > std::size_t(std::numeric_limits<int>::max()))
    throw CommunicationError(fmt::format("{}: {} values are more than one MPI call carries", call, n));
  return int(n);
}

template <class T>
MPI_Datatype datatype() {
  return sizeof(T) == sizeof(double) ? MPI_DOUBLE : MPI_FLOAT;
}

template <class T>
void sum_in_place(std::vector<T>& values) {
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size(), "MPI_Allreduce"), datatype<T>(), MPI_SUM,
                      MPI_COMM_WORLD),
        "MPI_Allreduce");
}

template <class T>
void from_root(std::vector<T>& values) {
  check(MPI_Bcast(values.data(), count_of(values.size(), "MPI_Bcast"), datatype<T>(), 0, MPI_COMM_WORLD), "MPI_Bcast");
}

}  // namespace

MpiCollective::MpiCollective(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw CommunicationError("MPI_Init: MPI is initialised already (one MpiCollective per process)");
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw CommunicationError("MPI_Init_thread failed: is this program started by mpirun?");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int r = 0, s = 1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &r), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &s), "MPI_Comm_size");
  rank_ = std::size_t(r);
  size_ = std::size_t(s);
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, r, MPI_INFO_NULL, &local), "MPI_Comm_split_type");
  int l = 1;
  MPI_Comm_size(local, &l);
  MPI_Comm_free(&local);
  local_size_ = std::size_t(l);
}

MpiCollective::~MpiCollective() { MPI_Finalize(); }

void MpiCollective::allreduce_sum(std::vector<float>& values) { sum_in_place(values); }
void MpiCollective::allreduce_sum(std::vector<double>& values) { sum_in_place(values); }
void MpiCollective::broadcast(std::vector<float>& values) { from_root(values); }
void MpiCollective::broadcast(std::vector<double>& values) { from_root(values); }

std::vector<std::string> MpiCollective::gather(const std::string& bytes) {
  const int length = count_of(bytes.size(), "MPI_Gather");
  std::vector<int> lengths(size_), offsets(size_);
  check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::string all;
  if (rank_ == 0) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < size_; ++i) {
      offsets[i] = count_of(total, "MPI_Gatherv");
      total += std::size_t(lengths[i]);
    }
    all.resize(total);
  }
  check(MPI_Gatherv(bytes.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                    MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::string> parts;
  if (rank_ == 0)
    for (std::size_t i = 0; i < size_; ++i) parts.push_back(all.substr(std::size_t(offsets[i]), std::size_t(lengths[i])));
  return parts;
}

std::string MpiCollective::broadcast_bytes(const std::string& bytes) {
  int length = count_of(bytes.size(), "MPI_Bcast");
  check(MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = rank_ == 0 ? bytes : std::string(std::size_t(length), '\0');
  check(MPI_Bcast(out.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

std::string MpiCollective::first_failure(const std::string& my_error) {
  int mine = my_error.empty() ? int(size_) : int(rank_), first = 0;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  if (first == int(size_)) return "";
  std::string message = fmt::format("process {} of {}: {}", first, size_, my_error);
  int length = count_of(message.size(), "MPI_Bcast");
  check(MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD), "MPI_Bcast");
  message.resize(std::size_t(length));
  check(MPI_Bcast(message.data(), length, MPI_CHAR, first, MPI_COMM_WORLD), "MPI_Bcast");
  return message;
}

void MpiCollective::abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; should it, the process still ends
}

bool MpiCollective::launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
}

}  // namespace tapegrad
