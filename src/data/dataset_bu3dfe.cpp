#include "posefer/data/dataset_bu3dfe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include "posefer/core/check.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/image_io.h"
#include "posefer/render/make_faces.h"
#include "posefer/core/progress.h"
#include "posefer/render/render.h"
#include "posefer/render/vrml.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using data_util::index_of;
using data_util::is_digits;

constexpr int kPans[] = {-45, -30, -15, 0, 15, 30, 45};
constexpr int kTilts[] = {-30, -15, 0, 15, 30};
constexpr float kFovDeg = 20.f;
constexpr int kSupersample = 3;
constexpr Vec3 kBackground{0.36f, 0.38f, 0.42f};  // as FaceRenderOptions (make-faces)
constexpr const char* kNamePattern = "<subject>_<EX><II><RR>_F3D.wrl, e.g. F0001_AN04WH_F3D.wrl";

// BU-3DFE expression codes and their basic-seven names.
struct Code {
  const char* code;
  const char* name;
};
constexpr Code kCodes[] = {{"AN", "angry"}, {"DI", "disgust"}, {"FE", "fear"},    {"HA", "happy"},
                           {"NE", "neutral"}, {"SA", "sad"},   {"SU", "surprise"}};

bool is_upper2(const std::string& s) {
  return s.size() == 2 && std::isupper(static_cast<unsigned char>(s[0])) &&
         std::isupper(static_cast<unsigned char>(s[1]));
}

struct Scan {
  std::string wrl;      // path of the .wrl file
  std::string subject;  // F0001
  std::string stem;     // F0001_AN04WH
  int expression = 0;   // index into the data set's vocabulary
};

// Meshes centred on their bounding box and scaled to a unit bounding sphere.
void normalise(std::vector<Mesh>& meshes, const std::string& wrl) {
  Vec3 lo{1e30f, 1e30f, 1e30f}, hi{-1e30f, -1e30f, -1e30f};
  size_t n = 0;
  for (const Mesh& m : meshes) {
    for (const Vec3& p : m.positions) {
      lo = {std::min(lo.x, p.x), std::min(lo.y, p.y), std::min(lo.z, p.z)};
      hi = {std::max(hi.x, p.x), std::max(hi.y, p.y), std::max(hi.z, p.z)};
      ++n;
    }
  }
  POSEFER_CHECK_INPUT(n > 0, wrl, ": no IndexedFaceSet triangles to render");
  const Vec3 c = (lo + hi) * 0.5f;
  float r = 0.f;
  for (const Mesh& m : meshes) {
    for (const Vec3& p : m.positions) r = std::max(r, length(p - c));
  }
  POSEFER_CHECK_INPUT(r > 0.f, wrl, ": the scan has no extent (all points equal)");
  for (Mesh& m : meshes) {
    for (Vec3& p : m.positions) p = (p - c) * (1.f / r);
  }
}

std::string view_path(const std::string& dir, const Scan& scan, const HeadPose& view) {
  return (fs::path(dir) / scan.subject / (scan.stem + "_" + pose_name(view) + ".png")).string();
}

// Renders the views of `scan` whose PNG is not there yet (all of them when !reuse).
void render_scan(const Scan& scan, const std::vector<HeadPose>& views, const std::string& dir,
                 int size, bool reuse, const std::function<void(int)>& rendered) {
  std::vector<size_t> todo;
  for (size_t v = 0; v < views.size(); ++v) {
    std::error_code ec;
    if (!reuse || !fs::is_regular_file(view_path(dir, scan, views[v]), ec)) todo.push_back(v);
  }
  if (todo.empty()) return;
  std::vector<Mesh> meshes = vrml_meshes(read_vrml(scan.wrl), scan.wrl);
  if (std::none_of(meshes.begin(), meshes.end(), [](const Mesh& m) { return m.texture != nullptr; })) {
    throw InputError(scan.wrl + ": no ImageTexture (BU-3DFE scans carry a .bmp texture)");
  }
  normalise(meshes, scan.wrl);
  Camera cam;
  cam.width = cam.height = size;
  cam.fov_y_deg = kFovDeg;
  cam.distance = 1.05f / std::sin(0.5f * kFovDeg * 3.14159265f / 180.f);  // unit sphere fits
  RenderOptions ro;
  ro.supersample = kSupersample;
  ro.background = kBackground;
  for (size_t v : todo) {
    cam.yaw_deg = views[v].yaw_deg;
    cam.pitch_deg = views[v].pitch_deg;
    write_rgb_png(view_path(dir, scan, views[v]), render(meshes, cam, ro));
    rendered(1);
  }
}

