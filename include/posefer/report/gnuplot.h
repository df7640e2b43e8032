// Report charts drawn by gnuplot (Debian's gnuplot-nox, pngcairo terminal).
//
// The script for each chart is self-contained: the data sit in it as gnuplot datablocks, so a
// kept `<chart>.gp` re-renders the chart with `gnuplot <chart>.gp` in its folder, or, after
// changing the `set terminal` / `set output` lines, as PDF or SVG for a paper.
// The plot module (plot.h) decides when gnuplot draws and falls back to its built-in drawing.
#pragma once

#include <string>
#include <vector>

#include "posefer/report/plot.h"

namespace posefer {

// A gnuplot single-quoted string literal of s ('' stands for a quote; nothing else is special).
std::string gnuplot_quote(const std::string& s);

// The script of a line chart that writes a PNG named `output` (relative to where gnuplot runs).
// Same checks and meaning as line_chart() (plot.h): a non-finite y (or y <= 0 on a log axis)
// breaks the line there. Throws ShapeError / ConfigError as line_chart does.
std::string gnuplot_line_script(const std::vector<Series>& series, const LineChartOptions& options,
                                const std::string& output);

// The script of an annotated heat map (row 0 at the top, each cell labelled with its value,
// NaN cells grey and labelled "-"), writing the PNG `output`. Checks as heat_map().
std::string gnuplot_heat_script(const std::vector<std::vector<double>>& values,
                                const std::vector<std::string>& row_names,
                                const std::vector<std::string>& col_names, const HeatMapOptions& options,
                                const std::string& output);

// True when `exe --version` runs and exits with 0 (exe: a name looked up on PATH, or a path).
bool gnuplot_available(const std::string& exe);

// Runs `exe script_name` with `dir` as working directory, stdin closed. Throws Error
// "gnuplot (<exe>) failed on <dir>/<script_name>: <first line gnuplot printed>" when it cannot
// start or exits non-zero.
void run_gnuplot(const std::string& exe, const std::string& dir, const std::string& script_name);

}  // namespace posefer
