// The data-set reader flags, defined once for every command that reads a data set, and the
// chart-drawing flags of the commands that write reports.
#include <exception>
#include <string>

#include "commands.h"
#include "posefer/data/dataset_multipie.h"

namespace posefer::cli {
namespace {

// A CLI11 check that runs a library parser and reports its error message.
template <class F>
CLI::Validator library_check(const char* name, F parse) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        try {
          parse(value);
          return "";
        } catch (const std::exception& e) {
          return e.what();
        }
      },
      "", name);
}

}  // namespace

const char* data_spec_help() {
  return "Data <kind>:<path>: cmu:<dir> | genki:<dir> | fer2013:<dir> | fer2013csv:<fer2013.csv> | "
         "manifest:<csv> | multipie:<dir> | multipie-list:<file> | bu3dfe:<dir> | sfew:<dir> | "
         "kdef:<dir> | rafd:<dir>";
}

void add_reader_flags(CLI::App* cmd, DataConfig& data) {
  data.data_cache = default_data_cache_dir();
  cmd->add_option("--yaw-bins", data.yaw_bins, "GENKI: yaw bins (poses)")->check(CLI::Range(1, 9));
  cmd->add_option("--cmu-scale", data.cmu_scale, "CMU: image scale 1, 2 or 4")->check(CLI::IsMember({1, 2, 4}));
  cmd->add_option("--cmu-eyes", data.cmu_eyes, "CMU: eye states kept: all, open or sunglasses")
      ->check(CLI::IsMember({"all", "open", "sunglasses"}));
  cmd->add_option("--multipie-cameras", data.multipie_cameras,
                  "Multi-PIE: cameras kept as poses, e.g. 14_0,05_1,05_0, or paper = 13_0,14_0,05_1,05_0,04_1")
      ->check(library_check("CAMERAS", [](const std::string& v) { multipie_cameras(v); }));
  cmd->add_option("--multipie-illumination", data.multipie_illumination,
                  "Multi-PIE: illuminations kept, 00..18 as a comma list, or all")
      ->check(library_check("LIGHTS", [](const std::string& v) { multipie_illuminations(v); }));
  cmd->add_option("--bu3dfe-intensity", data.bu3dfe_intensity, "BU-3DFE: expression intensity 1..4, 0 = all")
      ->check(CLI::Range(0, 4));
  cmd->add_flag("--bu3dfe-neutral", data.bu3dfe_neutral, "BU-3DFE: also the neutral scans (7 classes)");
  cmd->add_option("--render-size", data.render_size, "BU-3DFE: side of the rendered views in pixels")
      ->check(CLI::Range(32, 1024));
  cmd->add_option("--rafd-gaze", data.rafd_gaze, "RaFD: gaze kept: all, frontal, left or right")
      ->check(CLI::IsMember({"all", "frontal", "left", "right"}));
  cmd->add_option("--data-cache", data.data_cache,
                  "Where bu3dfe renders and fer2013csv images are written once and reused");
}

void add_plot_flags(CLI::App* cmd, PlotConfig& plot) {
  cmd->add_option("--plot", plot.backend,
                  "Chart drawing: auto (gnuplot when installed, else built-in), gnuplot or builtin")
      ->check(CLI::IsMember({"auto", "gnuplot", "builtin"}));
  cmd->add_option("--gnuplot", plot.gnuplot, "gnuplot executable (name on PATH or path)");
}

}  // namespace posefer::cli
