#include "posefer/data/dataset.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/data/dataset_bu3dfe.h"
#include "posefer/data/dataset_fer2013csv.h"
#include "posefer/data/dataset_folders.h"
#include "posefer/data/dataset_multipie.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/image_io.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using data_util::index_of;
using data_util::join;
using data_util::parse_double;
using data_util::require_directory;
using data_util::sorted_entries;
using data_util::sorted_unique;
using data_util::split;
using data_util::trim;

constexpr double kPi = 3.14159265358979323846;
constexpr double kYawRangeDeg = 45.0;  // GENKI yaw bins cover [-45, 45] degrees

const std::vector<std::string>& cmu_poses() {
  static const std::vector<std::string> k{"straight", "left", "right", "up"};
  return k;
}
const std::vector<std::string>& cmu_expressions() {
  static const std::vector<std::string> k{"neutral", "happy", "sad", "angry"};
  return k;
}
const std::vector<std::string>& fer_classes() { return data_util::basic7_expressions(); }

// "-15", "7.5", "-32.1": shortest readable form with at most one decimal.
std::string format_deg(double v) {
  const double r = std::round(v * 10.0) / 10.0;
  char buf[32];
  if (r == std::round(r)) std::snprintf(buf, sizeof buf, "%d", static_cast<int>(std::round(r)));
  else std::snprintf(buf, sizeof buf, "%.1f", r);
  return buf;
}

// Inner bin edges e_1..e_{bins-1} of equal-width bins over [-45, 45].
std::vector<double> yaw_edges(int bins) {
  std::vector<double> e;
  for (int i = 1; i < bins; ++i) e.push_back(-kYawRangeDeg + 2.0 * kYawRangeDeg * i / bins);
  return e;
}


}  // namespace

std::vector<std::string> yaw_bin_names(int bins) {
  std::vector<double> lo{-kYawRangeDeg};
  const auto inner = yaw_edges(bins);
  lo.insert(lo.end(), inner.begin(), inner.end());
  std::vector<std::string> names;
  for (int i = 0; i < bins; ++i) {
    const double hi = i + 1 < bins ? lo[i + 1] : kYawRangeDeg;
    // Last bin is closed: +45 belongs to it (and values beyond clamp into it).
    names.push_back("yaw[" + format_deg(lo[i]) + "," + format_deg(hi) +
                    (i + 1 < bins ? ")" : "]"));
  }
  return names;
}

int yaw_bin_of(double yaw_deg, int bins) {
  int bin = 0;
  for (double e : yaw_edges(bins)) bin += yaw_deg >= e ? 1 : 0;  // clamps at both ends
  return bin;
}

const std::vector<std::string>& data_kinds() {
  static const std::vector<std::string> k{"cmu",      "genki",         "fer2013", "fer2013csv",
                                          "manifest", "multipie",      "multipie-list",
                                          "bu3dfe",   "sfew",          "kdef",    "rafd"};
  return k;
}

DataSpec parse_data_spec(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) {
    throw InputError("data spec '" + spec + "': expected <kind>:<path> with kind " +
                     join(data_kinds(), ", "));
  }
  DataSpec out{spec.substr(0, colon), spec.substr(colon + 1)};
  if (index_of(data_kinds(), out.kind) < 0) {
    throw InputError("data spec '" + spec + "': unknown kind '" + out.kind + "' (expected " +
                     join(data_kinds(), ", ") + ")");
  }
  if (out.path.empty()) throw InputError("data spec '" + spec + "': empty path");
  return out;
}

Dataset load_dataset(const DataSpec& spec, const DatasetOptions& options) {
  if (spec.kind == "cmu") return read_cmu_faces(spec.path, options);
  if (spec.kind == "genki") return read_genki4k(spec.path, options);
  if (spec.kind == "fer2013") return read_fer2013(spec.path);
  if (spec.kind == "fer2013csv") return read_fer2013_csv(spec.path, options);
  if (spec.kind == "manifest") return read_manifest(spec.path);
  if (spec.kind == "multipie") return read_multipie(spec.path, options);
  if (spec.kind == "multipie-list") return read_multipie_list(spec.path, options);
  if (spec.kind == "bu3dfe") return read_bu3dfe(spec.path, options);
  if (spec.kind == "sfew") return read_sfew(spec.path);
  if (spec.kind == "kdef") return read_kdef(spec.path);
  if (spec.kind == "rafd") return read_rafd(spec.path, options);
  throw InputError("unknown data set kind '" + spec.kind + "' (expected " +
                   join(data_kinds(), ", ") + ")");
}

