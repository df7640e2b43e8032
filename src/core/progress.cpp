// ProgressBar: a one-line progress display (see progress.h).
#include "posefer/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace posefer {

namespace {

constexpr double kPlainIntervalS = 10.0;  // non-TTY: at most one line per this many seconds

double seconds_between(std::chrono::steady_clock::time_point a,
                       std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 0)), options_(std::move(options)) {
  if (options_.out == nullptr) options_.out = &std::cerr;
  if (options_.bar_width < 0) options_.bar_width = 0;
  tty_ = options_.force_tty || (options_.out == &std::cerr && isatty(fileno(stderr)) != 0);
  start_ = std::chrono::steady_clock::now();
  // A TTY draws on the first update; a log file gets its first line after kPlainIntervalS.
  last_draw_ = tty_ ? start_ - std::chrono::hours(1) : start_;
}

ProgressBar::~ProgressBar() {
  try {
    if (!finished_) finish();
  } catch (...) {
    // Never throw from a destructor.
  }
}

void ProgressBar::update(int64_t done, const std::string& suffix, double units) {
  done = std::max<int64_t>(done, 0);
  if (total_ > 0) done = std::min(done, total_);
  done_ = done;
  units_ = units < 0 ? static_cast<double>(std::max<int64_t>(0, done - options_.resumed_from)) : units;
  suffix_ = suffix;
  if (!options_.enabled || finished_) return;

  const auto now = std::chrono::steady_clock::now();
  const double since_draw = seconds_between(last_draw_, now);
  const double interval = tty_ ? options_.min_interval_s : kPlainIntervalS;
  if (since_draw < interval) return;
  last_draw_ = now;
  const std::string line = render(done_, seconds_between(start_, now), units_, suffix_);
  std::ostream& os = *options_.out;
  if (tty_) {
    os << '\r' << line << "\x1b[K";
  } else {
    os << line << '\n';
  }
  os.flush();
}

void ProgressBar::finish(const std::string& suffix) {
  if (finished_) return;
  finished_ = true;
  if (!suffix.empty()) suffix_ = suffix;
  if (!options_.enabled) return;
  const double elapsed = seconds_between(start_, std::chrono::steady_clock::now());
  const std::string line = render(done_, elapsed, units_, suffix_);
  std::ostream& os = *options_.out;
  if (tty_) {
    os << '\r' << line << "\x1b[K\n";
  } else {
    os << line << '\n';
  }
  os.flush();
}

std::string ProgressBar::render(int64_t done, double elapsed_s, double units,
                                const std::string& suffix) const {
  const int64_t this_run = std::max<int64_t>(0, done - options_.resumed_from);  // resumed runs
  if (units < 0) units = static_cast<double>(this_run);
  std::string line = label_;
  if (!line.empty()) line += ' ';

  char buf[64];
  if (total_ > 0) {
    const double frac = std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0);
    const int width = options_.bar_width;
    const int filled = std::min(width, static_cast<int>(std::floor(frac * width)));
    std::string bar(static_cast<size_t>(width), ' ');
    for (int i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '#';
    if (filled < width && done > 0) bar[static_cast<size_t>(filled)] = '>';
    line += '[' + bar + "] ";
    std::snprintf(buf, sizeof(buf), "%lld/%lld", static_cast<long long>(done),
                  static_cast<long long>(total_));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(done));
  }
  line += buf;

  if (elapsed_s > 0 && std::isfinite(elapsed_s)) {
    std::snprintf(buf, sizeof(buf), "  %.1f %s/s", units / elapsed_s, options_.unit.c_str());
    line += buf;
  } else {
    line += "  -- " + options_.unit + "/s";
  }

  line += "  " + format_duration(elapsed_s);
  if (total_ > 0) {
    const double eta = this_run > 0
                           ? elapsed_s * static_cast<double>(total_ - done) / static_cast<double>(this_run)
                           : -1.0;
    line += '<' + format_duration(eta);
  }
  if (!suffix.empty()) line += " | " + suffix;
  return line;
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e12) return "--";
  const long long s = std::llround(seconds);
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

}  // namespace posefer
