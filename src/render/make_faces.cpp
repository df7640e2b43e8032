#include "posefer/render/make_faces.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <thread>

#include "posefer/core/check.h"
#include "posefer/core/durable_file.h"
#include "posefer/core/progress.h"

namespace posefer {

namespace fs = std::filesystem;

void write_bytes_atomic(const std::string& path, const char* data, size_t size) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw Error(path + ": cannot create directory: " + ec.message());
  }
  replace_file_durably(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot open " + tmp + " for writing");
    out.write(data, std::streamsize(size));
    out.flush();
    if (!out) throw Error("write failed");
  });
}

namespace {

std::string fmt_float(float v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, double(v));
  return buf;
}

}  // namespace

void write_rgb_png(const std::string& path, const RgbImage& image, int compression) {
  POSEFER_CHECK_CONFIG(compression >= 0 && compression <= 9, path, ": PNG compression ",
                       compression, " out of range 0..9");
  POSEFER_CHECK_SHAPE(image.width > 0 && image.height > 0 &&
                          image.pixels.size() == size_t(image.width) * image.height * 3,
                      path, ": empty or malformed image");
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> buf;
  if (!cv::imencode(".png", bgr, buf, {cv::IMWRITE_PNG_COMPRESSION, compression})) throw Error(path + ": PNG encoding failed");
  write_bytes_atomic(path, reinterpret_cast<const char*>(buf.data()), buf.size());
}

std::vector<Expression> parse_expressions(const std::string& spec) {
  std::vector<Expression> out;
  if (spec == "basic7" || spec == "basic6") {
    for (int i = spec == "basic7" ? 0 : 1; i < kNumExpressions; ++i) out.push_back(Expression(i));
    return out;
  }
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(parse_expression(item));
  POSEFER_CHECK_CONFIG(!out.empty(), "empty expression list '", spec, "'");
  return out;
}

RgbImage face_sheet(uint64_t seed, int identities, const std::vector<Expression>& expressions,
                    const std::vector<HeadPose>& poses, int size, int intensity, int pad) {
  POSEFER_CHECK_CONFIG(identities >= 1 && identities <= 64, "sheet identities ", identities,
                       " out of range 1..64");
  POSEFER_CHECK_CONFIG(!expressions.empty() && !poses.empty(), "sheet needs expressions and poses");
  FaceRenderOptions ro;
  ro.size = size;
  const int rows = int(expressions.size()), cols = int(poses.size());
  const int block_w = cols * size + (cols - 1) * pad, block_h = rows * size + (rows - 1) * pad;
  const int gap = 4 * pad;
  RgbImage sheet(identities * block_w + (identities - 1) * gap, block_h);
  const auto bg = [&](float v) { return uint8_t(std::lround(v * 255.f)); };
  for (int y = 0; y < sheet.height; ++y) {
    for (int x = 0; x < sheet.width; ++x) {
      uint8_t* p = sheet.at(x, y);
      p[0] = bg(1.f), p[1] = bg(1.f), p[2] = bg(1.f);
    }
  }
  for (int id = 0; id < identities; ++id) {
    const FaceIdentity who = face_identity(seed, id);
    for (int r = 0; r < rows; ++r) {
      const Expression e = expressions[r];
      const ActionUnits au = e == Expression::kNeutral ? ActionUnits{} : expression_action_units(e, intensity);
      const FaceModel face = build_face(who, au);
      for (int c = 0; c < cols; ++c) {
        const FaceRender fr = render_face(face, poses[c], ro);
        const int x0 = id * (block_w + gap) + c * (size + pad), y0 = r * (size + pad);
        for (int y = 0; y < size; ++y) {
          std::copy(fr.image.at(0, y), fr.image.at(0, y) + size * 3, sheet.at(x0, y0 + y));
        }
      }
    }
  }
  return sheet;
}

