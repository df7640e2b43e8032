#include "posefer/core/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "posefer/core/check.h"

namespace posefer {

RunLock::RunLock(const std::string& run_dir) {
  std::error_code ec;
  created_dir_ = std::filesystem::create_directories(run_dir, ec);
  run_dir_ = run_dir;
  const std::string path = run_dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot open the run's lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    const std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    throw ConfigError(run_dir + " is in use by another posefer process (pid " +
                      pid.substr(0, pid.find_first_of("\n ")) + "); wait for it or stop it first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)written;  // the pid only improves the message; the lock is what counts
  }
}

RunLock::~RunLock() {
  // A command that made the folder and failed before writing anything leaves no trace.
  if (fd_ >= 0 && created_dir_) {
    namespace fs = std::filesystem;
    std::error_code ec;
    bool only_lock = true;
    for (const auto& e : fs::directory_iterator(run_dir_, ec)) {
      if (e.path().filename() != ".lock") only_lock = false;
    }
    if (!ec && only_lock) {
      fs::remove(fs::path(run_dir_) / ".lock", ec);
      fs::remove(run_dir_, ec);
    }
  }
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace posefer
