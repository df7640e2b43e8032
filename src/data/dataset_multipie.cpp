#include "posefer/data/dataset_multipie.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "posefer/core/check.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/image_io.h"
#include "posefer/render/parametric_face.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using data_util::index_of;
using data_util::is_digits;
using data_util::join;
using data_util::sorted_entries;
using data_util::split;
using data_util::trim;

constexpr const char* kNamePattern = "SSS_0S_RR_CCC_II.png";
constexpr int kIlluminations = 19;  // 00 = no flash, 01..18 flashes

struct CameraYaw {
  const char* id;
  float yaw_deg;
};
// The 13 cameras at head height, left to right (see the header for how the order was checked).
constexpr CameraYaw kCameras[] = {{"11_0", -90}, {"12_0", -75}, {"09_0", -60}, {"08_0", -45},
                               {"13_0", -30}, {"14_0", -15}, {"05_1", 0},   {"05_0", 15},
                               {"04_1", 30},  {"19_0", 45},  {"20_0", 60},  {"01_0", 75},
                               {"24_0", 90}};
// The two cameras above head height (never selected).
const std::vector<std::string>& elevated_cameras() {
  static const std::vector<std::string> k{"08_1", "19_1"};
  return k;
}
constexpr const char* kPaperCameras = "13_0,14_0,05_1,05_0,04_1";

const std::vector<std::string>& multipie_expressions() {
  static const std::vector<std::string> k{"neutral", "smile",   "surprise",
                                          "squint",  "disgust", "scream"};
  return k;
}

// Expression index of (session 1..4, recording 1..3), or -1 when the session has no such
// recording.
int expression_of(int session, int recording) {
  // Rows: sessions 1..4; columns: recordings 1..3; -1 = none. Indices into multipie_expressions.
  static constexpr int kTable[4][3] = {{0, 1, -1}, {0, 2, 3}, {0, 1, 4}, {0, 0, 5}};
  if (session < 1 || session > 4 || recording < 1 || recording > 3) return -1;
  return kTable[session - 1][recording - 1];
}

// Parsed SSS_0S_RR_CCC_II.
struct MultipieName {
  std::string subject;  // "001"
  int session = 0;      // 1..4
  int recording = 0;    // 1..3
  std::string camera;   // "05_1"
  std::string illumination;  // "07"
};

// Parses a Multi-PIE file name (with extension); false when it is not one.
bool parse_multipie_name(const fs::path& file, MultipieName* out) {
  const auto tok = split(file.stem().string(), '_');
  if (tok.size() != 5 || !is_digits(tok[0], 3) || !is_digits(tok[1], 2) ||
      !is_digits(tok[2], 2) || !is_digits(tok[3], 3) || !is_digits(tok[4], 2)) {
    return false;
  }
  out->subject = tok[0];
  out->session = std::stoi(tok[1]);
  out->recording = std::stoi(tok[2]);
  out->camera = tok[3].substr(0, 2) + "_" + tok[3].substr(2);
  out->illumination = tok[4];
  return std::stoi(tok[4]) < kIlluminations;
}

// Dataset with the Multi-PIE vocabulary and the poses of `cameras`.
Dataset multipie_dataset(const std::string& name, const std::vector<std::string>& cameras) {
  Dataset ds;
  ds.name = name;
  ds.expression_names = multipie_expressions();
  for (const std::string& c : cameras) {
    float yaw = 0.f;
    multipie_camera_yaw(c, &yaw);
    ds.pose_names.push_back(pose_name({yaw, 0.f}));
  }
  ds.native_channels = 3;
  return ds;
}

// A sample for a parsed name, or false when its camera is not selected (counted).
bool make_sample(const MultipieName& n, const std::string& path,
                 const std::vector<std::string>& cameras, Dataset& ds, Sample* out) {
  const int pose = index_of(cameras, n.camera);
  if (pose < 0) {
    ds.filtered["camera " + n.camera + " not selected"]++;
    return false;
  }
  float yaw = 0.f;
  multipie_camera_yaw(n.camera, &yaw);
  out->path = path;
  out->subject = n.subject;
  out->pose = pose;
  out->yaw_deg = yaw;
  out->group = "session0" + std::to_string(n.session);
  return true;
}

