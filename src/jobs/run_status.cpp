#include "posefer/jobs/run_status.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"

namespace posefer {

namespace fs = std::filesystem;

namespace {

// Seconds since `path` was written; -1 when it does not exist.
double age_of(const std::string& path, std::time_t now) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return std::max(0.0, std::difftime(now, st.st_mtime));
}

// Whether a process holds RUN/.lock (RunLock's flock), and its pid from the file. A shared
// non-blocking try leaves a free lock free again at once.
bool lock_held(const std::string& dir, int& pid) {
  const std::string path = dir + "/.lock";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = false;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    held = errno == EWOULDBLOCK;
  } else {
    ::flock(fd, LOCK_UN);
  }
  if (held) {
    char buf[32] = {0};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) pid = std::atoi(buf);
  }
  ::close(fd);
  return held;
}

// The last complete line of a text file (read from its end, so a log of any size costs little).
std::string last_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - 4096);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.seekg(start);
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  // A line still being written has no newline yet: take the last one that ends.
  const auto end = tail.rfind('\n');
  if (end == std::string::npos) return "";
  const auto begin = end == 0 ? std::string::npos : tail.rfind('\n', end - 1);
  if (begin != std::string::npos) return tail.substr(begin + 1, end - begin - 1);
  return start == 0 ? tail.substr(0, end) : "";  // else the line is longer than the window
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void add_note(RunStatus& s, const std::string& what) { s.note += (s.note.empty() ? "" : "; ") + what; }

// epochs.csv: epochs done, pace, validation accuracies.
void read_epochs(const std::string& dir, RunStatus& s, long& steps_done) {
  const std::string path = dir + "/epochs.csv";
  if (!fs::exists(path)) return;
  std::vector<csv::Record> rows;
  try {
    rows = csv::read_file(path);
  } catch (const std::exception& e) {
    add_note(s, first_line_of(e.what()));
    return;
  }
  if (rows.empty()) return;
  const auto& head = rows[0].fields;
  const auto col = [&](const char* name) {
    const auto it = std::find(head.begin(), head.end(), name);
    return it == head.end() ? -1 : static_cast<int>(it - head.begin());
  };
  const int c_steps = col("steps"), c_seconds = col("seconds"), c_val = col("val_acc");
  std::vector<double> seconds;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& f = rows[i].fields;
    const auto num = [&](int c) -> std::optional<double> {
      if (c < 0 || c >= static_cast<int>(f.size()) || f[c].empty()) return std::nullopt;
      char* end = nullptr;
      const double v = std::strtod(f[c].c_str(), &end);
      if (end == f[c].c_str() || !std::isfinite(v)) return std::nullopt;
      return v;
    };
    ++s.epochs_done;
    // An epoch resumed from a mid-epoch checkpoint lists only the steps run after the resume: a
    // whole epoch is the largest count.
    if (auto v = num(c_steps)) s.steps_per_epoch = std::max(s.steps_per_epoch, static_cast<int>(*v));
    if (auto v = num(c_seconds)) seconds.push_back(*v);
    if (auto v = num(c_val); v && *v >= 0) {  // -1: the epoch was not validated
      s.last_val = *v;
      if (!s.best_val || *v > *s.best_val) {
        s.best_val = *v;
        s.best_epoch = s.epochs_done;
      }
    } else {
      s.last_val.reset();
    }
  }
  steps_done = static_cast<long>(s.epochs_done) * s.steps_per_epoch;
  if (!seconds.empty()) {
    const size_t from = seconds.size() > 5 ? seconds.size() - 5 : 0;
    s.epoch_seconds = median(std::vector<double>(seconds.begin() + static_cast<long>(from), seconds.end()));
  }
}

}  // namespace

std::string to_string(RunState s) {
  switch (s) {
    case RunState::NotStarted: return "not started";
    case RunState::Training: return "training";
    case RunState::Stopped: return "stopped";
    case RunState::Finished: return "finished";
  }
  return "?";
}

RunStatus read_run_status(const std::string& dir, std::time_t now) {
  RunStatus s;
  s.dir = dir;
  const std::string config_path = dir + "/config.json";
  POSEFER_CHECK_INPUT(fs::is_regular_file(config_path),
                   dir, ": not a run folder (no config.json)");
  try {
    std::ifstream in(config_path);
    const auto config = nlohmann::json::parse(in);
    if (config.contains("epochs") && config["epochs"].is_number_integer()) {
      s.epochs_total = config["epochs"].get<int>();
    } else {
      add_note(s, "config.json names no epochs");
    }
  } catch (const std::exception& e) {
    add_note(s, "config.json: " + first_line_of(e.what()));
  }
  long steps_done = 0;
  read_epochs(dir, s, steps_done);

  // log.csv's last row: "step,epoch,..." (the global step), so the steps past the finished epochs.
  const std::string log = dir + "/log.csv";
  s.last_step_age = age_of(log, now);
  const std::string row = last_line(log);
  if (!row.empty() && std::isdigit(static_cast<unsigned char>(row[0]))) {
    const long step = std::atol(row.c_str());
    const auto comma = row.find(',');
    const int epoch = comma == std::string::npos ? 0 : std::atoi(row.c_str() + comma + 1);
    if (epoch == s.epochs_done + 1 && step > steps_done) s.steps_into_epoch = static_cast<int>(step - steps_done);
  }
  s.checkpoint_age = age_of(dir + "/checkpoint.pt", now);
  s.evaluated = fs::exists(dir + "/eval/eval.json") || fs::exists(dir + "/eval.json");  // evaluate [--out RUN]

  if (lock_held(dir, s.pid)) {
    s.state = RunState::Training;
  } else if (s.epochs_total > 0 && s.epochs_done >= s.epochs_total) {
    s.state = RunState::Finished;
  } else if (s.epochs_done > 0 || s.checkpoint_age >= 0) {
    s.state = RunState::Stopped;
    if (s.checkpoint_age < 0) add_note(s, "no checkpoint.pt: `train --resume` cannot continue it");
  } else {
    s.state = RunState::NotStarted;
  }
  const int left = s.epochs_total - s.epochs_done;
  if (left > 0 && s.epoch_seconds > 0) {
    double done_share = 0;  // of the current epoch
    if (s.steps_per_epoch > 0) done_share = std::min(1.0, double(s.steps_into_epoch) / s.steps_per_epoch);
    s.seconds_left = s.epoch_seconds * (left - done_share);
  }
  return s;
}

