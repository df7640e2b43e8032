#include "posefer/report/gnuplot.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posefer/core/check.h"

namespace posefer {

namespace fs = std::filesystem;

namespace {

std::string hex_colour(const std::array<uint8_t, 3>& c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
  return buf;
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// Terminal, output and the look shared by every chart.
void preamble(std::ostringstream& s, int width, int height, const std::string& title,
              const std::string& output) {
  s << "# posefer chart. Re-render in this folder: gnuplot <this file>\n"
    << "# (for a paper: set terminal pdfcairo size 12cm,7cm / set output 'chart.pdf')\n"
    << "set terminal pngcairo size " << width << "," << height
    << " noenhanced font 'DejaVu Sans,11' linewidth 1.2\n"
    << "set output " << gnuplot_quote(output) << "\n"
    << "set encoding utf8\n"
    << "set border lc rgb '#404040'\n";
  if (!title.empty()) s << "set title " << gnuplot_quote(title) << " font ',13'\n";
}

// Runs argv with `dir` as working directory; stdout and stderr go to `log` (or /dev/null when
// empty). Returns the wait status, or -1 when fork failed.
int spawn(const std::vector<std::string>& args, const std::string& dir, const std::string& log) {
  std::vector<std::string> store(args);
  std::vector<char*> argv;
  for (auto& a : store) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out = log.empty() ? std::string("/dev/null") : log;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) ::_exit(126);
    const int in = ::open("/dev/null", O_RDONLY);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || fd < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// The line of gnuplot's output that says what went wrong: the one naming the script line, else
// the first non-blank one.
std::string gnuplot_message(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, first, located;
  while (std::getline(in, line)) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (first.empty()) first = line;
    if (located.empty() && line.find(" line ") != std::string::npos && line.find(':') != std::string::npos)
      located = line;
  }
  if (!located.empty()) return located;
  return first.empty() ? "no message" : first;
}

}  // namespace

std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}

std::string gnuplot_line_script(const std::vector<Series>& series, const LineChartOptions& o,
                                const std::string& output) {
  validate_line_chart(series, o);
  std::ostringstream s;
  preamble(s, o.width, o.height, o.title, output);
  if (!o.x_label.empty()) s << "set xlabel " << gnuplot_quote(o.x_label) << "\n";
  if (!o.y_label.empty()) s << "set ylabel " << gnuplot_quote(o.y_label) << "\n";
  s << "set grid lc rgb '#dddddd' lw 1 dt 1\n"
    << "set key " << (series.size() > 1 ? "top right box opaque samplen 2" : "off") << "\n"
    // Axes span the data (not the next tick), plus a small margin.
    << "set autoscale xfix\n"
    << "set offsets graph 0.03, graph 0.03, graph 0.06, graph 0.06\n";
  if (o.log_y) s << "set logscale y\n";
  // One datablock per series; a blank line breaks the line where a value is missing.
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& sr = series[i];
    s << "$s" << i << " << EOD\n";
    bool gap = false;
    for (size_t j = 0; j < sr.x.size(); ++j) {
      const bool ok = std::isfinite(sr.x[j]) && std::isfinite(sr.y[j]) && (!o.log_y || sr.y[j] > 0);
      if (!ok) {
        gap = true;
        continue;
      }
      if (gap) s << "\n";
      gap = false;
      s << num(sr.x[j]) << " " << num(sr.y[j]) << "\n";
    }
    s << "EOD\n";
  }
  s << "plot ";
  for (size_t i = 0; i < series.size(); ++i) {
    if (i) s << ", \\\n     ";
    s << "$s" << i << " using 1:2 with linespoints lw 2 pt 7 ps 0.55 lc rgb '"
      << hex_colour(series_colour(i)) << "' title " << gnuplot_quote(series[i].name);
  }
  s << "\n";
  return s.str();
}

