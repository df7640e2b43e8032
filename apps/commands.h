// One registration function per subcommand. Each parses its flags into a job struct and calls
// the library; the library never sees argv.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

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

// True once SIGINT/SIGTERM arrived (installed by main).
bool stop_requested();

}  // namespace posefer::cli
