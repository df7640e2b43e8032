#include "posefer/parallel/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef POSEFER_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <signal.h>

#include <chrono>
#include <map>
#include <string>

#include "posefer/core/check.h"

// LibTorch 1.13 and 2.x differ here only in the process groups' base class (ProcessGroup vs
// Backend), which the calls below do not name (each group is held by its own type);
// TCPStoreOptions gained fields in 2.x, set by name.

namespace posefer {

namespace {

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// Gloo writes to its peers' sockets with plain writev(); once a peer has exited, that write
// raises SIGPIPE, whose default action kills this rank silently (exit 141) before Gloo can
// report the closed connection. Ignoring it turns the write into EPIPE, which Gloo raises as
// an error naming the peer. A handler the program installed itself is left alone.
void ignore_sigpipe_unless_handled() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) != 0) return;
  if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) return;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

}  // namespace

void DistOptions::validate() const {
  POSEFER_CHECK_CONFIG(world_size >= 1 && world_size <= kMaxWorldSize, "world size must be in [1, ",
                       kMaxWorldSize, "], got ", world_size);
  POSEFER_CHECK_CONFIG(rank >= 0 && rank < world_size, "rank must be in [0, ", world_size, "), got ", rank);
  POSEFER_CHECK_CONFIG(port >= 1 && port <= 65535, "rendezvous port must be in [1, 65535], got ", port);
  POSEFER_CHECK_CONFIG(timeout_s > 0, "distributed timeout must be > 0 s, got ", timeout_s);
  POSEFER_CHECK_CONFIG(!host.empty(), "rendezvous host is empty");
  POSEFER_CHECK_CONFIG(backend == "gloo" || (backend == "nccl" && nccl_available()),
                       "distributed backend must be gloo", nccl_available() ? " or nccl" : "",
                       ", got '", backend, "'");
  POSEFER_CHECK_CONFIG(local_rank >= 0 && local_rank <= rank, "local rank must be in [0, ", rank,
                       "], got ", local_rank);
}

bool nccl_available() {
#ifdef POSEFER_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::string resolve_dist_backend(const std::string& requested, bool cuda_device) {
  POSEFER_CHECK_CONFIG(requested == "auto" || requested == "gloo" || requested == "nccl",
                       "--dist-backend must be auto, gloo or nccl, got '", requested, "'");
  if (requested == "auto") return cuda_device && nccl_available() ? "nccl" : "gloo";
  if (requested == "nccl") {
    POSEFER_CHECK_CONFIG(nccl_available(), "--dist-backend nccl: this build has no NCCL (it needs a CUDA "
                         "LibTorch with NCCL and -DPOSEFER_WITH_NCCL=ON); use --dist-backend gloo");
    POSEFER_CHECK_CONFIG(cuda_device, "--dist-backend nccl needs --device cuda (NCCL reduces GPU tensors)");
  }
  return requested;
}

struct RendezvousServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

RendezvousServer::RendezvousServer(int port, double timeout_s, const std::string& host)
    : impl_(std::make_unique<Impl>()) {
  POSEFER_CHECK_CONFIG(port >= 0 && port <= 65535, "rendezvous port must be in [0, 65535], got ", port);
  with_context("starting the rendezvous store on " + host + ":" + std::to_string(port), [&] {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = true;
    opts.waitWorkers = false;  // the launcher is not a rank
    opts.timeout = to_ms(timeout_s);
    impl_->store = c10::make_intrusive<c10d::TCPStore>(host, opts);
  });
}

RendezvousServer::~RendezvousServer() = default;

int RendezvousServer::port() const { return impl_->store->getPort(); }

struct DistContext::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef POSEFER_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device buffers{torch::kCPU};  // where collective buffers live (the GPU for NCCL)

  // f(group) on whichever group this rank built (both types have the same collective calls).
  template <class F>
  void run(F&& f) {
#ifdef POSEFER_WITH_NCCL
    if (nccl) {
      f(*nccl);
      return;
    }
#endif
    f(*gloo);
  }
};

