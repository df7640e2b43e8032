// posefer status (run_status.h): a run's state, epochs, validation, pace and time left, read from
// hand-written run folders with known values; the lock of a training process; damaged files;
// the search for runs; the table and JSON forms.
#include "posefer/jobs/run_status.h"

#include <gtest/gtest.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "posefer/core/check.h"
#include "posefer/core/run_lock.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// Sets the file's modification time to `now - seconds_ago`.
void age(const fs::path& p, std::time_t now, int seconds_ago) {
  struct timeval t[2] = {{now - seconds_ago, 0}, {now - seconds_ago, 0}};
  ASSERT_EQ(::utimes(p.c_str(), t), 0) << p;
}

const char* kEpochsHeader = "epoch,steps,seconds,img_per_s,c_real,val_acc\n";

// A run of 10 epochs stopped 40 steps into epoch 4: epochs 1-3 took 50, 70 and 60 s, validation
// 50%, 70%, 60%; the checkpoint was written 120 s ago, the last step logged 30 s ago.
fs::path stopped_run(const std::string& name, std::time_t now) {
  const auto dir = test::fresh_dir(name);
  write(dir / "config.json", R"({"epochs": 10, "batch_size": 8})");
  // Epoch 2 was resumed from a mid-epoch checkpoint: its row counts the 78 steps run after it.
  write(dir / "epochs.csv", std::string(kEpochsHeader) +
                                "1,100,50,16,1.2,0.5\n2,78,70,11,0.9,0.7\n3,100,60,13,0.8,0.6\n");
  std::string log = "step,epoch,c_real\n";
  for (int s = 1; s <= 340; ++s) log += std::to_string(s) + "," + std::to_string((s - 1) / 100 + 1) + ",0.5\n";
  write(dir / "log.csv", log);
  write(dir / "checkpoint.pt", "x");
  age(dir / "checkpoint.pt", now, 120);
  age(dir / "log.csv", now, 30);
  return dir;
}

TEST(RunStatus, StoppedRunKnownValues) {
  const std::time_t now = std::time(nullptr);
  const auto dir = stopped_run("r", now);
  const auto s = read_run_status(dir.string(), now);
  EXPECT_EQ(s.state, RunState::Stopped);
  EXPECT_EQ(s.epochs_done, 3);
  EXPECT_EQ(s.epochs_total, 10);
  EXPECT_EQ(s.steps_per_epoch, 100);
  EXPECT_EQ(s.steps_into_epoch, 40);  // global step 340 - 300 of the finished epochs
  EXPECT_DOUBLE_EQ(s.epoch_seconds, 60);  // median of 50, 70, 60
  ASSERT_TRUE(s.best_val.has_value());
  EXPECT_DOUBLE_EQ(*s.best_val, 0.7);
  EXPECT_EQ(s.best_epoch, 2);
  ASSERT_TRUE(s.last_val.has_value());
  EXPECT_DOUBLE_EQ(*s.last_val, 0.6);
  EXPECT_DOUBLE_EQ(s.seconds_left, 60 * (7 - 0.4));  // 6.6 epochs left at 60 s
  EXPECT_DOUBLE_EQ(s.checkpoint_age, 120);
  EXPECT_DOUBLE_EQ(s.last_step_age, 30);
  EXPECT_FALSE(s.evaluated);
  EXPECT_EQ(s.pid, 0);
  EXPECT_EQ(s.note, "");
}

TEST(RunStatus, APaceFromTheLastFiveEpochsAndAPartialLogLine) {
  const std::time_t now = std::time(nullptr);
  const auto dir = test::fresh_dir("r");
  write(dir / "config.json", R"({"epochs": 8})");
  // 7 epochs: the first two slow (a busy machine), the last five 10, 12, 11, 30, 9 s: median 11.
  // val_acc -1: epochs without a validation part.
  write(dir / "epochs.csv", std::string(kEpochsHeader) + "1,5,500,,,-1\n2,5,400,,,-1\n3,5,10,,,\n4,5,12,,,\n"
                                                         "5,5,11,,,\n6,5,30,,,\n7,5,9,,,-1\n");
  // A row still being written (no newline yet) is not read: the last complete row says step 37.
  write(dir / "log.csv", "step,epoch,c_real\n" + std::string(5000, '#') + "\n36,8,0.1\n37,8,0.1\n38,8,0.");
  const auto s = read_run_status(dir.string(), now);
  EXPECT_DOUBLE_EQ(s.epoch_seconds, 11);
  EXPECT_EQ(s.steps_into_epoch, 2);  // 37 - 35
  EXPECT_DOUBLE_EQ(s.seconds_left, 11 * (1 - 2.0 / 5));
  EXPECT_FALSE(s.best_val.has_value());  // never validated
  EXPECT_FALSE(s.last_val.has_value());
  EXPECT_EQ(s.state, RunState::Stopped);
  EXPECT_DOUBLE_EQ(s.checkpoint_age, -1);  // no checkpoint.pt
  EXPECT_EQ(s.note, "no checkpoint.pt: `train --resume` cannot continue it");
}

