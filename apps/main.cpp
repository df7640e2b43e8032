// posefer: pose-invariant facial expression recognition (Zhang et al., CVPR 2018).
// Entry point: subcommand dispatch, logging level, one-line errors, signal handling.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "commands.h"
#include "posefer/core/blas_tuning.h"
#include "posefer/core/check.h"
#include "posefer/core/malloc_tuning.h"

namespace {
// Signal state, the only globals: handlers can reach nothing else. Set before the handlers are
// installed, read-only after.
volatile std::sig_atomic_t g_stop = 0;
// The running command polls g_stop (stops cleanly, keeps its work, exits 130); the others
// (evaluate, peer, augment, ...) end at once on the first Ctrl-C with g_interrupt_note.
bool g_polls_stop = false;
const char* g_interrupt_note = "";

extern "C" void on_signal(int sig) {
  if (!g_polls_stop) {  // a command that does not poll: say so and end now (async-signal-safe)
    const char head[] = "\nposefer: interrupted: ";
    (void)!::write(STDERR_FILENO, head, sizeof(head) - 1);
    (void)!::write(STDERR_FILENO, g_interrupt_note, std::strlen(g_interrupt_note));
    ::_exit(130);
  }
  if (g_stop) {  // second signal: give up immediately, saying so (async-signal-safe)
    const char note[] = "\nposefer: interrupted again: stopping now, without finishing the current step\n";
    (void)!::write(STDERR_FILENO, note, sizeof(note) - 1);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_stop = 1;
}
// OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so when it fell back to pre-AVX2 kernels
// on this CPU (blas_tuning.h) the process re-runs itself once with the variable set.
// POSEFER_BLAS_REEXEC=0 (or any OPENBLAS_CORETYPE) turns this off.
void reexec_with_fast_blas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("POSEFER_BLAS_REEXEC") != nullptr) return;
  const std::string core = posefer::recommended_openblas_core();
  if (core.empty()) return;
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::setenv("POSEFER_BLAS_REEXEC", "1", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed: go on with the kernels already loaded.
}
}  // namespace

namespace posefer::cli {
bool stop_requested() { return g_stop != 0; }

namespace {
// $XDG_CACHE_HOME/posefer, else $HOME/.cache/posefer (else .cache/posefer).
std::string cache_base_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string base = xdg && *xdg ? xdg : home && *home ? std::string(home) + "/.cache" : ".cache";
  return base + "/posefer";
}
}  // namespace

std::string default_align_cache_dir() { return cache_base_dir() + "/aligned"; }
std::string default_data_cache_dir() { return cache_base_dir() + "/data"; }
}  // namespace posefer::cli

int main(int argc, char** argv) {
  reexec_with_fast_blas(argv);
  // Before any tensor exists: glibc's defaults make every step fault its memory in again.
  const std::string malloc_note = posefer::apply_malloc_tuning();
  CLI::App app{"posefer: joint pose and expression modelling for facial expression recognition"};
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log level: debug, info, warn, error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  auto train = posefer::cli::add_train(app, std::vector<std::string>(argv + 1, argv + argc));
  auto evaluate = posefer::cli::add_evaluate(app);
  auto synthesize = posefer::cli::add_synthesize(app);
  auto detect = posefer::cli::add_detect(app);
  auto align = posefer::cli::add_align(app);
  auto peer = posefer::cli::add_peer(app);
  auto headpose = posefer::cli::add_headpose(app);
  auto make_faces = posefer::cli::add_make_faces(app);
  auto demo = posefer::cli::add_demo(app);
  auto augment = posefer::cli::add_augment(app);
  auto experiment = posefer::cli::add_experiment(app, std::vector<std::string>(argv + 1, argv + argc));
  auto classify = posefer::cli::add_classify(app);
  auto serve = posefer::cli::add_serve(app);
  auto status = posefer::cli::add_status(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "posefer: " << e.what() << " (see posefer --help)\n";
    return 2;
  }
  auto logger = spdlog::stderr_color_mt("posefer");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S %^%l%$] %v");
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::debug("OpenBLAS kernels: {}", posefer::openblas_core());
  if (!malloc_note.empty()) spdlog::debug("{}", malloc_note);
  // train, demo, experiment, classify, make-faces, align and serve poll the stop flag (docs/runs.md); the rest
  // write each file atomically, so ending them at once loses no finished file and leaves none half
  // written.
  g_polls_stop = app.got_subcommand("train") || app.got_subcommand("demo") || app.got_subcommand("experiment") ||
                 app.got_subcommand("classify") || app.got_subcommand("make-faces") ||
                 app.got_subcommand("align") || app.got_subcommand("serve");
  g_interrupt_note = "stopped at once; every file it finished is kept whole (files are written atomically). "
                     "Run the command again to redo it.\n";
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    if (app.got_subcommand("train")) return train();
    if (app.got_subcommand("evaluate")) return evaluate();
    if (app.got_subcommand("synthesize")) return synthesize();
    if (app.got_subcommand("detect")) return detect();
    if (app.got_subcommand("align")) return align();
    if (app.got_subcommand("peer")) return peer();
    if (app.got_subcommand("headpose")) return headpose();
    if (app.got_subcommand("make-faces")) return make_faces();
    if (app.got_subcommand("demo")) return demo();
    if (app.got_subcommand("augment")) return augment();
    if (app.got_subcommand("experiment")) return experiment();
    if (app.got_subcommand("classify")) return classify();
    if (app.got_subcommand("serve")) return serve();
    if (app.got_subcommand("status")) return status();
  } catch (const std::exception& e) {
    std::cerr << "posefer: error: " << posefer::first_line_of(e.what()) << "\n";
    return 1;
  }
  return 0;
}