Dataset read_cmu_faces(const std::string& dir, const DatasetOptions& options) {
  POSEFER_CHECK_CONFIG(options.cmu_scale == 1 || options.cmu_scale == 2 || options.cmu_scale == 4,
                       "CMU scale must be 1, 2 or 4, got ", options.cmu_scale);
  POSEFER_CHECK_CONFIG(options.cmu_eyes == "all" || options.cmu_eyes == "open" ||
                           options.cmu_eyes == "sunglasses",
                       "CMU eyes must be all, open or sunglasses, got '", options.cmu_eyes, "'");
  require_directory(dir);
  // Accept both the data set folder and its faces/ subfolder.
  fs::path root(dir);
  std::error_code ec;
  if (fs::is_directory(root / "faces", ec)) root /= "faces";

  Dataset ds;
  ds.name = "cmu";
  ds.expression_names = cmu_expressions();
  ds.pose_names = cmu_poses();
  ds.native_channels = 1;
  const std::string expected =
      " (expected <subject>_<pose>_<expression>_<eyes>[_<scale>].pgm)";

  for (const fs::path& subject_dir : sorted_entries(root, /*want_dirs=*/true)) {
    const std::string subject = subject_dir.filename().string();
    for (const fs::path& file : sorted_entries(subject_dir, /*want_dirs=*/false)) {
      const std::string path = file.string();
      const std::string ext = file.extension().string();
      if (ext == ".bad") {
        // Corrupt originals; listed whatever the scale so the user sees them.
        ds.skipped.push_back(path + ": corrupt image (.bad)");
        continue;
      }
      if (ext != ".pgm") {
        ds.skipped.push_back(path + ": not a .pgm image");
        continue;
      }
      const auto tok = split(file.stem().string(), '_');
      if (tok.size() != 4 && tok.size() != 5) {
        ds.skipped.push_back(path + ": unrecognised file name" + expected);
        continue;
      }
      if (tok[0] != subject) {
        ds.skipped.push_back(path + ": subject '" + tok[0] + "' does not match folder '" +
                             subject + "'");
        continue;
      }
      const int pose = index_of(cmu_poses(), tok[1]);
      const int expr = index_of(cmu_expressions(), tok[2]);
      if (pose < 0) {
        ds.skipped.push_back(path + ": unknown pose '" + tok[1] + "'" + expected);
        continue;
      }
      if (expr < 0) {
        ds.skipped.push_back(path + ": unknown expression '" + tok[2] + "'" + expected);
        continue;
      }
      if (tok[3] != "open" && tok[3] != "sunglasses") {
        ds.skipped.push_back(path + ": unknown eye state '" + tok[3] + "'" + expected);
        continue;
      }
      int scale = 1;
      if (tok.size() == 5) {
        if (tok[4] != "2" && tok[4] != "4") {
          ds.skipped.push_back(path + ": unknown scale '" + tok[4] + "'" + expected);
          continue;
        }
        scale = tok[4] == "2" ? 2 : 4;
      }
      if (scale != options.cmu_scale) continue;  // other resolutions of the same photos
      if (options.cmu_eyes != "all" && tok[3] != options.cmu_eyes) {
        ++ds.filtered["eyes " + tok[3] + " (--cmu-eyes " + options.cmu_eyes + ")"];
        continue;
      }
      Sample s;
      s.path = path;
      s.subject = subject;
      s.expression = expr;
      s.pose = pose;
      ds.samples.push_back(std::move(s));
    }
  }
  if (ds.samples.empty()) {
    throw InputError(dir + ": no CMU face images at scale " + std::to_string(options.cmu_scale) +
                     (options.cmu_eyes == "all" ? "" : " with eyes " + options.cmu_eyes) +
                     " found (expected <dir>/<subject>/<subject>_<pose>_<expression>_<eyes>" +
                     (options.cmu_scale == 1 ? "" : "_" + std::to_string(options.cmu_scale)) +
                     ".pgm)");
  }
  return ds;
}

