// Durable writes (durable_file.h): replacement, failures that keep the previous file, a full disk
// (RLIMIT_FSIZE in a child process) for text files and checkpoints, stale temp files.
#include "posefer/core/durable_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "posefer/core/check.h"
#include "posefer/train/checkpoint.h"
#include "posefer/io/image_io.h"
#include "posefer/core/run_lock.h"
#include "test_support.h"
#include "train_test_util.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int temp_files_in(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

// Runs `body` in a child process whose files may not grow beyond `limit` bytes (a full disk, as
// write(2) sees it: EFBIG); returns the child's exit status (0 = body returned true).
int run_with_file_size_limit(rlim_t limit, const std::function<bool()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit r{limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &r);
    bool ok = false;
    try {
      ok = body();
    } catch (...) {
      ok = false;
    }
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(DurableFile, ReplacesTheFileAndLeavesNoTemp) {
  const auto dir = test::fresh_dir("replace");
  const auto path = (dir / "a.json").string();
  EXPECT_EQ(temp_path_for(path), path + ".tmp." + std::to_string(::getpid()));
  write_file_atomic(path, "one");
  write_file_atomic(path, "two");
  EXPECT_EQ(slurp(path), "two");
  EXPECT_EQ(temp_files_in(dir), 0);
}

TEST(DurableFile, AFailingWriterKeepsThePreviousFile) {
  const auto dir = test::fresh_dir("fail");
  const auto path = (dir / "a.txt").string();
  write_file_atomic(path, "previous");
  EXPECT_THROW_MSG(replace_file_durably(path,
                                        [](const std::string& tmp) {
                                          std::ofstream(tmp) << "half";
                                          throw std::runtime_error("simulated failure\nsecond line");
                                        }),
                   Error, path + ": cannot write (simulated failure)");
  EXPECT_EQ(slurp(path), "previous");
  EXPECT_EQ(temp_files_in(dir), 0);
}

TEST(DurableFile, FullDiskKeepsThePreviousTextFile) {
  const auto dir = test::fresh_dir("full_text");
  const auto path = (dir / "eval.json").string();
  write_file_atomic(path, "previous");
  const int status = run_with_file_size_limit(64 * 1024, [&] {
    try {
      write_file_atomic(path, std::string(1 << 20, 'x'));
    } catch (const Error& e) {
      return std::string(e.what()).find(path + ": cannot write (") == 0;
    }
    return false;
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(slurp(path), "previous");
  EXPECT_EQ(temp_files_in(dir), 0);
}

TEST(DurableFile, FullDiskDuringACheckpointSaveIsAnErrorNotAnAbort) {
  const auto dir = test::fresh_dir("full_ckpt");
  const auto path = (dir / "checkpoint.pt").string();
  TrainConfig cfg = test::tiny_train_config();
  torch::manual_seed(1);
  JointModel model(cfg.model, cfg.optim, torch::kCPU);
  TrainState state;
  state.expression_names = {"a", "b", "c"};
  state.pose_names = {"l", "r"};
  save_checkpoint(path, cfg, model, state);
  const std::string before = slurp(path);
  ASSERT_GT(before.size(), 64u * 1024u);
  const int status = run_with_file_size_limit(16 * 1024, [&] {
    try {
      save_checkpoint(path, cfg, model, state);
    } catch (const Error& e) {
      return std::string(e.what()).find(path + ": cannot write (") != std::string::npos;
    }
    return false;
  });
  EXPECT_EQ(status, 0);  // not 134 (abort) and not a silent success
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(temp_files_in(dir), 0);
}

TEST(DurableFile, StaleTempFilesOfDeadProcessesAreRemoved) {
  const auto dir = test::fresh_dir("stale");
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // reaped: its pid no longer runs
  std::ofstream(dir / ("checkpoint.pt.tmp." + std::to_string(child))) << "left by a kill";
  std::ofstream(dir / ("best.pt.tmp." + std::to_string(::getpid()))) << "a save in progress";
  std::ofstream(dir / "notes.tmp.txt") << "not ours";
  EXPECT_EQ(remove_stale_temp_files(dir.string()), 1);
  EXPECT_FALSE(fs::exists(dir / ("checkpoint.pt.tmp." + std::to_string(child))));
  EXPECT_TRUE(fs::exists(dir / ("best.pt.tmp." + std::to_string(::getpid()))));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
  EXPECT_EQ(remove_stale_temp_files((dir / "missing").string()), 0);
}

TEST(RunLock, OneProcessPerRunFolder) {
  const auto dir = test::fresh_dir("lock");
  {
    RunLock first(dir.string());
    EXPECT_THROW_MSG(RunLock second(dir.string()), ConfigError,
                     dir.string() + " is in use by another posefer process (pid " + std::to_string(::getpid()) + ")");
  }
  RunLock again(dir.string());  // released with the first
  EXPECT_TRUE(fs::exists(dir / ".lock"));
}

TEST(RunLock, AFolderItMadeAndNothingWroteIntoIsRemovedAgain) {
  const auto base = test::fresh_dir("lock_made");
  const auto made = base / "run";
  { RunLock lock(made.string()); }  // e.g. a train that failed on its data
  EXPECT_FALSE(fs::exists(made));
  {
    RunLock lock(made.string());
    std::ofstream(made / "log.csv") << "step\n";
  }
  EXPECT_TRUE(fs::exists(made / "log.csv"));  // something was written: the folder stays
  fs::remove(made / "log.csv");
  { RunLock lock(made.string()); }  // the folder existed before: never removed
  EXPECT_TRUE(fs::exists(made));
}

}  // namespace
}  // namespace posefer
