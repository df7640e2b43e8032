// A terminal progress bar for long work: label, bar, done/total, rate, elapsed, ETA, and a
// caller-supplied suffix (e.g. current losses). Redraws in place on a TTY (at most every
// min_interval_s); on a non-TTY (log file) prints a plain line at most every 10 s and at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace posefer {

struct ProgressOptions {
  bool enabled = true;           // false: print nothing
  int bar_width = 28;            // characters in the bar
  double min_interval_s = 0.2;   // redraw at most this often on a TTY
  std::ostream* out = nullptr;   // nullptr = std::cerr
  bool force_tty = false;        // treat `out` as a terminal (tests)
  std::string unit = "it";       // rate unit, e.g. "img"
  // Work done before this process started (a resumed run): counted in done/total, left out of
  // the rate (when units are not given) and of the ETA, which come from this run's pace alone.
  int64_t resumed_from = 0;
};

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, ProgressOptions options = {});
  ~ProgressBar();  // finishes the line if finish() was not called
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Sets progress to `done` of total (clamped), with an optional suffix. `units` is the amount
  // of work for the rate (e.g. images) when it differs from steps; < 0 means use `done`.
  void update(int64_t done, const std::string& suffix = "", double units = -1);
  // Draws the final state and ends the line.
  void finish(const std::string& suffix = "");

  // One rendered line (no '\r' or '\n'), exposed for tests.
  std::string render(int64_t done, double elapsed_s, double units, const std::string& suffix) const;

  // "1h02m", "3m05s", "42s", "--" for negative/unknown.
  static std::string format_duration(double seconds);

 private:
  std::string label_;
  int64_t total_;
  ProgressOptions options_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int64_t done_ = 0;
  std::string suffix_;  // last suffix given to update(), reused by finish("")
  double units_ = 0;
  bool tty_ = false;
  bool finished_ = false;
};

}  // namespace posefer