Dataset read_genki4k(const std::string& dir, const DatasetOptions& options) {
  POSEFER_CHECK_CONFIG(options.yaw_bins >= 1 && options.yaw_bins <= 9,
                       "GENKI yaw bins must be 1..9, got ", options.yaw_bins);
  require_directory(dir);
  const fs::path root(dir);
  const std::string labels_path = (root / "labels.txt").string();
  const std::string text = read_text_file(labels_path);

  Dataset ds;
  ds.name = "genki";
  ds.expression_names = {"non_smile", "smile"};
  ds.pose_names = yaw_bin_names(options.yaw_bins);
  ds.native_channels = 3;

  std::vector<std::string> lines = split(text, '\n');
  // Line N belongs to file N, so only trailing blank lines may be dropped.
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) throw InputError(labels_path + ": no labels (empty file)");

  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string line = trim(lines[n]);
    const std::string where = labels_path + " line " + std::to_string(n + 1) + ": ";
    std::istringstream in(line);
    std::vector<std::string> tok;
    for (std::string t; in >> t;) tok.push_back(t);
    double v[4];
    bool ok = tok.size() == 4;
    for (size_t k = 0; ok && k < 4; ++k) ok = parse_double(tok[k], &v[k]);
    if (!ok) {
      throw InputError(where + "expected 4 numbers 'smile yaw pitch roll', got '" + line + "'");
    }
    if (v[0] != 0.0 && v[0] != 1.0) {
      throw InputError(where + "smile must be 0 or 1, got '" + tok[0] + "'");
    }
    char num[32];
    std::snprintf(num, sizeof num, "%04zu", n + 1);
    Sample s;
    s.path = (root / "files" / (std::string("file") + num + ".jpg")).string();
    s.subject = std::string("genki_") + num;  // no subject ids: each image is its own subject
    s.expression = static_cast<int>(v[0]);
    s.yaw_deg = static_cast<float>(v[1] * 180.0 / kPi);
    s.pitch_deg = static_cast<float>(v[2] * 180.0 / kPi);
    s.pose = yaw_bin_of(v[1] * 180.0 / kPi, options.yaw_bins);
    std::error_code ec;
    if (!fs::is_regular_file(s.path, ec)) {
      ds.skipped.push_back(s.path + ": missing image file (labels.txt line " +
                           std::to_string(n + 1) + ")");
      continue;
    }
    ds.samples.push_back(std::move(s));
  }
  if (ds.samples.empty()) throw InputError(dir + ": no GENKI images found under files/");
  return ds;
}

Dataset read_fer2013(const std::string& dir) {
  require_directory(dir);
  const fs::path root(dir);
  Dataset ds;
  ds.name = "fer2013";
  ds.expression_names = fer_classes();
  ds.pose_names = {"all"};
  ds.native_channels = 1;

  bool any_split = false;
  for (const char* part : {"train", "test"}) {
    const fs::path part_dir = root / part;
    std::error_code ec;
    if (!fs::is_directory(part_dir, ec)) continue;
    any_split = true;
    for (const fs::path& class_dir : sorted_entries(part_dir, /*want_dirs=*/true)) {
      const std::string cls = class_dir.filename().string();
      const int expr = index_of(fer_classes(), cls);
      if (expr < 0) {
        throw InputError(class_dir.string() + ": unknown FER2013 class folder '" + cls +
                         "' (expected " + join(fer_classes(), ", ") + ")");
      }
      for (const fs::path& file : sorted_entries(class_dir, /*want_dirs=*/false)) {
        const std::string stem = file.stem().string();
        const std::string group = stem.substr(0, stem.find('_'));
        if (stem.find('_') == std::string::npos ||
            (group != "Training" && group != "PublicTest" && group != "PrivateTest")) {
          ds.skipped.push_back(file.string() +
                               ": unrecognised file name (expected {Training,PublicTest,"
                               "PrivateTest}_<id>.jpg)");
          continue;
        }
        Sample s;
        s.path = file.string();
        s.subject = stem;  // no subject ids: each image is its own subject
        s.expression = expr;
        s.pose = 0;
        s.group = group;
        ds.samples.push_back(std::move(s));
      }
    }
  }
  if (!any_split) throw InputError(dir + ": expected train/ and test/ folders (FER2013 layout)");
  if (ds.samples.empty()) throw InputError(dir + ": no FER2013 images found");
  return ds;
}

namespace {
void warn_rare_labels(const std::string& source, const std::string& kind, const std::vector<std::string>& labels) {
  for (const auto& w : data_util::rare_label_warnings(source, kind, labels)) spdlog::warn("{}", w);
}
}  // namespace

