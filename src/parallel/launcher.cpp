#include "posefer/parallel/launcher.h"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "posefer/core/check.h"

namespace posefer {

namespace {

struct Worker {
  pid_t pid = -1;
  bool alive = false;
  int status = 0;  // waitpid status once it exited
};

// Kills and reaps the workers still alive (the launcher's way out of any failure).
class WorkerGuard {
 public:
  explicit WorkerGuard(std::vector<Worker>& workers) : workers_(workers) {}
  ~WorkerGuard() { kill_all(); }
  void kill_all() {
    for (auto& w : workers_) {
      if (w.alive) ::kill(w.pid, SIGKILL);
    }
    for (auto& w : workers_) {
      if (!w.alive) continue;
      while (::waitpid(w.pid, &w.status, 0) < 0 && errno == EINTR) {
      }
      w.alive = false;
    }
  }

 private:
  std::vector<Worker>& workers_;
};

std::string describe_exit(int rank, int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "worker " + std::to_string(rank) + " was killed by signal " + std::to_string(sig) + " (" +
           (name ? name : "?") + ")";
  }
  const int code = WEXITSTATUS(status);
  std::string msg = "worker " + std::to_string(rank) + " exited with status " + std::to_string(code);
  if (code == 127) msg += " (could not start the worker program?)";
  return msg;
}

bool is_failure(int status) {
  if (WIFSIGNALED(status)) return true;
  const int code = WEXITSTATUS(status);
  return code != 0 && code != kInterruptedExitStatus;
}

pid_t start_worker(const std::string& exe, const std::vector<std::string>& args) {
  // Everything the child touches is prepared before fork: between fork and exec only
  // async-signal-safe calls (the launcher may hold other threads, e.g. the store's).
  std::vector<std::string> argv_store;
  argv_store.push_back(exe);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  POSEFER_CHECK(pid >= 0, "cannot start a worker process: fork failed: ", std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the launcher died before prctl
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

int launch_workers(const LaunchOptions& o) {
  POSEFER_CHECK_CONFIG(o.world_size >= 1 && o.world_size <= kMaxWorldSize, "--nproc must be in [1, ",
                       kMaxWorldSize, "], got ", o.world_size);
  POSEFER_CHECK_CONFIG(!o.exe.empty() && o.args, "launch_workers: no worker program");
  POSEFER_CHECK_CONFIG(o.nodes >= 1 && o.nodes * o.world_size <= kMaxWorldSize, "--nnodes x --nproc must be in [1, ",
                       kMaxWorldSize, "], got ", o.nodes, " x ", o.world_size);
  POSEFER_CHECK_CONFIG(o.node_rank >= 0 && o.node_rank < o.nodes, "--node-rank must be in [0, ", o.nodes, "), got ",
                       o.node_rank);
  POSEFER_CHECK_CONFIG(o.nodes == 1 || o.port > 0,
                       "--nnodes > 1 needs --master-port: a fixed port every machine's workers can reach");
  // Node 0 holds the store; the other nodes' workers connect to it (and wait for it, up to the
  // timeout, when their launcher started first).
  std::unique_ptr<RendezvousServer> server;
  if (o.node_rank == 0) server = std::make_unique<RendezvousServer>(o.port, o.timeout_s);
  const int port = server ? server->port() : o.port;
  const int first = o.node_rank * o.world_size;
  spdlog::debug("node {} of {}: rendezvous port {}; starting ranks {}..{}", o.node_rank, o.nodes, port, first,
                first + o.world_size - 1);
  std::vector<Worker> workers(static_cast<size_t>(o.world_size));
  WorkerGuard guard(workers);
  for (int r = 0; r < o.world_size; ++r) {
    workers[r].pid = start_worker(o.exe, o.args(first + r, port));
    workers[r].alive = true;
  }
  bool interrupted = false;
  bool forwarded = false;
  const auto poll = std::chrono::duration<double>(o.poll_s);
  for (;;) {
    int failed = -1;
    bool any_alive = false;
    for (int r = 0; r < o.world_size; ++r) {
      auto& w = workers[r];
      if (!w.alive) continue;
      const pid_t got = ::waitpid(w.pid, &w.status, WNOHANG);
      if (got == 0 || (got < 0 && errno == EINTR)) {
        any_alive = true;
        continue;
      }
      w.alive = false;
      if (got < 0) {  // not our child any more (cannot happen unless someone reaped it)
        w.status = 0xff00;
      }
      if (WIFEXITED(w.status) && WEXITSTATUS(w.status) == kInterruptedExitStatus) interrupted = true;
      if (is_failure(w.status)) {
        const bool prefer = failed < 0 || (WIFSIGNALED(w.status) && !WIFSIGNALED(workers[failed].status));
        if (prefer) failed = r;
      }
    }
    if (failed >= 0) {
      guard.kill_all();
      throw Error(describe_exit(first + failed, workers[failed].status) + " (stopped the other workers)");
    }
    if (!any_alive) break;
    if (!forwarded && o.should_stop && o.should_stop()) {
      for (auto& w : workers) {
        if (w.alive) ::kill(w.pid, SIGTERM);
      }
      forwarded = true;
    }
    std::this_thread::sleep_for(poll);
  }
  return interrupted ? kInterruptedExitStatus : 0;
}

}  // namespace posefer
