// Tests for ProgressBar: rendering, duration formatting, and output modes.
#include "posefer/core/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace posefer {
namespace {

ProgressOptions options_for(std::ostringstream& os, bool tty = false) {
  ProgressOptions o;
  o.out = &os;
  o.force_tty = tty;
  o.bar_width = 20;
  return o;
}

TEST(ProgressBar, FormatDuration) {
  EXPECT_EQ(ProgressBar::format_duration(0), "0s");
  EXPECT_EQ(ProgressBar::format_duration(42), "42s");
  EXPECT_EQ(ProgressBar::format_duration(42.4), "42s");
  EXPECT_EQ(ProgressBar::format_duration(59), "59s");
  EXPECT_EQ(ProgressBar::format_duration(60), "1m00s");
  EXPECT_EQ(ProgressBar::format_duration(75), "1m15s");
  EXPECT_EQ(ProgressBar::format_duration(185), "3m05s");
  EXPECT_EQ(ProgressBar::format_duration(3599), "59m59s");
  EXPECT_EQ(ProgressBar::format_duration(3600), "1h00m");
  EXPECT_EQ(ProgressBar::format_duration(3720), "1h02m");
  EXPECT_EQ(ProgressBar::format_duration(90000), "25h00m");
  EXPECT_EQ(ProgressBar::format_duration(-1), "--");
  EXPECT_EQ(ProgressBar::format_duration(std::nan("")), "--");
  EXPECT_EQ(ProgressBar::format_duration(std::numeric_limits<double>::infinity()), "--");
}

TEST(ProgressBar, RenderFullLine) {
  std::ostringstream os;
  ProgressOptions o = options_for(os);
  o.unit = "img";
  o.enabled = false;
  ProgressBar bar("train e3/40", 400, o);
  // 150/400 of a 20-wide bar: 7 '#', '>', 12 spaces; rate 1404/45 = 31.2; ETA 45*250/150 = 75 s.
  EXPECT_EQ(bar.render(150, 45.0, 1404, "L1 0.213 D 1.38"),
            "train e3/40 [#######>            ] 150/400  31.2 img/s  45s<1m15s | L1 0.213 D 1.38");
}

TEST(ProgressBar, ResumedRunsEtaComesFromThisRunsPace) {
  // A run resumed at 300/400 that did 50 more steps in 10 s: 50 steps to go take 10 s (the old
  // arithmetic, 10 * 50 / 350, said 1 s), and the rate counts this run's 50 steps only.
  std::ostringstream os;
  ProgressOptions o = options_for(os);
  o.enabled = false;
  o.resumed_from = 300;
  ProgressBar bar("train", 400, o);
  const std::string line = bar.render(350, 10.0, -1, "");
  EXPECT_NE(line.find("350/400  5.0 it/s  10s<10s"), std::string::npos) << line;
  // Nothing done yet in this run: unknown, not "0s".
  EXPECT_NE(bar.render(300, 2.0, -1, "").find("2s<--"), std::string::npos);
}

TEST(ProgressBar, RenderPieces) {
  std::ostringstream os;
  ProgressOptions o = options_for(os);
  o.enabled = false;
  ProgressBar bar("eval", 400, o);
  // units < 0: rate uses done (120 / 40 s = 3.0); ETA = 40 * 280 / 120 = 93.3 s.
  const std::string line = bar.render(120, 40.0, -1, "");
  EXPECT_NE(line.find("120/400"), std::string::npos) << line;
  EXPECT_NE(line.find("  3.0 it/s"), std::string::npos) << line;
  EXPECT_NE(line.find("40s<1m33s"), std::string::npos) << line;
  EXPECT_EQ(line.find('|'), std::string::npos) << line;  // no suffix

  // Nothing done yet: empty bar, ETA unknown.
  EXPECT_EQ(bar.render(0, 2.0, -1, ""), "eval [                    ] 0/400  0.0 it/s  2s<--");
  // Complete: full bar, ETA 0.
  EXPECT_EQ(bar.render(400, 3725.0, 800, "x"),
            "eval [####################] 400/400  0.2 it/s  1h02m<0s | x");
  // Zero elapsed: rate unknown.
  EXPECT_EQ(bar.render(0, 0.0, -1, ""), "eval [                    ] 0/400  -- it/s  0s<--");
}

TEST(ProgressBar, RenderWithoutTotal) {
  std::ostringstream os;
  ProgressOptions o = options_for(os);
  o.enabled = false;
  ProgressBar bar("scan", 0, o);
  EXPECT_EQ(bar.render(50, 10.0, -1, "ok"), "scan 50  5.0 it/s  10s | ok");
}

TEST(ProgressBar, NonTtyWritesFinalLine) {
  std::ostringstream os;
  {
    ProgressBar bar("job", 10, options_for(os));
    for (int i = 1; i <= 10; ++i) bar.update(i, "s");
    bar.finish();
  }
  const std::string out = os.str();
  // Updates within 10 s print nothing on a non-TTY; finish prints one plain line.
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find("\x1b[K"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_EQ(out.rfind("job [####################] 10/10", 0), 0u) << out;
  EXPECT_NE(out.find(" | s\n"), std::string::npos) << out;  // last update's suffix kept
}

TEST(ProgressBar, DestructorFinishes) {
  std::ostringstream os;
  {
    ProgressBar bar("job", 4, options_for(os));
    bar.update(7);  // clamped to total
  }
  const std::string out = os.str();
  EXPECT_EQ(out.rfind("job [####################] 4/4", 0), 0u) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(ProgressBar, FinishTwiceWritesOnce) {
  std::ostringstream os;
  ProgressBar bar("job", 2, options_for(os));
  bar.update(2);
  bar.finish("done");
  bar.finish("again");
  const std::string out = os.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find(" | done\n"), std::string::npos) << out;
}

TEST(ProgressBar, DisabledWritesNothing) {
  std::ostringstream os;
  {
    ProgressOptions o = options_for(os, /*tty=*/true);
    o.enabled = false;
    ProgressBar bar("job", 10, o);
    for (int i = 0; i <= 10; ++i) bar.update(i, "x");
    bar.finish("end");
  }
  EXPECT_TRUE(os.str().empty());
}

TEST(ProgressBar, TtyRedrawsInPlace) {
  std::ostringstream os;
  {
    ProgressOptions o = options_for(os, /*tty=*/true);
    o.min_interval_s = 0;  // draw on every update
    ProgressBar bar("job", 3, o);
    bar.update(1);
    bar.update(2);
    bar.finish();
  }
  const std::string out = os.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 3);
  EXPECT_EQ(out.rfind("\rjob [", 0), 0u) << out;
  EXPECT_NE(out.find("\x1b[K"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_EQ(out.back(), '\n');
}

TEST(ProgressBar, TtyThrottles) {
  std::ostringstream os;
  ProgressOptions o = options_for(os, /*tty=*/true);
  o.min_interval_s = 3600;  // only the first update draws
  ProgressBar bar("job", 100, o);
  for (int i = 1; i <= 100; ++i) bar.update(i);
  const std::string first = os.str();
  EXPECT_EQ(std::count(first.begin(), first.end(), '\r'), 1);
  bar.finish();  // always drawn
  const std::string out = os.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 2);
  EXPECT_NE(out.find("100/100"), std::string::npos);
}

}  // namespace
}  // namespace posefer
