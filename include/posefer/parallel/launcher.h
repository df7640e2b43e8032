// The launcher of a data-parallel run (`posefer train --nproc W`): holds the rendezvous store,
// starts W worker processes and watches them until all have exited.
//
// Several machines (torchrun's conventions: --nnodes N, --node-rank R, --master-addr A,
// --master-port P): one launcher per machine, each starting its W local workers as global ranks
// R*W .. R*W+W-1 of N*W; node 0's launcher also holds the store (on all interfaces, port P), and
// every worker meets at A:P.
//
// Workers are started with fork + exec, each in its own process group (a terminal's Ctrl-C
// reaches the launcher only, which forwards one SIGTERM to every worker so they stop together
// after the same step and rank 0 checkpoints) and with PR_SET_PDEATHSIG = SIGKILL (a launcher
// that dies takes its workers with it). POSIX (Linux) only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "posefer/parallel/distributed.h"

namespace posefer {

// The exit status of a run stopped by a signal after writing its checkpoint (128 + SIGINT).
constexpr int kInterruptedExitStatus = 130;

struct LaunchOptions {
  std::string exe;                 // program every worker runs (e.g. /proc/self/exe)
  // Arguments after argv[0] of worker `rank`, given the rendezvous store's port.
  std::function<std::vector<std::string>(int rank, int port)> args;
  int world_size = 1;              // workers on this machine, in [1, kMaxWorldSize]
  int port = 0;                    // rendezvous port (0 = a free port; fixed with several nodes)
  int nodes = 1;                   // machines, each running one launcher (nodes * world_size <= kMaxWorldSize)
  int node_rank = 0;               // this machine, in [0, nodes): its workers' ranks start at node_rank * world_size
  // Arguments get global ranks; `args(rank, port)` is called with rank in this node's range.
  double timeout_s = kDefaultDistTimeoutS;  // the store's timeout
  std::function<bool()> should_stop;  // polled; true = SIGTERM to every worker (once)
  double poll_s = 0.02;            // how often the workers' states are polled
};

// Starts the store and the workers and waits for all of them. Returns 0 when every worker
// exited with 0, kInterruptedExitStatus when some exited with it (stopped and checkpointed) and
// the others with 0 or it. As soon as a worker exits otherwise (another status, or killed by a
// signal), kills the remaining workers (SIGKILL), reaps them and throws Error with one line:
// "worker R exited with status S (stopped the other workers)" or "worker R was killed by signal
// N (NAME) (...)"; when several failed in the same poll, a killed one, else the lowest rank, is
// named. Throws ConfigError for a bad world size, Error when the store or a fork fails.
int launch_workers(const LaunchOptions& options);

}  // namespace posefer