std::vector<std::string> find_runs(const std::string& path, int max_depth) {
  POSEFER_CHECK_INPUT(fs::is_directory(path), path, ": no such folder");
  std::vector<std::string> runs;
  // Depth-first; a run's own subfolders (eval/, previous-1/) are not runs of their own.
  std::vector<std::pair<fs::path, int>> todo{{fs::path(path), 0}};
  while (!todo.empty()) {
    auto [dir, depth] = todo.back();
    todo.pop_back();
    if (fs::is_regular_file(dir / "config.json")) {
      runs.push_back(dir.string());
      continue;
    }
    if (depth >= max_depth) continue;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
      if (e.is_directory(ec) && !e.is_symlink(ec)) todo.emplace_back(e.path(), depth + 1);
    }
  }
  POSEFER_CHECK_INPUT(!runs.empty(), path,
                   ": holds no run (no folder with a config.json in it, ", max_depth, " levels down)");
  std::sort(runs.begin(), runs.end());
  return runs;
}

std::string format_duration(double seconds) {
  if (seconds < 0) return "-";
  char buf[32];
  if (seconds < 90) {
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  } else if (seconds < 90 * 60) {
    std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
  } else if (seconds < 48 * 3600) {
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f d", seconds / 86400);
  }
  return buf;
}

namespace {
std::string percent(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * *v);
  return buf;
}
}  // namespace

std::string format_status_table(const std::vector<RunStatus>& runs) {
  std::ostringstream os;
  os << "| run | state | epochs | best val (epoch) | last val | s / epoch | time left | checkpoint | last step |\n"
     << "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    std::string state = to_string(r.state);
    if (r.state == RunState::Training && r.pid > 0) state += " (pid " + std::to_string(r.pid) + ")";
    if (r.state == RunState::Finished && r.evaluated) state += ", evaluated";
    std::string epochs = std::to_string(r.epochs_done) + "/" + (r.epochs_total > 0 ? std::to_string(r.epochs_total) : "?");
    if (r.steps_into_epoch > 0) {
      epochs += " + " + std::to_string(r.steps_into_epoch) +
                (r.steps_per_epoch > 0 ? "/" + std::to_string(r.steps_per_epoch) : "") + " steps";
    }
    const std::string best = r.best_val ? percent(r.best_val) + " (" + std::to_string(r.best_epoch) + ")" : "-";
    char pace[32] = "-";
    if (r.epoch_seconds > 0) std::snprintf(pace, sizeof pace, "%.0f", r.epoch_seconds);
    const auto ago = [](double s) { return s < 0 ? std::string("-") : format_duration(s) + " ago"; };
    os << "| " << r.dir << " | " << state << " | " << epochs << " | " << best << " | " << percent(r.last_val)
       << " | " << pace << " | " << format_duration(r.seconds_left) << " | " << ago(r.checkpoint_age) << " | "
       << ago(r.last_step_age) << " |";
    if (!r.note.empty()) os << " " << r.note;
    os << "\n";
  }
  return os.str();
}

nlohmann::json to_json(const std::vector<RunStatus>& runs) {
  auto j = nlohmann::json::array();
  const auto opt = [](double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  for (const auto& r : runs) {
    j.push_back({{"run", r.dir},
                 {"state", to_string(r.state)},
                 {"pid", r.pid > 0 ? nlohmann::json(r.pid) : nlohmann::json(nullptr)},
                 {"epochs_done", r.epochs_done},
                 {"epochs_total", r.epochs_total > 0 ? nlohmann::json(r.epochs_total) : nlohmann::json(nullptr)},
                 {"steps_into_epoch", r.steps_into_epoch},
                 {"steps_per_epoch", r.steps_per_epoch > 0 ? nlohmann::json(r.steps_per_epoch) : nlohmann::json(nullptr)},
                 {"epoch_seconds", r.epoch_seconds > 0 ? nlohmann::json(r.epoch_seconds) : nlohmann::json(nullptr)},
                 {"best_val", r.best_val ? nlohmann::json(*r.best_val) : nlohmann::json(nullptr)},
                 {"best_epoch", r.best_val ? nlohmann::json(r.best_epoch) : nlohmann::json(nullptr)},
                 {"last_val", r.last_val ? nlohmann::json(*r.last_val) : nlohmann::json(nullptr)},
                 {"seconds_left", opt(r.seconds_left)},
                 {"checkpoint_age", opt(r.checkpoint_age)},
                 {"last_step_age", opt(r.last_step_age)},
                 {"evaluated", r.evaluated},
                 {"note", r.note}});
  }
  return j;
}

}  // namespace posefer