// Everything that changes the rendered pixels, as one line.
std::string render_key(const std::string& dir, int size) {
  std::ostringstream os;
  os << "posefer-bu3dfe v1|" << data_util::canonical_path(dir) << "|size=" << size
     << "|supersample=" << kSupersample << "|fov=" << kFovDeg << "|background=" << kBackground.x
     << "," << kBackground.y << "," << kBackground.z << "|views=pan-major";
  for (const HeadPose& v : bu3dfe_views()) os << "," << pose_name(v);
  return os.str();
}

// Renders the scans' missing views with `threads` workers; rethrows the first scan's error.
void render_all(const std::vector<Scan>& scans, const std::string& dir, int size, bool reuse,
                const DatasetOptions& options) {
  const std::vector<HeadPose> views = bu3dfe_views();
  int threads = options.threads > 0 ? options.threads
                                    : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, std::max<int>(1, static_cast<int>(scans.size())));
  std::vector<std::exception_ptr> errors(scans.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex bar_mutex;
  ProgressOptions popt;
  popt.enabled = options.progress;
  popt.unit = "img";
  ProgressBar bar("bu3dfe render", static_cast<int64_t>(scans.size() * views.size()), popt);
  int64_t done = 0;
  const auto count = [&](int n) {
    std::lock_guard<std::mutex> lock(bar_mutex);
    done += n;
    bar.update(done);
  };
  const auto worker = [&] {
    for (size_t i; !stop && (i = next++) < scans.size();) {
      try {
        int before = 0;
        render_scan(scans[i], views, dir, size, reuse, [&](int n) {
          before += n;
          count(n);
        });
        count(static_cast<int>(views.size()) - before);  // views reused
      } catch (...) {
        errors[i] = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);  // lowest scan first: independent of thread timing
  }
  bar.finish();
}

}  // namespace

std::vector<HeadPose> bu3dfe_views() {
  std::vector<HeadPose> out;
  for (int pan : kPans) {
    for (int tilt : kTilts) out.push_back({float(pan), float(tilt)});
  }
  return out;
}