int count_files(const fs::path& dir) {
  return static_cast<int>(sorted_entries(dir, /*want_dirs=*/false).size());
}

}  // namespace

bool multipie_camera_yaw(const std::string& camera, float* yaw_deg) {
  for (const CameraYaw& c : kCameras) {
    if (camera == c.id) {
      *yaw_deg = c.yaw_deg;
      return true;
    }
  }
  return false;
}

std::vector<std::string> multipie_cameras(const std::string& spec) {
  std::vector<std::pair<float, std::string>> chosen;
  for (const std::string& item : split(spec == "paper" ? kPaperCameras : spec, ',')) {
    const std::string id = trim(item);
    float yaw = 0.f;
    if (!multipie_camera_yaw(id, &yaw)) {
      std::vector<std::string> known;
      for (const CameraYaw& c : kCameras) known.push_back(c.id);
      throw ConfigError("Multi-PIE camera '" + id + "' is not one of the cameras at head height (" +
                        join(known, ", ") + ") or 'paper'");
    }
    if (std::none_of(chosen.begin(), chosen.end(), [&](const auto& c) { return c.second == id; })) {
      chosen.emplace_back(yaw, id);
    }
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<std::string> out;
  for (const auto& c : chosen) out.push_back(c.second);
  return out;
}

std::vector<std::string> multipie_illuminations(const std::string& spec) {
  if (spec == "all") return {};
  std::vector<std::string> out;
  for (const std::string& item : split(spec, ',')) {
    const std::string t = trim(item);
    POSEFER_CHECK_CONFIG(is_digits(t, 2) && std::stoi(t) < kIlluminations,
                         "Multi-PIE illumination '", t,
                         "' is not a two-digit index 00..18 (list them with commas, or 'all')");
    out.push_back(t);
  }
  return out;
}

Dataset read_multipie(const std::string& dir, const DatasetOptions& options) {
  const std::vector<std::string> cameras = multipie_cameras(options.multipie_cameras);
  const std::vector<std::string> lights = multipie_illuminations(options.multipie_illumination);
  data_util::require_directory(dir);
  fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root / "session01", ec) && fs::is_directory(root / "data", ec)) {
    root /= "data";
  }
  Dataset ds = multipie_dataset("multipie", cameras);
  const std::string expected = " (expected " + std::string(kNamePattern) + ")";

  for (const fs::path& session_dir : sorted_entries(root, /*want_dirs=*/true)) {
    const std::string sname = session_dir.filename().string();
    if (sname.size() != 9 || sname.compare(0, 7, "session") != 0 || !is_digits(sname.substr(7), 2)) {
      ds.skipped.push_back(session_dir.string() + ": not a session folder (session01..session04)");
      continue;
    }
    const fs::path mv = session_dir / "multiview";
    if (!fs::is_directory(mv, ec)) {
      ds.skipped.push_back(session_dir.string() + ": no multiview/ folder");
      continue;
    }
    for (const fs::path& subject_dir : sorted_entries(mv, true)) {
      if (!is_digits(subject_dir.filename().string(), 3)) {
        ds.skipped.push_back(subject_dir.string() + ": not a subject folder (SSS)");
        continue;
      }
      for (const fs::path& rec_dir : sorted_entries(subject_dir, true)) {
        if (!is_digits(rec_dir.filename().string(), 2)) {
          ds.skipped.push_back(rec_dir.string() + ": not a recording folder (RR)");
          continue;
        }
        for (const fs::path& cam_dir : sorted_entries(rec_dir, true)) {
          const std::string cam = cam_dir.filename().string();
          float yaw = 0.f;
          const bool elevated = index_of(elevated_cameras(), cam) >= 0;
          if (!elevated && !multipie_camera_yaw(cam, &yaw)) {
            ds.skipped.push_back(cam_dir.string() + ": unknown camera folder '" + cam + "'");
            continue;
          }
          if (index_of(cameras, cam) < 0) {  // not listed file by file: counted
            ds.filtered["camera " + cam + " not selected"] += count_files(cam_dir);
            continue;
          }
          for (const fs::path& file : sorted_entries(cam_dir, false)) {
            const std::string path = file.string();
            if (data_util::to_lower(file.extension().string()) != ".png") {
              ds.skipped.push_back(path + ": not a .png image");
              continue;
            }
            MultipieName n;
            if (!parse_multipie_name(file, &n)) {
              throw InputError(path + ": not a Multi-PIE image name" + expected);
            }
            if ("session" + file.stem().string().substr(4, 2) != sname ||
                n.subject != subject_dir.filename().string() ||
                file.stem().string().substr(7, 2) != rec_dir.filename().string() || n.camera != cam) {
              throw InputError(path + ": file name disagrees with its folders " + sname + "/" +
                               "multiview/" + subject_dir.filename().string() + "/" +
                               rec_dir.filename().string() + "/" + cam + expected);
            }
            const int expr = expression_of(n.session, n.recording);
            if (expr < 0) {
              throw InputError(path + ": session " + std::to_string(n.session) +
                               " has no recording " + std::to_string(n.recording) +
                               " (sessions 1: 01-02, 2-4: 01-03)");
            }
            if (!lights.empty() && index_of(lights, n.illumination) < 0) {
              ds.filtered["illumination " + n.illumination + " not selected"]++;
              continue;
            }
            Sample s;
            make_sample(n, path, cameras, ds, &s);
            s.expression = expr;
            ds.samples.push_back(std::move(s));
          }
        }
      }
    }
  }
  if (ds.samples.empty()) {
    throw InputError(dir + ": no Multi-PIE images of cameras " + join(cameras, ",") +
                     " and illumination " + options.multipie_illumination +
                     " found (expected session0S/multiview/SSS/RR/CC_C/" + kNamePattern + ")");
  }
  return ds;
}

