// One registration function per subcommand. Each parses its flags into a job struct and calls
// the library; the library never sees argv.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "posefer/core/config.h"
#include "posefer/report/plot.h"

namespace posefer {
struct TrainJob;  // pipeline.h
}

namespace posefer::cli {

// Returns the action to run when the subcommand was chosen.
using Action = std::function<int()>;

// `args`: the process's command line after argv[0] (train --nproc W re-runs it in W workers).
Action add_train(CLI::App& app, std::vector<std::string> args);
Action add_evaluate(CLI::App& app);
Action add_synthesize(CLI::App& app);
Action add_detect(CLI::App& app);
Action add_align(CLI::App& app);
Action add_peer(CLI::App& app);
Action add_headpose(CLI::App& app);
Action add_make_faces(CLI::App& app);
Action add_demo(CLI::App& app);
Action add_augment(CLI::App& app);
Action add_experiment(CLI::App& app, std::vector<std::string> args);
Action add_classify(CLI::App& app);
Action add_serve(CLI::App& app);
Action add_status(CLI::App& app);

// Flags of `train` that do not map onto a config field directly.
struct RunFlags {
  bool no_pose_head = false;
  bool no_progress = false;
};
// The data-preparation, model, loss, schedule and runtime flags of a training run (everything of
// `train` but --data, --fold, --split-seed, --out, --resume, --no-eval), defined once and shared
// by `train` and `experiment`. apply_run_flags copies RunFlags into the job after parsing.
void add_run_options(CLI::App* cmd, TrainJob& job, RunFlags& flags);
// --preset NAME on `cmd`: when `args` (the whole command line) names a preset, its values are set
// in `c` before the other flags are defined, so flags given too override it and --help shows the
// preset's values. Returns the option's storage, which the caller keeps alive as long as `cmd`.
std::shared_ptr<std::string> add_preset_option(CLI::App* cmd, const std::vector<std::string>& args, TrainConfig& c);
void apply_run_flags(const RunFlags& flags, TrainJob& job);

// Default folder of `--align auto`: $XDG_CACHE_HOME/posefer/aligned, else
// $HOME/.cache/posefer/aligned (else .cache/posefer/aligned under the working directory).
std::string default_align_cache_dir();

// Default folder of the files readers make (bu3dfe renders, fer2013csv PNGs):
// $XDG_CACHE_HOME/posefer/data, else $HOME/.cache/posefer/data.
std::string default_data_cache_dir();

// Help text of --data: every kind and its path.
const char* data_spec_help();

// Adds the reader flags (--yaw-bins, --cmu-scale, --multipie-*, --bu3dfe-*, --render-size,
// --rafd-gaze, --data-cache) bound to `data`, with their defaults and range checks; sets
// data.data_cache to default_data_cache_dir().
void add_reader_flags(CLI::App* cmd, DataConfig& data);

// --plot and --gnuplot: who draws report charts (plot.h).
void add_plot_flags(CLI::App* cmd, PlotConfig& plot);

// True once SIGINT/SIGTERM arrived (installed by main).
bool stop_requested();

}  // namespace posefer::cli
