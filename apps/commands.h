// One registration function per subcommand. Each parses its flags into a job struct and calls
// the library; the library never sees argv.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "posefer/config.h"

namespace posefer::cli {

// Returns the action to run when the subcommand was chosen.
using Action = std::function<int()>;

Action add_train(CLI::App& app);
Action add_evaluate(CLI::App& app);
Action add_synthesize(CLI::App& app);
Action add_detect(CLI::App& app);
Action add_align(CLI::App& app);
Action add_peer(CLI::App& app);
Action add_headpose(CLI::App& app);
Action add_make_faces(CLI::App& app);
Action add_demo(CLI::App& app);

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

// True once SIGINT/SIGTERM arrived (installed by main).
bool stop_requested();

}  // namespace posefer::cli
