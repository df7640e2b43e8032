#include "posefer/data/dataset_folders.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "posefer/core/check.h"
#include "posefer/data/dataset_util.h"
#include "posefer/render/parametric_face.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using data_util::basic7_expressions;
using data_util::has_image_extension;
using data_util::index_of;
using data_util::is_digits;
using data_util::join;
using data_util::sorted_entries;
using data_util::to_lower;

// Pose names of yaws -90, -45, 0, 45, 90 (tilt 0), left to right.
std::vector<std::string> five_yaw_poses() {
  std::vector<std::string> out;
  for (int yaw = -90; yaw <= 90; yaw += 45) out.push_back(pose_name({float(yaw), 0.f}));
  return out;
}

// A colour data set with these vocabularies.
Dataset make_dataset(const char* name, std::vector<std::string> expressions,
                     std::vector<std::string> poses) {
  Dataset ds;
  ds.name = name;
  ds.expression_names = std::move(expressions);
  ds.pose_names = std::move(poses);
  ds.native_channels = 3;
  return ds;
}

// Image files below `root` (any depth); other files go to ds.skipped.
std::vector<fs::path> image_files(const std::string& root, Dataset& ds) {
  data_util::require_directory(root);
  std::vector<fs::path> out;
  for (const fs::path& file : data_util::sorted_files_recursive(root)) {
    if (has_image_extension(file)) {
      out.push_back(file);
    } else {
      ds.skipped.push_back(file.string() + ": not an image");
    }
  }
  return out;
}

void require_samples(const Dataset& ds, const std::string& dir, const std::string& expected) {
  if (ds.samples.empty()) throw InputError(dir + ": no " + ds.name + " images found (expected " + expected + ")");
}

// SFEW: the images of one class folder.
void add_sfew_class(const fs::path& class_dir, int expression, const std::string& group,
                    const fs::path& root, Dataset& ds) {
  for (const fs::path& file : data_util::sorted_files_recursive(class_dir)) {
    if (!has_image_extension(file)) {
      ds.skipped.push_back(file.string() + ": not an image");
      continue;
    }
    Sample s;
    s.path = file.string();
    s.subject = fs::path(file).lexically_relative(root).replace_extension().generic_string();
    s.expression = expression;
    s.pose = 0;
    s.group = group;
    ds.samples.push_back(std::move(s));
  }
}

int sfew_class_of(const fs::path& folder) {
  return index_of(basic7_expressions(), to_lower(folder.filename().string()));
}

[[noreturn]] void unknown_sfew_folder(const fs::path& folder, const char* what) {
  throw InputError(folder.string() + ": unknown SFEW " + what + " folder '" +
                   folder.filename().string() + "' (class folders: Angry, Disgust, Fear, Happy, " +
                   "Neutral, Sad, Surprise, any case; optionally inside split folders such as " +
                   "Set_1/Set_2 or Train/Val)");
}

}  // namespace

Dataset read_sfew(const std::string& dir) {
  data_util::require_directory(dir);
  const fs::path root(dir);
  Dataset ds = make_dataset("sfew", basic7_expressions(), {"all"});
  const auto top = sorted_entries(root, /*want_dirs=*/true);
  const bool flat = std::any_of(top.begin(), top.end(),
                                [](const fs::path& p) { return sfew_class_of(p) >= 0; });
  const auto skip_loose_files = [&](const fs::path& folder) {
    for (const fs::path& f : sorted_entries(folder, /*want_dirs=*/false)) {
      ds.skipped.push_back(f.string() + ": not in a class folder");
    }
  };
  skip_loose_files(root);
  for (const fs::path& folder : top) {
    if (flat) {
      const int cls = sfew_class_of(folder);
      if (cls < 0) unknown_sfew_folder(folder, "class");
      add_sfew_class(folder, cls, "", root, ds);
      continue;
    }
    const auto classes = sorted_entries(folder, /*want_dirs=*/true);
    if (classes.empty()) unknown_sfew_folder(folder, "split (no class folders inside)");
    skip_loose_files(folder);
    for (const fs::path& class_dir : classes) {
      const int cls = sfew_class_of(class_dir);
      if (cls < 0) unknown_sfew_folder(class_dir, "class");
      add_sfew_class(class_dir, cls, folder.filename().string(), root, ds);
    }
  }
  require_samples(ds, dir, "<dir>/[<split>/]<Class>/<image>");
  return ds;
}

