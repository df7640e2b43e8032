#include "posefer/dataset_align.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <sstream>

#include "posefer/check.h"
#include "posefer/dataset.h"
#include "posefer/dataset_util.h"
#include "posefer/image_io.h"
#include "posefer/progress.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using data_util::csv_escape;

// Output path stem for `sample_path`: relative to the data set's folder when inside it, else
// the bare file name; extension dropped.
std::string output_stem(const std::string& sample_path, const DataSpec& spec) {
  const fs::path base = spec.kind == "manifest" ? fs::path(spec.path).parent_path() : fs::path(spec.path);
  std::error_code ec;
  fs::path rel = fs::relative(fs::absolute(sample_path, ec), fs::absolute(base, ec), ec);
  if (ec || rel.empty() || *rel.begin() == "..") rel = fs::path(sample_path).filename();
  return rel.replace_extension().string();
}

}  // namespace

std::string aligned_output_name(const std::string& sample_path, const DataSpec& spec) {
  return output_stem(sample_path, spec) + ".png";
}

MultiFacePolicy parse_multi_face_policy(const std::string& name) {
  if (name == "largest") return MultiFacePolicy::kLargest;
  if (name == "all") return MultiFacePolicy::kAll;
  if (name == "skip") return MultiFacePolicy::kSkip;
  throw ConfigError("--multi-face must be largest, all or skip, got '" + name + "'");
}

nlohmann::ordered_json AlignCounts::to_json() const {
  return {{"images", images},   {"aligned", aligned}, {"several_faces", several},
          {"no_face", no_face}, {"failed", failed},   {"aligned_via_haar", via_haar},
          {"aligned_via_whole_image", via_whole}};
}

std::string DatasetAlignResult::to_markdown() const {
  std::ostringstream os;
  os << "| pose | images | aligned (1 face) | several faces | no face | failed | via Haar | via whole image |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  auto row = [&](const std::string& name, const AlignCounts& c) {
    os << "| " << name << " | " << c.images << " | " << c.aligned << " | " << c.several << " | "
       << c.no_face << " | " << c.failed << " | " << c.via_haar << " | " << c.via_whole << " |\n";
  };
  for (const auto& [name, c] : by_pose) row(name, c);
  row("**all**", total);
  os << "\n" << crops_written << " aligned crop(s) written.";
  if (!failures.empty()) {
    os << "\n\nFailed images:\n";
    for (const auto& f : failures) os << "- " << f << "\n";
  }
  return os.str();
}