std::string gnuplot_heat_script(const std::vector<std::vector<double>>& values,
                                const std::vector<std::string>& row_names,
                                const std::vector<std::string>& col_names, const HeatMapOptions& o,
                                const std::string& output) {
  validate_heat_map(values, row_names, col_names, o);
  const size_t rows = row_names.size(), cols = col_names.size();
  size_t longest = 0;
  for (const auto& n : col_names) longest = std::max(longest, n.size());
  size_t longest_row = 0;
  for (const auto& n : row_names) longest_row = std::max(longest_row, n.size());
  const int width = static_cast<int>(o.cell * cols) + 150 + 8 * static_cast<int>(longest_row) + 110;
  const int height = static_cast<int>(o.cell * rows) + 110 + 6 * static_cast<int>(longest) +
                     (o.title.empty() ? 0 : 30);
  double vmax = 0;
  for (const auto& row : values)
    for (double v : row)
      if (std::isfinite(v)) vmax = std::max(vmax, v);
  const double scale = o.percent ? 100.0 : 1.0;

  std::ostringstream s;
  preamble(s, width, height, o.title, output);
  s << "unset key\n"
    << "set size ratio -1\n"
    << "set xrange [-0.5:" << num(cols - 0.5) << "]\n"
    << "set yrange [" << num(rows - 0.5) << ":-0.5]\n"
    << "set xlabel " << gnuplot_quote(o.col_label) << "\n"
    << "set ylabel " << gnuplot_quote(o.row_label) << "\n"
    << "set xtics scale 0 rotate by 30 right (";
  for (size_t c = 0; c < cols; ++c) s << (c ? ", " : "") << gnuplot_quote(col_names[c]) << " " << c;
  s << ")\nset ytics scale 0 (";
  for (size_t r = 0; r < rows; ++r) s << (r ? ", " : "") << gnuplot_quote(row_names[r]) << " " << r;
  s << ")\n"
    << "set palette defined (0 '" << hex_colour(heat_colour(0)) << "', 1 '" << hex_colour(heat_colour(1))
    << "')\n"
    << "set cbrange [0:" << num(vmax > 0 ? vmax * scale : 1) << "]\n";
  if (o.percent) s << "set cblabel '%'\n";
  // Cells without a value show this grey background (image pixels that are NaN are not drawn).
  s << "set object 1 rectangle from graph 0,0 to graph 1,1 behind fillcolor rgb '"
    << hex_colour(heat_colour(NAN)) << "' fillstyle solid noborder\n";
  // Columns: x y value label ink (1 = white on dark cells, as the built-in map).
  s << "$cells << EOD\n";
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const double v = values[r][c];
      const bool finite = std::isfinite(v);
      const bool dark = finite && vmax > 0 && v / vmax > 0.5;
      s << c << " " << r << " " << (finite ? num(v * scale) : std::string("NaN")) << " \""
        << format_number(v * scale, o.decimals) << "\" " << (dark ? 1 : 0) << "\n";
    }
  }
  s << "EOD\n"
    << "plot $cells using 1:2:3 with image, \\\n"
    << "     $cells using 1:2:($5 == 0 ? stringcolumn(4) : '') with labels tc rgb '#282828', \\\n"
    << "     $cells using 1:2:($5 == 1 ? stringcolumn(4) : '') with labels tc rgb '#ffffff'\n";
  return s.str();
}

bool gnuplot_available(const std::string& exe) {
  if (exe.empty()) return false;
  const int status = spawn({exe, "--version"}, "", "");
  return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void run_gnuplot(const std::string& exe, const std::string& dir, const std::string& script_name) {
  const std::string where = (fs::path(dir) / script_name).string();
  // Absolute, because the child opens the log after changing into `dir`.
  std::error_code ec;
  const fs::path abs_dir = fs::absolute(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  const std::string log = (abs_dir / ("." + script_name + ".log")).string();
  const int status = spawn({exe, script_name}, abs_dir.string(), log);
  std::string message;
  if (status < 0) {
    message = std::string("cannot start: ") + std::strerror(errno);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 126) {
    message = "cannot enter " + abs_dir.string() + " or write its log there";
  } else if (WIFSIGNALED(status)) {
    message = "killed by signal " + std::to_string(WTERMSIG(status));
  } else if (WEXITSTATUS(status) == 127) {
    message = "cannot start (not installed? scripts/setup.sh installs gnuplot-nox)";
  } else if (WEXITSTATUS(status) != 0) {
    message = gnuplot_message(log);
  }
  fs::remove(log, ec);
  if (!message.empty()) throw Error("gnuplot (" + exe + ") failed on " + where + ": " + message);
}

}  // namespace posefer