Dataset read_kdef(const std::string& dir) {
  Dataset ds = make_dataset("kdef", basic7_expressions(), five_yaw_poses());
  // KDEF expression codes, in the order of basic7_expressions().
  static const std::vector<std::string> kCodes{"AN", "DI", "AF", "HA", "NE", "SA", "SU"};
  static const std::vector<std::string> kAngles{"FL", "HL", "S", "HR", "FR"};
  for (const fs::path& file : image_files(dir, ds)) {
    std::string stem = file.stem().string();
    std::transform(stem.begin(), stem.end(), stem.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    const int expr = stem.size() >= 7 ? index_of(kCodes, stem.substr(4, 2)) : -1;
    const int angle = stem.size() >= 7 ? index_of(kAngles, stem.substr(6)) : -1;
    if ((stem.size() != 7 && stem.size() != 8) || (stem[0] != 'A' && stem[0] != 'B') ||
        (stem[1] != 'F' && stem[1] != 'M') || !is_digits(stem.substr(2, 2), 2) || expr < 0 ||
        angle < 0) {
      throw InputError(file.string() +
                       ": not a KDEF image name (expected <A|B><F|M><NN><AF|AN|DI|HA|NE|SA|SU>"
                       "<FL|HL|S|HR|FR>, e.g. AF01ANHL.JPG)");
    }
    Sample s;
    s.path = file.string();
    s.subject = stem.substr(1, 3);
    s.expression = expr;
    s.pose = angle;
    s.yaw_deg = static_cast<float>(-90 + 45 * angle);
    s.group = stem.substr(0, 1);
    ds.samples.push_back(std::move(s));
  }
  require_samples(ds, dir, "<dir>/**/AF01ANHL.JPG");
  return ds;
}

Dataset read_rafd(const std::string& dir, const DatasetOptions& options) {
  static const std::vector<std::string> kGazes{"frontal", "left", "right"};
  POSEFER_CHECK_CONFIG(options.rafd_gaze == "all" || index_of(kGazes, options.rafd_gaze) >= 0,
                       "RaFD gaze must be all, frontal, left or right, got '", options.rafd_gaze, "'");
  static const std::vector<std::string> kWords{"angry", "contemptuous", "disgusted", "fearful",
                                               "happy", "neutral",      "sad",       "surprised"};
  static const std::vector<std::string> kCameras{"000", "045", "090", "135", "180"};
  Dataset ds = make_dataset("rafd",
                            {"angry", "contempt", "disgust", "fear", "happy", "neutral", "sad",
                             "surprise"},
                            five_yaw_poses());
  for (const fs::path& file : image_files(dir, ds)) {
    const auto tok = data_util::split(file.stem().string(), '_');
    const bool alpha = tok.size() == 6 && !tok[2].empty() &&
                       std::all_of(tok[2].begin(), tok[2].end(),
                                   [](unsigned char ch) { return std::isalpha(ch) != 0; });
    const int camera = tok.size() == 6 && tok[0].size() == 7 && tok[0].compare(0, 4, "Rafd") == 0
                           ? index_of(kCameras, tok[0].substr(4))
                           : -1;
    const int expr = tok.size() == 6 ? index_of(kWords, tok[4]) : -1;
    const bool ok = alpha && camera >= 0 && expr >= 0 && !tok[1].empty() &&
                    is_digits(tok[1], tok[1].size()) && (tok[3] == "male" || tok[3] == "female") &&
                    index_of(kGazes, tok[5]) >= 0;
    if (!ok) {
      throw InputError(file.string() +
                       ": not a RaFD image name (expected Rafd<000|045|090|135|180>_<id>_"
                       "<ethnicity>_<male|female>_<" + join(kWords, "|") +
                       ">_<frontal|left|right>, e.g. Rafd090_01_Caucasian_female_angry_frontal.jpg)");
    }
    if (options.rafd_gaze != "all" && tok[5] != options.rafd_gaze) {
      ds.filtered["gaze " + tok[5] + " not selected"]++;
      continue;
    }
    Sample s;
    s.path = file.string();
    s.subject = tok[1];
    s.expression = expr;
    s.pose = camera;
    s.yaw_deg = static_cast<float>(45 * camera - 90);
    ds.samples.push_back(std::move(s));
  }
  require_samples(ds, dir, "<dir>/**/Rafd090_01_Caucasian_female_angry_frontal.jpg");
  return ds;
}

}  // namespace posefer