TEST(RunStatus, ARunWhoseLockIsHeldIsTrainingWithThatPid) {
  const std::time_t now = std::time(nullptr);
  const auto dir = stopped_run("r", now);
  {
    RunLock lock(dir.string());  // what `train` holds while it trains into the folder
    const auto s = read_run_status(dir.string(), now);
    EXPECT_EQ(s.state, RunState::Training);
    EXPECT_EQ(s.pid, static_cast<int>(::getpid()));
    // Reading the status leaves the lock to its owner: a second train is still refused.
    EXPECT_THROW_MSG(RunLock second(dir.string()), ConfigError, "in use by another posefer process");
  }
  const auto s = read_run_status(dir.string(), now);
  EXPECT_EQ(s.state, RunState::Stopped);  // the lock went with its owner (the .lock file stays)
  EXPECT_TRUE(fs::exists(dir / ".lock"));
  EXPECT_EQ(s.pid, 0);
  RunLock after(dir.string());  // and status did not keep it either
}

TEST(RunStatus, FinishedNotStartedAndEvaluated) {
  const std::time_t now = std::time(nullptr);
  const auto done = test::fresh_dir("done");
  write(done / "config.json", R"({"epochs": 2})");
  write(done / "epochs.csv", std::string(kEpochsHeader) + "1,4,3,1,1,0.25\n2,4,5,1,1,0.75\n");
  write(done / "eval" / "eval.json", "{}");  // where `evaluate --checkpoint RUN` writes it
  auto s = read_run_status(done.string(), now);
  EXPECT_EQ(s.state, RunState::Finished);
  EXPECT_TRUE(s.evaluated);
  EXPECT_DOUBLE_EQ(s.seconds_left, -1);  // nothing left
  EXPECT_EQ(s.best_epoch, 2);

  const auto fresh = test::fresh_dir("fresh");
  write(fresh / "config.json", R"({"epochs": 30})");
  s = read_run_status(fresh.string(), now);
  EXPECT_EQ(s.state, RunState::NotStarted);
  EXPECT_EQ(s.epochs_done, 0);
  EXPECT_DOUBLE_EQ(s.seconds_left, -1);  // no pace yet
  EXPECT_DOUBLE_EQ(s.last_step_age, -1);
}

TEST(RunStatus, DamagedFilesAreNamedNotThrown) {
  const std::time_t now = std::time(nullptr);
  const auto dir = test::fresh_dir("r");
  write(dir / "config.json", R"({"batch_size": 8})");
  write(dir / "epochs.csv", std::string(kEpochsHeader) + "1,4,3,1,1,\"0.5\n");
  const auto s = read_run_status(dir.string(), now);
  EXPECT_NE(s.note.find("config.json names no epochs"), std::string::npos) << s.note;
  EXPECT_NE(s.note.find("epochs.csv line 2: unterminated quoted field"), std::string::npos) << s.note;
  EXPECT_EQ(s.epochs_done, 0);

  write(dir / "config.json", "{\"epochs\": ");
  EXPECT_NE(read_run_status(dir.string(), now).note.find("config.json: "), std::string::npos);
  EXPECT_THROW_MSG(read_run_status((dir / "nope").string(), now), InputError, "not a run folder (no config.json)");
}

TEST(RunStatus, FindRunsSearchesFoldersButNotInsideRuns) {
  const auto root = test::fresh_dir("root");
  write(root / "b" / "c" / "config.json", "{}");
  write(root / "a" / "config.json", "{}");
  write(root / "a" / "previous-1" / "config.json", "{}");  // a run's own subfolder
  fs::create_directories(root / "empty");
  const auto runs = find_runs(root.string());
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], (root / "a").string());
  EXPECT_EQ(runs[1], (root / "b" / "c").string());
  EXPECT_EQ(find_runs((root / "a").string()), std::vector<std::string>{(root / "a").string()});
  EXPECT_EQ(find_runs(root.string(), 1).size(), 1u);  // b/c is 2 levels down
  EXPECT_THROW_MSG(find_runs((root / "empty").string()), InputError, "empty: holds no run");
  EXPECT_THROW_MSG(find_runs((root / "missing").string()), InputError, "missing: no such folder");
}

TEST(RunStatus, DurationsTableAndJson) {
  EXPECT_EQ(format_duration(45), "45 s");
  EXPECT_EQ(format_duration(600), "10 min");
  EXPECT_EQ(format_duration(5400), "1.5 h");
  EXPECT_EQ(format_duration(3 * 86400), "3.0 d");
  EXPECT_EQ(format_duration(-1), "-");

  const std::time_t now = std::time(nullptr);
  const auto s = read_run_status(stopped_run("r", now).string(), now);
  const std::string table = format_status_table({s});
  EXPECT_NE(table.find("| run | state | epochs |"), std::string::npos) << table;
  EXPECT_NE(table.find(" | stopped | 3/10 + 40/100 steps | 70.0% (2) | 60.0% | 60 | 7 min | 2 min ago | 30 s ago |"),
            std::string::npos)
      << table;
  const auto j = to_json({s});
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["state"], "stopped");
  EXPECT_EQ(j[0]["epochs_done"], 3);
  EXPECT_DOUBLE_EQ(j[0]["best_val"].get<double>(), 0.7);
  EXPECT_TRUE(j[0]["pid"].is_null());
  EXPECT_DOUBLE_EQ(j[0]["seconds_left"].get<double>(), 396);
}

}  // namespace
}  // namespace posefer
