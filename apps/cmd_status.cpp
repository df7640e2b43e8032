// posefer status: where training runs stand (state, epochs, validation, pace, time left),
// read from their folders without touching them.
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "posefer/jobs/run_status.h"

namespace posefer::cli {

Action add_status(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "Show where training runs stand: state, epochs, validation, pace, time left");
  struct Opts {
    std::vector<std::string> paths;
    int depth = 4;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("paths", o->paths, "Run folders, or folders searched for runs (a folder holding config.json)")
      ->required();
  cmd->add_option("--depth", o->depth, "How many levels below each path to look for runs")->check(CLI::Range(0, 16));
  cmd->add_flag("--json", o->json, "Write JSON (an array, one object per run) instead of a table");
  return [=]() {
    const std::time_t now = std::time(nullptr);
    std::vector<RunStatus> runs;
    for (const auto& p : o->paths) {
      for (const auto& dir : find_runs(p, o->depth)) runs.push_back(read_run_status(dir, now));
    }
    if (o->json) {
      std::cout << to_json(runs).dump(1) << "\n";
    } else {
      std::cout << format_status_table(runs);
    }
    return 0;
  };
}

}  // namespace posefer::cli