Dataset read_bu3dfe(const std::string& dir, const DatasetOptions& options) {
  POSEFER_CHECK_CONFIG(options.bu3dfe_intensity >= 0 && options.bu3dfe_intensity <= 4,
                       "BU-3DFE intensity must be 1..4 or 0 (all), got ", options.bu3dfe_intensity);
  POSEFER_CHECK_CONFIG(options.render_size >= 32 && options.render_size <= 1024,
                       "BU-3DFE render size must be 32..1024, got ", options.render_size);
  POSEFER_CHECK_CONFIG(!options.cache_dir.empty(),
                       "bu3dfe: rendering the scans needs a cache folder (--data-cache DIR)");
  data_util::require_directory(dir);

  Dataset ds;
  ds.name = "bu3dfe";
  ds.native_channels = 3;
  for (const Code& c : kCodes) {
    if (std::string(c.code) != "NE" || options.bu3dfe_neutral) ds.expression_names.push_back(c.name);
  }
  const std::vector<HeadPose> views = bu3dfe_views();
  for (const HeadPose& v : views) ds.pose_names.push_back(pose_name(v));

  std::vector<Scan> scans;
  for (const fs::path& subject_dir : data_util::sorted_entries(dir, /*want_dirs=*/true)) {
    const std::string subject = subject_dir.filename().string();
    for (const fs::path& file : data_util::sorted_entries(subject_dir, /*want_dirs=*/false)) {
      const std::string path = file.string();
      const std::string ext = data_util::to_lower(file.extension().string());
      const std::string stem = file.stem().string();
      if (ext == ".bmp") continue;  // textures, read through their scan
      if (ext == ".bnd" || ext == ".pse" ||
          (ext == ".wrl" && stem.size() > 4 && stem.compare(stem.size() - 4, 4, "_RAW") == 0)) {
        ds.filtered["not an F3D scan (RAW scans, .bnd/.pse landmarks)"]++;
        continue;
      }
      if (ext != ".wrl") {
        ds.skipped.push_back(path + ": not a BU-3DFE scan (.wrl)");
        continue;
      }
      const auto tok = data_util::split(stem, '_');
      const bool ok = tok.size() == 3 && tok[2] == "F3D" && tok[0].size() == 5 &&
                      (tok[0][0] == 'F' || tok[0][0] == 'M') && is_digits(tok[0].substr(1), 4) &&
                      tok[1].size() == 6 && is_upper2(tok[1].substr(0, 2)) &&
                      is_digits(tok[1].substr(2, 2), 2) && is_upper2(tok[1].substr(4, 2));
      if (!ok) throw InputError(path + ": not a BU-3DFE scan name (expected " + kNamePattern + ")");
      if (tok[0] != subject) {
        throw InputError(path + ": subject '" + tok[0] + "' disagrees with its folder '" + subject + "'");
      }
      const std::string code = tok[1].substr(0, 2);
      const int intensity = std::stoi(tok[1].substr(2, 2));
      const auto it = std::find_if(std::begin(kCodes), std::end(kCodes),
                                   [&](const Code& c) { return code == c.code; });
      if (it == std::end(kCodes)) {
        throw InputError(path + ": unknown expression code '" + code +
                         "' (expected AN DI FE HA NE SA SU)");
      }
      const bool neutral = code == "NE";
      if (neutral ? intensity != 0 : intensity < 1 || intensity > 4) {
        throw InputError(path + ": intensity " + tok[1].substr(2, 2) + " out of range (" +
                         (neutral ? "NE00" : "01..04") + ")");
      }
      if (neutral && !options.bu3dfe_neutral) {
        ds.filtered["neutral scans not selected"]++;
        continue;
      }
      if (!neutral && options.bu3dfe_intensity != 0 && intensity != options.bu3dfe_intensity) {
        ds.filtered["intensity " + std::to_string(intensity) + " not selected"]++;
        continue;
      }
      scans.push_back({path, subject, tok[0] + "_" + tok[1], index_of(ds.expression_names, it->name)});
    }
  }
  if (scans.empty()) {
    throw InputError(dir + ": no BU-3DFE scans found (expected <dir>/<subject>/" + kNamePattern + ")");
  }

  const std::string key = render_key(dir, options.render_size);
  const std::string cache = data_util::keyed_cache_dir(options.cache_dir, "bu3dfe", key);
  const std::string marker = (fs::path(cache) / "render.json").string();
  const bool reuse = data_util::marker_has_key(marker, key);
  if (!reuse) write_file_atomic(marker, nlohmann::json{{"key", key}}.dump(1) + "\n");
  render_all(scans, cache, options.render_size, reuse, options);

  for (const Scan& scan : scans) {
    for (size_t v = 0; v < views.size(); ++v) {
      Sample s;
      s.path = view_path(cache, scan, views[v]);
      s.subject = scan.subject;
      s.expression = scan.expression;
      s.pose = static_cast<int>(v);
      s.yaw_deg = views[v].yaw_deg;
      s.pitch_deg = views[v].pitch_deg;
      ds.samples.push_back(std::move(s));
    }
  }
  return ds;
}

}  // namespace posefer
