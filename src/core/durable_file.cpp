#include "posefer/core/durable_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>

#include "posefer/core/check.h"

namespace posefer {

namespace fs = std::filesystem;

namespace {

// fsync of a file or folder; false with errno set on failure.
bool sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

std::string temp_path_for(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

void replace_file_durably(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  const fs::path target(path);
  const std::string tmp = temp_path_for(path);
  auto fail = [&](const std::string& why) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(path + ": cannot write (" + why + ")");
  };
  try {
    write(tmp);
  } catch (const std::exception& e) {
    fail(first_line(e.what()));
  }
  if (!sync_path(tmp, false)) fail(std::string("fsync failed: ") + std::strerror(errno));
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) fail("rename failed: " + ec.message());
  // The rename itself is durable only once the folder is: a failure here leaves the new file in
  // place, so it is reported but nothing is removed.
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  if (!sync_path(dir, true)) throw Error(path + ": written, but fsync of " + dir + " failed: " + std::strerror(errno));
}

int remove_stale_temp_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  static const std::regex kTemp(R"(.+\.tmp\.(\d{1,9}))");
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !std::regex_match(name, m, kTemp)) continue;
    const auto pid = static_cast<pid_t>(std::stol(m[1].str()));
    if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) {
      if (fs::remove(entry.path(), ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace posefer
