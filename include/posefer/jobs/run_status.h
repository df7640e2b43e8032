// Where long training runs stand (`posefer status`): read from what a run folder already holds,
// without touching it, so it is safe beside a running `train` and on runs started with
// --no-progress in the background. Per run: training (a process holds RUN/.lock), stopped
// (epochs left, nobody training: `train --resume RUN` continues it), finished, or not started;
// epochs done of the configured total and steps into the current epoch (log.csv), the best and
// the last validation accuracy (epochs.csv), the recent pace (median seconds of the last 5
// epochs) and the time the epochs left need at that pace, and how old checkpoint.pt and the last
// logged step are (a training run whose last step is old is stuck or paused).
// Torch-free: it reads config.json, epochs.csv, the tail of log.csv and file times.
#pragma once

#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace posefer {

enum class RunState { NotStarted, Training, Stopped, Finished };

// "not started", "training", "stopped", "finished".
std::string to_string(RunState s);

struct RunStatus {
  std::string dir;                         // the run folder, as found
  RunState state = RunState::NotStarted;
  int pid = 0;                             // training: the process holding the lock (0 if unknown)
  int epochs_done = 0;                     // rows of epochs.csv
  int epochs_total = 0;                    // config.json's "epochs" (0: unknown)
  int steps_into_epoch = 0;                // steps logged past the last finished epoch
  int steps_per_epoch = 0;                 // the largest "steps" of a finished epoch (0: none yet)
  double epoch_seconds = 0;                // median "seconds" of the last 5 epochs (0: none yet)
  std::optional<double> best_val;          // best validation accuracy in [0, 1], if validated (val_acc -1: not)
  int best_epoch = 0;                      // the epoch of best_val (1-based)
  std::optional<double> last_val;          // the last epoch's validation accuracy
  double seconds_left = -1;                // time the epochs left need at the recent pace (-1: unknown or none left)
  double checkpoint_age = -1;              // seconds since checkpoint.pt was written (-1: none)
  double last_step_age = -1;               // seconds since log.csv was written (-1: none)
  bool evaluated = false;                  // eval/eval.json or eval.json exists (test part scored)
  std::string note;                        // what could not be read, or a stopped run without checkpoint.pt
};

// The status of the run in `dir` at time `now` (seconds since the epoch). Never throws for a
// damaged run: what cannot be read is said in `note`. Throws InputError when `dir` holds no
// config.json (it is not a run folder).
RunStatus read_run_status(const std::string& dir, std::time_t now);

// The run folders at or under `path` (a folder holding config.json is a run; its own subfolders
// are not searched), sorted, looking at most `max_depth` levels down. Throws InputError naming
// `path` when it does not exist or holds no run.
std::vector<std::string> find_runs(const std::string& path, int max_depth = 4);

// A Markdown table, one row per run, for people (durations as "45 s", "12 min", "3.4 h").
std::string format_status_table(const std::vector<RunStatus>& runs);

// The same as JSON (an array of objects; accuracies in [0, 1], times in seconds, null if unknown).
nlohmann::json to_json(const std::vector<RunStatus>& runs);

// "45 s", "12 min", "3.4 h", "2.1 d"; "-" for a negative value.
std::string format_duration(double seconds);

}  // namespace posefer
