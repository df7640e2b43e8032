#include "posefer/face/dataset_align.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/data/dataset.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/center_square.h"
#include "posefer/io/image_io.h"
#include "posefer/face/padded_detect.h"
#include "posefer/core/progress.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using csv::escape;

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
          {"no_face", no_face}, {"failed", failed},   {"aligned_via_padded", via_padded}, {"aligned_via_haar", via_haar},
          {"aligned_via_whole_image", via_whole}, {"aligned_via_center_crop", via_center}};
}

std::string DatasetAlignResult::to_markdown() const {
  std::ostringstream os;
  os << "| pose | images | aligned (1 face) | several faces | no face | failed | via padded photo | via Haar | via whole image | via centre crop |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  auto row = [&](const std::string& name, const AlignCounts& c) {
    os << "| " << name << " | " << c.images << " | " << c.aligned << " | " << c.several << " | "
       << c.no_face << " | " << c.failed << " | " << c.via_padded << " | " << c.via_haar << " | " << c.via_whole << " | " << c.via_center << " |\n";
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

namespace {

// One image's outcome, as appended to the journal and replayed from it.
struct AlignEntry {
  int64_t index = 0;                  // sample index in the data set
  std::string path;                   // sample path (checked on replay)
  std::string outcome;                // aligned | several_faces | several_faces_skipped | no_face | failed
  std::string via;                    // detector | haar | whole_image | center ("" without a face)
  std::string reason;                 // failed: the error's first line
  std::vector<std::string> rows;      // landmarks.csv rows of this image
  int64_t crops = 0;                  // PNGs written for it

  nlohmann::json to_json() const {
    return {{"i", index}, {"path", path}, {"outcome", outcome}, {"via", via},
            {"reason", reason}, {"rows", rows}, {"crops", crops}};
  }
  static AlignEntry from_json(const nlohmann::json& j) {
    AlignEntry e;
    e.index = j.at("i").get<int64_t>();
    e.path = j.at("path").get<std::string>();
    e.outcome = j.at("outcome").get<std::string>();
    e.via = j.at("via").get<std::string>();
    e.reason = j.at("reason").get<std::string>();
    e.rows = j.at("rows").get<std::vector<std::string>>();
    e.crops = j.at("crops").get<int64_t>();
    return e;
  }
};

// Adds `e`'s outcome to the counts of its pose and of all images.
void tally(const AlignEntry& e, const std::string& pose, DatasetAlignResult& result) {
  AlignCounts& pc = result.by_pose[pose];
  auto count = [&](int64_t AlignCounts::*field) {
    ++(pc.*field);
    ++(result.total.*field);
  };
  count(&AlignCounts::images);
  if (e.outcome == "failed") {
    count(&AlignCounts::failed);
    result.failures.push_back(e.reason.rfind(e.path, 0) == 0 ? e.reason : e.path + ": " + e.reason);
  } else if (e.outcome == "no_face") {
    count(&AlignCounts::no_face);
  } else {
    count(e.outcome == "aligned" ? &AlignCounts::aligned : &AlignCounts::several);
    if (e.via == "padded") count(&AlignCounts::via_padded);
    if (e.via == "haar") count(&AlignCounts::via_haar);
    if (e.via == "whole_image") count(&AlignCounts::via_whole);
    if (e.via == "center") count(&AlignCounts::via_center);
  }
  result.crops_written += e.crops;
}

// Reads the journal's entries written with `settings`; an entry whose path no longer matches
// its sample (the data changed) is dropped and redone. A last line cut by a kill is ignored.
std::map<int64_t, AlignEntry> read_journal(const fs::path& journal, const nlohmann::json& settings,
                                           const Dataset& ds) {
  std::map<int64_t, AlignEntry> done;
  std::ifstream in(journal);
  if (!in) return done;
  std::string line;
  if (!std::getline(in, line)) return done;
  const auto head = nlohmann::json::parse(line, nullptr, false);
  POSEFER_CHECK_CONFIG(!head.is_discarded() && head.contains("settings"), journal.string(),
                       ": not an align journal (delete it to start over)");
  if (head.at("settings") != settings) {
    std::string diff;
    for (auto it = settings.begin(); it != settings.end(); ++it) {
      const auto& old = head.at("settings");
      if (!old.contains(it.key()) || old.at(it.key()) != it.value()) {
        diff += (diff.empty() ? "" : ", ") + it.key() + " " + (old.contains(it.key()) ? old.at(it.key()).dump() : "?") +
                " -> " + it.value().dump();
      }
    }
    throw ConfigError(journal.string() + ": an interrupted align with other settings (" + diff +
                      ") is in this folder; rerun it with its settings, or use another --out");
  }
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // cut by a kill mid-line
    try {
      AlignEntry e = AlignEntry::from_json(j);
      if (e.index >= 0 && e.index < static_cast<int64_t>(ds.samples.size()) && ds.samples[e.index].path == e.path) {
        done[e.index] = std::move(e);
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  return done;
}

}  // namespace

DatasetAlignResult run_dataset_align_job(const DatasetAlignJob& job) {
  job.align.validate();
  POSEFER_CHECK_CONFIG(!job.out_dir.empty(), "--out is required");
  POSEFER_CHECK_CONFIG(job.limit >= 0, "--limit must be >= 0, got ", job.limit);
  POSEFER_CHECK_CONFIG(job.center_fallback == 0 || (job.center_fallback > 0.1 && job.center_fallback <= 1),
                       "--center-fallback must be 0 (off) or in (0.1, 1], got ", job.center_fallback);
  const DataSpec spec = parse_data_spec(job.data);
  const Dataset ds = load_dataset(spec, job.dataset);
  FaceDetectorConfig dcfg = job.detector;
  dcfg.expressions = false;
  dcfg.landmarks = true;

  const fs::path out_dir(job.out_dir);
  fs::create_directories(out_dir);
  // Everything that changes an image's outcome or crop: a journal is replayed only under the same.
  nlohmann::json settings = {{"data", job.data},
                             {"size", job.align.size},
                             {"channels", job.align.channels},
                             {"margin", job.align.margin},
                             {"input_size", dcfg.detector.input_size},
                             {"score_threshold", dcfg.detector.score_threshold},
                             {"multi_face", static_cast<int>(job.multi)},
                             {"haar_fallback", job.haar_fallback},
                             {"whole_image_fallback", job.whole_image_fallback},
                             {"whole_image", job.whole_image}};
  // Only when set, so an interrupted job of an older posefer still resumes.
  if (job.center_fallback > 0) settings["center_fallback"] = job.center_fallback;
  if (job.padded_fallback) settings["padded_fallback"] = true;
  const fs::path journal_path = out_dir / "align.journal.jsonl";
  std::map<int64_t, AlignEntry> entries = read_journal(journal_path, settings, ds);

  DatasetAlignResult result;
  const int64_t n = job.limit > 0 ? std::min<int64_t>(job.limit, ds.samples.size())
                                  : static_cast<int64_t>(ds.samples.size());
  result.planned = n;
  auto pose_of = [&](const Sample& s) {
    return s.pose < static_cast<int>(ds.pose_names.size()) ? ds.pose_names[s.pose] : std::to_string(s.pose);
  };
  for (const auto& [i, e] : entries) {
    if (i >= n) continue;
    tally(e, pose_of(ds.samples[i]), result);
    ++result.resumed;
  }
  if (result.resumed > 0) {
    spdlog::info("align: {} of {} images done by an earlier run ({}); aligning the rest", result.resumed, n,
                 journal_path.string());
  }
  std::ofstream journal;
  auto open_journal = [&] {
    if (journal.is_open()) return;
    const bool fresh = !fs::exists(journal_path);
    journal.open(journal_path, std::ios::app);
    POSEFER_CHECK_INPUT(journal.good(), journal_path.string(), ": cannot open for writing");
    if (fresh) journal << nlohmann::json{{"settings", settings}}.dump() << "\n";
  };

  std::unique_ptr<FaceDetector> detector;
  std::unique_ptr<HaarFaceDetector> haar;
  ProgressOptions popt;
  popt.enabled = job.progress;
  popt.unit = "img";
  popt.resumed_from = result.resumed;
  ProgressBar bar("align", n, popt);
  int64_t done = result.resumed;
  for (int64_t i = 0; i < n; ++i) {
    if (entries.count(i)) continue;
    if (job.should_stop && job.should_stop()) {
      result.interrupted = true;
      break;
    }
    if (!detector) {  // loaded only when an image is left to align
      detector = std::make_unique<FaceDetector>(dcfg);
      if (job.haar_fallback) haar = std::make_unique<HaarFaceDetector>(job.haar);
    }
    const Sample& s = ds.samples[i];
    AlignEntry e;
    e.index = i;
    e.path = s.path;
    try {
      const auto image = read_image(s.path, 3);
      std::vector<Face> faces;
      const char* via = "detector";
      const FaceBox whole{0, 0, double(image.size(2)), double(image.size(1))};
      if (job.whole_image) {
        faces = detector->describe(image, {whole}, {0.0});
        via = "whole_image";
      } else {
        faces = detector->detect(image);
      }
      if (faces.empty() && job.padded_fallback && !job.whole_image) {
        faces = detect_padded(*detector, image);
        via = "padded";
      }
      if (faces.empty() && haar) {
        const auto boxes = haar->detect(image);
        if (!boxes.empty()) {  // largest box only: cascades give false positives
          faces = detector->describe(image, {boxes.front()}, {0.0});
          via = "haar";
        }
      }
      if (faces.empty() && job.whole_image_fallback) {
        faces = detector->describe(image, {whole}, {0.0});
        via = "whole_image";
      }
      if (faces.empty() && job.center_fallback > 0) {
        // The crop an unaligned run takes of this photo (image_io's centre crop), kept as the
        // face: no landmarks, so the row stops after the transform (readers of landmarks skip it).
        const auto crop = prepare_face_image(image, job.align.channels, job.align.size, CropMode::kCenter,
                                             job.center_fallback);
        const std::string out_rel = output_stem(s.path, spec) + ".png";
        write_png((out_dir / out_rel).string(), crop);
        e.outcome = "aligned";
        e.via = "center";
        e.crops = 1;
        const CenterSquare sq = center_square(static_cast<int>(image.size(1)), static_cast<int>(image.size(2)),
                                              job.center_fallback);
        const double a = static_cast<double>(job.align.size) / sq.side;  // photo -> crop scale
        std::ostringstream row;
        row << std::setprecision(9) << escape(s.path) << ",aligned,center,0," << escape(out_rel) << ",0," << sq.x
            << "," << sq.y << "," << sq.side << "," << sq.side << "," << a << ",0," << -sq.x * a << "," << -sq.y * a;
        e.rows.push_back(row.str());
      } else if (faces.empty()) {
        e.outcome = "no_face";
        e.rows.push_back(escape(s.path) + ",no_face");
      } else {
        const bool several = faces.size() > 1;
        e.outcome = several ? "several_faces" : "aligned";
        e.via = via;
        if (several && job.multi == MultiFacePolicy::kLargest) {
          auto it = std::max_element(faces.begin(), faces.end(), [](const Face& a, const Face& b) {
            return a.box.area() < b.box.area();
          });
          faces = {*it};
        } else if (several && job.multi == MultiFacePolicy::kSkip) {
          faces.clear();
          e.outcome = "several_faces_skipped";
          e.rows.push_back(escape(s.path) + ",several_faces_skipped," + via);
        }
        const std::string stem = output_stem(s.path, spec);
        for (size_t k = 0; k < faces.size(); ++k) {
          const auto aligned = align_face(image, faces[k].landmarks, job.align);
          const std::string out_rel =
              stem + (job.multi == MultiFacePolicy::kAll && several ? "_" + std::to_string(k + 1) : "") + ".png";
          write_png((out_dir / out_rel).string(), aligned.image);
          ++e.crops;
          const auto& b = faces[k].box;
          const auto& t = aligned.transform;
          std::ostringstream row;
          row << std::setprecision(9) << escape(s.path) << "," << (several ? "several_faces" : "aligned") << ","
              << via << "," << k << "," << escape(out_rel) << "," << faces[k].score << "," << b.x << "," << b.y
              << "," << b.width << "," << b.height << "," << t.a << "," << t.b << "," << t.tx << "," << t.ty;
          for (const auto& p : faces[k].landmarks) row << "," << p.x << "," << p.y;
          e.rows.push_back(row.str());
        }
      }
    } catch (const InputError& err) {
      e = AlignEntry{};
      e.index = i;
      e.path = s.path;
      e.outcome = "failed";
      e.reason = first_line_of(err.what());
      e.rows.push_back(escape(s.path) + ",failed");
    }
    // The journal line comes after the image's PNGs: a kill in between redoes the image.
    open_journal();
    journal << e.to_json().dump() << "\n" << std::flush;
    POSEFER_CHECK_INPUT(journal.good(), journal_path.string(), ": cannot write (disk full?)");
    tally(e, pose_of(s), result);
    entries[i] = std::move(e);
    ++done;
    bar.update(done, std::to_string(result.total.aligned + result.total.several) + " faces");
  }
  bar.finish();
  result.done = done;
  if (result.interrupted) return result;
  journal.close();

  std::ostringstream csv, skipped;
  csv << "path,outcome,via,face,output,score,box_x,box_y,box_w,box_h,t_a,t_b,t_x,t_y";
  for (int i = 0; i < 68; ++i) csv << ",x" << i << ",y" << i;
  csv << "\n";
  skipped << "path,outcome,reason\n";
  for (const auto& [i, e] : entries) {
    if (i >= n) continue;
    for (const auto& r : e.rows) csv << r << "\n";
    if (e.crops == 0) {
      const std::string reason = e.outcome == "failed"                  ? e.reason
                                 : e.outcome == "no_face"               ? "no face found"
                                                                        : "several faces (--multi-face skip)";
      skipped << escape(e.path) << "," << e.outcome << "," << escape(reason) << "\n";
    }
  }
  write_file_atomic((out_dir / "landmarks.csv").string(), csv.str());
  write_file_atomic((out_dir / "skipped.csv").string(), skipped.str());
  nlohmann::ordered_json summary{{"data", job.data},
                                 {"size", job.align.size},
                                 {"channels", job.align.channels},
                                 {"margin", job.align.margin},
                                 {"input_size", dcfg.detector.input_size},
                                 {"whole_image", job.whole_image},
                                 {"padded_fallback", job.padded_fallback},
                                 {"haar_fallback", job.haar_fallback},
                                 {"center_fallback", job.center_fallback},
                                 {"score_threshold", dcfg.detector.score_threshold},
                                 {"total", result.total.to_json()},
                                 {"crops_written", result.crops_written},
                                 {"failures", result.failures}};
  for (const auto& [name, c] : result.by_pose) summary["by_pose"][name] = c.to_json();
  write_file_atomic((out_dir / "summary.json").string(), summary.dump(2) + "\n");
  std::error_code ec;
  fs::remove(journal_path, ec);
  return result;
}

}  // namespace posefer