MakeFacesResult make_faces(const MakeFacesJob& job) {
  POSEFER_CHECK_CONFIG(!job.out.empty(), "make-faces: --out is required");
  POSEFER_CHECK_CONFIG(job.identities >= 1 && job.identities <= 9999, "make-faces: identities ",
                       job.identities, " out of range 1..9999");
  POSEFER_CHECK_CONFIG(job.size >= 16 && job.size <= 1024, "make-faces: size ", job.size,
                       " out of range 16..1024");
  POSEFER_CHECK_CONFIG(job.threads >= 0 && job.threads <= 1024, "make-faces: threads ",
                       job.threads, " out of range 0..1024");
  const float scale = intensity_scale(job.intensity);  // validates 1..4
  (void)scale;
  const std::vector<HeadPose> poses = parse_poses(job.poses);
  const std::vector<Expression> expressions = parse_expressions(job.expressions);
  const auto start = std::chrono::steady_clock::now();

  const int n_units = job.identities * int(expressions.size());  // one unit = one built face
  const int n_poses = int(poses.size());
  const int64_t total = int64_t(n_units) * n_poses;
  struct Row {
    std::string manifest;
    std::string landmarks;
  };
  std::vector<Row> rows(static_cast<size_t>(total));
  // Resume: the settings of the run that wrote this folder, and its landmark rows by image path.
  // The settings are written before the first image, so a folder of images always has them.
  const std::string settings = "{\"identities\": " + std::to_string(job.identities) + ", \"poses\": \"" + job.poses +
                               "\", \"expressions\": \"" + job.expressions + "\", \"size\": " + std::to_string(job.size) +
                               ", \"intensity\": " + std::to_string(job.intensity) + ", \"seed\": " +
                               std::to_string(job.seed) + ", \"supersample\": " + std::to_string(job.supersample) + "}\n";
  const fs::path settings_path = fs::path(job.out) / "make_faces.json";
  std::map<std::string, std::string> previous;  // image path -> landmark row
  {
    std::ifstream in(settings_path);
    std::stringstream old_settings;
    old_settings << in.rdbuf();
    if (in && old_settings.str() == settings) {
      std::ifstream lm_in(fs::path(job.out) / "landmarks.csv");
      std::string line;
      std::getline(lm_in, line);  // header
      while (std::getline(lm_in, line)) previous[line.substr(0, line.find(','))] = line;
    }
  }
  fs::create_directories(job.out);
  write_bytes_atomic(settings_path.string(), settings.data(), settings.size());
  std::atomic<int64_t> reused{0};
  FaceRenderOptions ro;
  ro.size = job.size;
  ro.supersample = job.supersample;

  const int threads = std::max(1, std::min(n_units, job.threads > 0 ? job.threads
                                                    : int(std::thread::hardware_concurrency())));
  std::atomic<int> next_unit{0};
  std::atomic<int64_t> done{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> stopped{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  ProgressOptions popt;
  popt.enabled = job.progress;
  popt.unit = "img";
  ProgressBar bar("make-faces", total, popt);
  std::mutex bar_mutex;

  const auto worker = [&]() {
    try {
      for (int unit = next_unit++; unit < n_units && !failed && !stopped; unit = next_unit++) {
        if (job.should_stop && job.should_stop()) {
          stopped = true;
          break;
        }
        const int id = unit / int(expressions.size());
        const Expression e = expressions[unit % expressions.size()];
        const bool neutral = e == Expression::kNeutral;
        char subject[16];
        std::snprintf(subject, sizeof subject, "s%04d", id + 1);
        auto rel_of = [&](int p) {
          return std::string("images/") + subject + "/" + subject + "_" + expression_name(e) + "_" +
                 pose_name(poses[p]) + ".png";
        };
        // Kept from an interrupted run: every image of this face and its landmark rows.
        bool kept = !previous.empty();
        for (int p = 0; p < n_poses && kept; ++p) {
          kept = previous.count(rel_of(p)) > 0 && fs::exists(fs::path(job.out) / rel_of(p));
        }
        std::unique_ptr<FaceModel> face;
        if (!kept) {
          const ActionUnits au = neutral ? ActionUnits{} : expression_action_units(e, job.intensity);
          face = std::make_unique<FaceModel>(build_face(face_identity(job.seed, id), au));
        }
        for (int p = 0; p < n_poses; ++p) {
          const std::string rel = rel_of(p);
          Row& row = rows[size_t(unit) * n_poses + p];
          row.manifest = rel + "," + subject + "," + expression_name(e) + "," + pose_name(poses[p]) +
                         "," + std::to_string(neutral ? 0 : job.intensity) + "," +
                         fmt_float(poses[p].yaw_deg, 1) + "," + fmt_float(poses[p].pitch_deg, 1);
          if (kept) {
            row.landmarks = previous.at(rel);
            continue;
          }
          const FaceRender fr = render_face(*face, poses[p], ro);
          write_rgb_png((fs::path(job.out) / rel).string(), fr.image);
          std::string lm = rel;
          for (int k = 0; k < 68; ++k) {
            lm += "," + fmt_float(fr.landmarks[k].x, 2) + "," + fmt_float(fr.landmarks[k].y, 2) +
                  (fr.visible[k] ? ",1" : ",0");
          }
          row.landmarks = std::move(lm);
        }
        if (kept) reused += n_poses;
        const int64_t d = done += n_poses;
        if (job.progress) {
          std::lock_guard<std::mutex> lock(bar_mutex);
          bar.update(d);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  bar.finish();

  // Rows are in (subject, expression, pose) order by construction.
  std::string manifest = "path,subject,expression,pose,intensity,yaw,pitch\n";
  std::string landmarks = "path";
  for (int k = 0; k < 68; ++k) {
    landmarks += ",x" + std::to_string(k) + ",y" + std::to_string(k) + ",v" + std::to_string(k);
  }
  landmarks += "\n";
  // An interrupted run lists the faces it finished (a face is written whole before its rows count).
  int64_t written = 0;
  for (const Row& r : rows) {
    if (r.landmarks.empty()) continue;
    manifest += r.manifest + "\n";
    landmarks += r.landmarks + "\n";
    ++written;
  }
  MakeFacesResult result;
  result.images = written;
  result.reused = reused;
  result.interrupted = stopped;
  result.manifest = (fs::path(job.out) / "manifest.csv").string();
  result.landmarks = (fs::path(job.out) / "landmarks.csv").string();
  write_bytes_atomic(result.landmarks, landmarks.data(), landmarks.size());
  write_bytes_atomic(result.manifest, manifest.data(), manifest.size());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace posefer
