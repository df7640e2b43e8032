// Data-parallel training across processes: a c10d TCPStore rendezvous and a process group
// (LibTorch's torch.distributed engine): Gloo (CPU buffers; CUDA tensors are copied), or NCCL
// (buffers on this rank's GPU) in builds against a CUDA LibTorch with NCCL (-DPOSEFER_WITH_NCCL=ON).
//
// Roles: the launcher (launcher.h) holds the RendezvousServer; each worker process connects
// with its rank and the world size (DistContext::connect) and passes the DistContext to the
// Trainer, which shards every global batch, synchronises batch norm (sync_batch_norm.h) and
// all-reduces gradients. Nothing here is global: a process may hold several contexts.
//
// Every collective below must be called by all ranks in the same order. Each one (and the
// rendezvous itself) gives up after DistOptions::timeout_s and throws posefer::Error, so a dead
// peer never leaves the others hanging; a peer that exits makes them fail at once (connection
// closed) in practice.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace posefer {

constexpr int kMaxWorldSize = 64;            // --nproc range
constexpr double kDefaultDistTimeoutS = 1800;  // rendezvous and collectives

struct DistOptions {
  int rank = 0;                     // this process, in [0, world_size)
  int world_size = 1;               // processes in the group
  std::string host = "127.0.0.1";   // the rendezvous store's address (node 0's launcher)
  // The address this process's Gloo device binds and the other ranks reach it at: 127.0.0.1 on
  // one machine; across machines this machine's address ("" = the one its hostname resolves to).
  std::string gloo_host = "127.0.0.1";
  int port = 0;                     // the rendezvous store's port (RendezvousServer::port())
  double timeout_s = kDefaultDistTimeoutS;  // rendezvous and every collective
  std::string backend = "gloo";     // gloo | nccl (nccl_available() builds only)
  int local_rank = 0;               // this rank on its machine: nccl uses GPU cuda:local_rank
  void validate() const;            // ConfigError naming the field
};

// Whether this build has the NCCL backend (a CUDA LibTorch with NCCL, -DPOSEFER_WITH_NCCL=ON).
bool nccl_available();
// The backend for `requested` (auto | gloo | nccl) when training on `cuda_device` or the CPU:
// auto = nccl on a CUDA device in a build that has it, else gloo. Throws ConfigError naming
// --dist-backend for an unknown name, nccl without NCCL in this build or nccl on the CPU.
std::string resolve_dist_backend(const std::string& requested, bool cuda_device);

// The TCPStore server every worker meets at. Binds host:port (port 0 = a free port chosen by
// the kernel, read back with port()). Throws Error when the port cannot be bound.
class RendezvousServer {
 public:
  explicit RendezvousServer(int port = 0, double timeout_s = kDefaultDistTimeoutS,
                            const std::string& host = "127.0.0.1");
  ~RendezvousServer();
  RendezvousServer(const RendezvousServer&) = delete;
  RendezvousServer& operator=(const RendezvousServer&) = delete;
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One rank's membership of a process group (Gloo or NCCL).
class DistContext {
 public:
  // Connects to the store at options.host:port and builds the group: Gloo (device:
  // options.gloo_host) or NCCL (GPU cuda:options.local_rank). Blocks until all world_size ranks have joined; throws Error after timeout_s.
  // Side effect: SIGPIPE is set to ignored for the process unless the program installed its own
  // handler, so a peer that exits makes the next collective throw instead of killing this rank.
  static std::shared_ptr<DistContext> connect(const DistOptions& options);
  ~DistContext();
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  bool is_main() const { return options_.rank == 0; }
  const DistOptions& options() const { return options_; }

  // Sums each tensor over the ranks, in place. The tensors (any shapes; all float32 or all
  // float64) are packed into one buffer: one collective per call. Undefined tensors are skipped
  // (every rank must pass the same layout).
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors);
  // Copies rank `root`'s values into every rank's tensors, in place (one collective per dtype).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

 private:
  struct Impl;
  explicit DistContext(DistOptions options);
  DistOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Rank `rank`'s part of a global batch of `count` rows: rows [begin, begin + size), sizes
// differing by at most one, in rank order (concatenating the shards gives the batch).
struct Shard {
  int64_t begin = 0;
  int64_t size = 0;
};
Shard shard_of(int64_t count, int rank, int world_size);

// The data-parallel constraint on the global batch: batch_size % world_size == 0 (each rank
// gets batch_size / world_size real images per step). Throws ConfigError saying so.
void check_data_parallel(int batch_size, int world_size);

}  // namespace posefer