Dataset read_multipie_list(const std::string& list_path, const DatasetOptions& options) {
  const std::vector<std::string> cameras = multipie_cameras(options.multipie_cameras);
  const std::string text = read_text_file(list_path);
  Dataset ds = multipie_dataset("multipie-list", cameras);
  const fs::path base = fs::path(list_path).parent_path();
  const auto lines = split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trim(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = list_path + " line " + std::to_string(i + 1) + ": ";
    const auto sep = line.find_last_of(" \t,");
    std::string rel = sep == std::string::npos ? "" : trim(line.substr(0, sep));
    if (!rel.empty() && rel.back() == ',') rel = trim(rel.substr(0, rel.size() - 1));
    if (rel.empty()) throw InputError(where + "expected '<path> <label>', got '" + line + "'");
    int label = -1;
    const std::string label_text = line.substr(sep + 1);
    if (!data_util::parse_int(label_text, &label) || label < 0 ||
        label >= static_cast<int>(ds.expression_names.size())) {
      throw InputError(where + "label must be an integer 0..5 (" + join(ds.expression_names, ", ") +
                       "), got '" + label_text + "'");
    }
    fs::path p(rel);
    if (p.is_relative() && !base.empty()) p = base / p;
    MultipieName n;
    if (!parse_multipie_name(p, &n)) {
      throw InputError(where + rel + ": not a Multi-PIE image name (expected " + kNamePattern + ")");
    }
    Sample s;
    if (!make_sample(n, p.lexically_normal().string(), cameras, ds, &s)) continue;
    s.expression = label;
    std::error_code ec;
    if (!fs::is_regular_file(s.path, ec)) {
      ds.skipped.push_back(s.path + ": missing image file (" + list_path + " line " +
                           std::to_string(i + 1) + ")");
      continue;
    }
    ds.samples.push_back(std::move(s));
  }
  if (ds.samples.empty()) {
    throw InputError(list_path + ": no Multi-PIE images of cameras " + join(cameras, ",") +
                     " listed (expected lines '<path> <label>')");
  }
  return ds;
}

}  // namespace posefer