Dataset read_manifest(const std::string& csv_path) {
  const std::string text = read_text_file(csv_path);
  const auto records = csv::parse(text, csv_path);
  if (records.empty()) throw InputError(csv_path + ": empty CSV (expected a header line)");

  // Column lookup by (case-insensitive) header name, any order.
  const csv::Record& header = records.front();
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    std::string name = header.fields[i];
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (!col.emplace(name, i).second) {
      throw InputError(csv_path + " line " + std::to_string(header.line) +
                       ": duplicate column '" + name + "'");
    }
  }
  for (const char* need : {"path", "subject", "expression", "pose"}) {
    if (!col.count(need)) {
      throw InputError(csv_path + " line " + std::to_string(header.line) +
                       ": header lacks column '" + need +
                       "' (need path,subject,expression,pose)");
    }
  }
  const auto optional_col = [&](const char* name) {
    const auto it = col.find(name);
    return it == col.end() ? header.fields.size() : it->second;  // size() = absent
  };
  const size_t yaw_col = optional_col("yaw"), pitch_col = optional_col("pitch");
  const size_t group_col = optional_col("group");  // optional usage tag for "official" splits

  const fs::path base = fs::path(csv_path).parent_path();
  struct Row {
    Sample sample;
    std::string expression, pose;
  };
  std::vector<Row> rows;
  std::vector<std::string> skipped;
  std::map<std::string, int> first_line;  // path|subject|expression|pose -> line of its first row
  bool all_have_yaw = true;
  for (size_t r = 1; r < records.size(); ++r) {
    const csv::Record& rec = records[r];
    const std::string where = csv_path + " line " + std::to_string(rec.line) + ": ";
    if (rec.fields.size() != header.fields.size()) {
      throw InputError(where + "expected " + std::to_string(header.fields.size()) +
                       " fields, got " + std::to_string(rec.fields.size()));
    }
    const auto field = [&](const char* name) -> const std::string& {
      const std::string& v = rec.fields[col.at(name)];
      if (v.empty()) throw InputError(where + "empty '" + name + "' field");
      return v;
    };
    const auto number = [&](size_t c, const char* name) -> float {
      if (c >= rec.fields.size() || rec.fields[c].empty()) return 0.f;  // absent = unknown
      double v = 0;
      if (!parse_double(rec.fields[c], &v)) {
        throw InputError(where + "'" + name + "' must be a number, got '" + rec.fields[c] + "'");
      }
      return static_cast<float>(v);
    };
    Row row;
    fs::path p(field("path"));
    if (p.is_relative() && !base.empty()) p = base / p;
    row.sample.path = p.lexically_normal().string();
    row.sample.subject = field("subject");
    row.expression = field("expression");
    row.pose = field("pose");
    row.sample.yaw_deg = number(yaw_col, "yaw");
    all_have_yaw = all_have_yaw && yaw_col < rec.fields.size() && !rec.fields[yaw_col].empty();
    row.sample.pitch_deg = number(pitch_col, "pitch");
    if (group_col < rec.fields.size()) row.sample.group = rec.fields[group_col];
    std::error_code ec;
    if (!fs::is_regular_file(row.sample.path, ec)) {
      skipped.push_back(row.sample.path + ": missing image file (" + csv_path + " line " +
                        std::to_string(rec.line) + ")");
      continue;
    }
    // The same row twice would weigh its image twice in training and in the test figures.
    const std::string key = row.sample.path + "|" + row.sample.subject + "|" + row.expression + "|" + row.pose;
    const auto [it, fresh] = first_line.emplace(key, rec.line);
    if (!fresh) {
      skipped.push_back(row.sample.path + ": duplicate row (" + csv_path + " line " + std::to_string(rec.line) +
                        " repeats line " + std::to_string(it->second) + "), left out");
      continue;
    }
    rows.push_back(std::move(row));
  }

  Dataset ds;
  ds.name = "manifest";
  ds.native_channels = 3;
  ds.skipped = std::move(skipped);
  std::vector<std::string> exprs, poses;
  for (const Row& row : rows) {
    exprs.push_back(row.expression);
    poses.push_back(row.pose);
  }
  ds.expression_names = sorted_unique(exprs);
  ds.pose_names = sorted_unique(poses);
  warn_rare_labels(csv_path, "expression", exprs);
  warn_rare_labels(csv_path, "pose", poses);
  if (all_have_yaw && !rows.empty()) {
    // Poses ordered left to right (then top to bottom) so grids and tables read like a camera
    // arc: by the mean yaw, then mean pitch, of their rows; names break ties.
    std::map<std::string, std::array<double, 3>> sums;  // yaw, pitch, count
    for (const Row& row : rows) {
      auto& a = sums[row.pose];
      a[0] += row.sample.yaw_deg;
      a[1] += row.sample.pitch_deg;
      a[2] += 1;
    }
    std::stable_sort(ds.pose_names.begin(), ds.pose_names.end(),
                     [&](const std::string& a, const std::string& b) {
                       const auto& x = sums[a];
                       const auto& y = sums[b];
                       return std::make_pair(x[0] / x[2], x[1] / x[2]) < std::make_pair(y[0] / y[2], y[1] / y[2]);
                     });
  }
  for (Row& row : rows) {
    row.sample.expression = index_of(ds.expression_names, row.expression);
    row.sample.pose = index_of(ds.pose_names, row.pose);
    ds.samples.push_back(std::move(row.sample));
  }
  if (ds.samples.empty()) throw InputError(csv_path + ": no samples (no rows with existing images)");
  return ds;
}

}  // namespace posefer
