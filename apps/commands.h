// One registration function per subcommand. Each parses its flags into a job struct and calls
// the library; the library never sees argv.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

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

// Default folder of `--align auto`: $XDG_CACHE_HOME/posefer/aligned, else
// $HOME/.cache/posefer/aligned (else .cache/posefer/aligned under the working directory).
std::string default_align_cache_dir();

// True once SIGINT/SIGTERM arrived (installed by main).
bool stop_requested();

}  // namespace posefer::cli