DistContext::DistContext(DistOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

DistContext::~DistContext() = default;

std::shared_ptr<DistContext> DistContext::connect(const DistOptions& options) {
  options.validate();
  ignore_sigpipe_unless_handled();
  std::shared_ptr<DistContext> ctx(new DistContext(options));
  const std::string where = "rank " + std::to_string(options.rank) + " of " +
                            std::to_string(options.world_size) + " joining " + options.host + ":" +
                            std::to_string(options.port);
  with_context(where, [&] {
    c10d::TCPStoreOptions sopts;
    sopts.port = static_cast<std::uint16_t>(options.port);
    sopts.isServer = false;
    sopts.waitWorkers = false;
    sopts.timeout = to_ms(options.timeout_s);
    ctx->impl_->store = c10::make_intrusive<c10d::TCPStore>(options.host, sopts);
#ifdef POSEFER_WITH_NCCL
    if (options.backend == "nccl") {
      ctx->impl_->buffers = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(options.local_rank));
      auto nopts = c10d::ProcessGroupNCCL::Options::create();
      nopts->timeout = to_ms(options.timeout_s);
      ctx->impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(ctx->impl_->store, options.rank,
                                                                     options.world_size, nopts);
      return;
    }
#endif
    auto gopts = c10d::ProcessGroupGloo::Options::create(to_ms(options.timeout_s));
    gopts->devices.push_back(options.gloo_host.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                       : c10d::ProcessGroupGloo::createDeviceForHostname(options.gloo_host));
    ctx->impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
        ctx->impl_->store, options.rank, options.world_size, gopts);
  });
  return ctx;
}

void DistContext::all_reduce_sum(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    POSEFER_CHECK_SHAPE(t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble,
                        "all_reduce_sum: float32/float64 tensors only, got ", t.scalar_type());
    POSEFER_CHECK_SHAPE(flat.empty() || t.scalar_type() == flat.front().scalar_type(),
                        "all_reduce_sum: tensors of one dtype only, got ", flat.front().scalar_type(),
                        " and ", t.scalar_type());
    flat.push_back(t.detach().reshape({-1}).to(impl_->buffers));
  }
  if (flat.empty()) return;
  std::vector<at::Tensor> buf{torch::cat(flat)};
  with_context("all-reduce (rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ")",
               [&] { impl_->run([&](auto& g) { g.allreduce(buf)->wait(); }); });
  int64_t offset = 0;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    const int64_t n = t.numel();
    t.copy_(buf[0].narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

void DistContext::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  POSEFER_CHECK_CONFIG(root >= 0 && root < world_size(), "broadcast root ", root, " out of [0, ",
                       world_size(), ")");
  // One buffer per dtype (parameters are float, BN's num_batches_tracked is int64), in a fixed
  // order so every rank packs the same layout.
  std::map<int, std::vector<torch::Tensor>> by_dtype;
  for (const auto& t : tensors) {
    if (t.defined()) by_dtype[static_cast<int>(t.scalar_type())].push_back(t);
  }
  torch::NoGradGuard no_grad;
  for (auto& [dtype, group] : by_dtype) {
    std::vector<torch::Tensor> flat;
    for (const auto& t : group) flat.push_back(t.detach().reshape({-1}).to(impl_->buffers));
    std::vector<at::Tensor> buf{torch::cat(flat)};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    with_context("broadcast from rank " + std::to_string(root) + " (rank " + std::to_string(rank()) + ")",
                 [&] { impl_->run([&](auto& g) { g.broadcast(buf, opts)->wait(); }); });
    int64_t offset = 0;
    for (const auto& t : group) {
      const int64_t n = t.numel();
      t.copy_(buf[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

void DistContext::barrier() {
  with_context("barrier (rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ")",
               [&] { impl_->run([&](auto& g) { g.barrier()->wait(); }); });
}

Shard shard_of(int64_t count, int rank, int world_size) {
  POSEFER_CHECK_CONFIG(world_size >= 1 && rank >= 0 && rank < world_size, "shard_of: rank ", rank,
                       " of world size ", world_size);
  POSEFER_CHECK_CONFIG(count >= 0, "shard_of: negative count ", count);
  const int64_t begin = count * rank / world_size;
  const int64_t end = count * (rank + 1) / world_size;
  return {begin, end - begin};
}

void check_data_parallel(int batch_size, int world_size) {
  POSEFER_CHECK_CONFIG(world_size >= 1 && world_size <= kMaxWorldSize, "--nproc must be in [1, ",
                       kMaxWorldSize, "], got ", world_size);
  POSEFER_CHECK_CONFIG(batch_size % world_size == 0, "--batch ", batch_size,
                       " is not divisible by --nproc ", world_size,
                       ": each process takes batch / nproc images of every global batch");
}

}  // namespace posefer