DatasetAlignResult run_dataset_align_job(const DatasetAlignJob& job) {
  job.align.validate();
  POSEFER_CHECK_CONFIG(!job.out_dir.empty(), "--out is required");
  POSEFER_CHECK_CONFIG(job.limit >= 0, "--limit must be >= 0, got ", job.limit);
  const DataSpec spec = parse_data_spec(job.data);
  const Dataset ds = load_dataset(spec, job.dataset);
  FaceDetectorConfig dcfg = job.detector;
  dcfg.expressions = false;
  dcfg.landmarks = true;
  FaceDetector detector(dcfg);
  std::unique_ptr<HaarFaceDetector> haar;
  if (job.haar_fallback) haar = std::make_unique<HaarFaceDetector>(job.haar);

  const fs::path out_dir(job.out_dir);
  fs::create_directories(out_dir);
  std::ostringstream csv;
  csv << std::setprecision(9) << "path,outcome,via,face,output,score,box_x,box_y,box_w,box_h,"
      << "t_a,t_b,t_x,t_y";
  for (int i = 0; i < 68; ++i) csv << ",x" << i << ",y" << i;
  csv << "\n";

  DatasetAlignResult result;
  const int64_t n = job.limit > 0 ? std::min<int64_t>(job.limit, ds.samples.size())
                                  : static_cast<int64_t>(ds.samples.size());
  ProgressOptions popt;
  popt.enabled = job.progress;
  popt.unit = "img";
  ProgressBar bar("align", n, popt);
  for (int64_t i = 0; i < n; ++i) {
    const Sample& s = ds.samples[i];
    const std::string pose = s.pose < static_cast<int>(ds.pose_names.size()) ? ds.pose_names[s.pose]
                                                                            : std::to_string(s.pose);
    AlignCounts& pc = result.by_pose[pose];
    ++pc.images;
    ++result.total.images;
    auto count = [&](int64_t AlignCounts::*field) {
      ++(pc.*field);
      ++(result.total.*field);
    };
    try {
      const auto image = read_image(s.path, 3);
      std::vector<Face> faces;
      const char* via = "detector";
      const FaceBox whole{0, 0, double(image.size(2)), double(image.size(1))};
      if (job.whole_image) {
        faces = detector.describe(image, {whole}, {0.0});
        via = "whole_image";
      } else {
        faces = detector.detect(image);
      }
      if (faces.empty() && haar) {
        const auto boxes = haar->detect(image);
        if (!boxes.empty()) {  // largest box only: cascades give false positives
          faces = detector.describe(image, {boxes.front()}, {0.0});
          via = "haar";
        }
      }
      if (faces.empty() && job.whole_image_fallback) {
        faces = detector.describe(image, {whole}, {0.0});
        via = "whole_image";
      }
      if (faces.empty()) {
        count(&AlignCounts::no_face);
        csv << csv_escape(s.path) << ",no_face\n";
      } else {
        const bool several = faces.size() > 1;
        count(several ? &AlignCounts::several : &AlignCounts::aligned);
        if (std::string(via) == "haar") count(&AlignCounts::via_haar);
        if (std::string(via) == "whole_image") count(&AlignCounts::via_whole);
        if (several && job.multi == MultiFacePolicy::kLargest) {
          auto it = std::max_element(faces.begin(), faces.end(), [](const Face& a, const Face& b) {
            return a.box.area() < b.box.area();
          });
          faces = {*it};
        } else if (several && job.multi == MultiFacePolicy::kSkip) {
          faces.clear();
          csv << csv_escape(s.path) << ",several_faces_skipped," << via << "\n";
        }
        const std::string stem = output_stem(s.path, spec);
        for (size_t k = 0; k < faces.size(); ++k) {
          const auto aligned = align_face(image, faces[k].landmarks, job.align);
          const std::string out_rel =
              stem + (job.multi == MultiFacePolicy::kAll && several ? "_" + std::to_string(k + 1) : "") + ".png";
          write_png((out_dir / out_rel).string(), aligned.image);
          ++result.crops_written;
          const auto& b = faces[k].box;
          const auto& t = aligned.transform;
          csv << csv_escape(s.path) << "," << (several ? "several_faces" : "aligned") << "," << via
              << "," << k
              << "," << csv_escape(out_rel) << "," << faces[k].score << "," << b.x << "," << b.y
              << "," << b.width << "," << b.height << "," << t.a << "," << t.b << "," << t.tx
              << "," << t.ty;
          for (const auto& p : faces[k].landmarks) csv << "," << p.x << "," << p.y;
          csv << "\n";
        }
      }
    } catch (const InputError& e) {
      count(&AlignCounts::failed);
      result.failures.push_back(first_line_of(e.what()));
      csv << csv_escape(s.path) << ",failed\n";
    }
    bar.update(i + 1, std::to_string(result.total.aligned + result.total.several) + " faces");
  }
  bar.finish();
  write_file_atomic((out_dir / "landmarks.csv").string(), csv.str());
  nlohmann::ordered_json summary{{"data", job.data},
                                 {"size", job.align.size},
                                 {"channels", job.align.channels},
                                 {"margin", job.align.margin},
                                 {"input_size", dcfg.detector.input_size},
                                 {"whole_image", job.whole_image},
                                 {"haar_fallback", job.haar_fallback},
                                 {"score_threshold", dcfg.detector.score_threshold},
                                 {"total", result.total.to_json()},
                                 {"crops_written", result.crops_written},
                                 {"failures", result.failures}};
  for (const auto& [name, c] : result.by_pose) summary["by_pose"][name] = c.to_json();
  write_file_atomic((out_dir / "summary.json").string(), summary.dump(2) + "\n");
  return result;
}

}  // namespace posefer
