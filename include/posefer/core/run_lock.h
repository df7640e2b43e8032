// One process per run folder: an advisory lock (flock) on RUN/.lock held while a job trains into
// the folder, so a second `train --resume RUN` (or a second `train --out RUN`) fails at once with a
// clear error instead of interleaving both runs' log rows. The lock goes with the process (a kill
// releases it); the file holds the owner's pid for the message.
#pragma once

#include <string>

namespace posefer {

class RunLock {
 public:
  // Takes the lock of `run_dir` (created if missing; a folder it created and that holds nothing
  // but the lock file when the lock is released is removed again). Throws ConfigError naming the folder and
  // the pid holding it when another process has it; Error when the lock file cannot be opened.
  explicit RunLock(const std::string& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
  bool created_dir_ = false;  // this lock made run_dir
  std::string run_dir_;
};

}  // namespace posefer
