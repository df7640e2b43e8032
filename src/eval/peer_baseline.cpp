#include "posefer/eval/peer_baseline.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/core/labels.h"
#include "posefer/data/dataset.h"
#include "posefer/io/image_io.h"
#include "posefer/core/progress.h"
#include "posefer/data/splits.h"

namespace posefer {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// face-api class index of a data-set class name, or -1.
int faceapi_index(const std::string& name) {
  const std::vector<std::string> faceapi(kFaceApiExpressions.begin(), kFaceApiExpressions.end());
  return map_expressions({name}, faceapi)[0];
}

}  // namespace

std::vector<std::vector<int>> faceapi_class_mapping(const std::vector<std::string>& classes) {
  std::vector<std::vector<int>> map(classes.size());
  std::vector<bool> used(kFaceApiExpressions.size(), false);
  int rest = -1;  // the "non_x" / "other" class
  for (size_t c = 0; c < classes.size(); ++c) {
    const int k = faceapi_index(classes[c]);
    const std::string n = lower(classes[c]);
    if (k >= 0) {
      map[c].push_back(k);
      used[k] = true;
    } else if (n.rfind("non_", 0) == 0 || n.rfind("non-", 0) == 0 || n == "other") {
      POSEFER_CHECK_CONFIG(rest < 0, "peer mapping: two catch-all classes '", classes[rest], "' and '",
                           classes[c], "'");
      rest = static_cast<int>(c);
    } else {
      throw ConfigError("peer mapping: no face-api expression matches the data set's class '" +
                        classes[c] + "'");
    }
  }
  if (rest >= 0) {
    for (size_t k = 0; k < used.size(); ++k) {
      if (!used[k]) map[rest].push_back(static_cast<int>(k));
    }
  }
  return map;
}

std::string PeerEvalResult::to_markdown(const std::string& title) const {
  std::ostringstream os;
  os << posefer::to_markdown(report, title) << "\n\nClass mapping (data set <- face-api): ";
  for (size_t i = 0; i < mapping.size(); ++i) os << (i ? "; " : "") << mapping[i];
  os << ".\n" << no_face << " image(s) without a detected face (scored on the whole image), "
     << failed << " unreadable.\n";
  for (const auto& f : failures) os << "- " << f << "\n";
  return os.str();
}

PeerEvalResult run_peer_eval(const PeerEvalJob& job) {
  POSEFER_CHECK_CONFIG(job.face == "auto" || job.face == "detect" || job.face == "whole",
                       "--face must be auto, detect or whole, got '", job.face, "'");
  const DataSpec spec = parse_data_spec(job.data);
  const Dataset ds = load_dataset(spec, job.dataset);
  std::vector<size_t> all_indices(ds.samples.size());
  for (size_t i = 0; i < all_indices.size(); ++i) all_indices[i] = i;
  const auto test = subsample(job.fold == "all" ? all_indices : make_split(ds, job.fold, job.split_seed).test,
                              job.max_test, job.split_seed);
  POSEFER_CHECK_CONFIG(!test.empty(), "the test part of split '", job.fold, "' is empty");
  const bool whole = job.face == "whole" || (job.face == "auto" && (spec.kind == "fer2013" || spec.kind == "fer2013csv"));
  const auto mapping = faceapi_class_mapping(ds.expression_names);

  FaceDetectorConfig dcfg = job.detector;
  dcfg.landmarks = true;
  dcfg.expressions = true;
  FaceDetector detector(dcfg);

  PeerEvalResult result;
  for (size_t c = 0; c < mapping.size(); ++c) {
    std::string m = ds.expression_names[c] + " <- ";
    for (size_t i = 0; i < mapping[c].size(); ++i) m += (i ? "+" : "") + std::string(kFaceApiExpressions[mapping[c][i]]);
    result.mapping.push_back(m);
  }
  std::vector<int64_t> pred, truth, group;
  ProgressOptions popt;
  popt.enabled = job.progress;
  popt.unit = "img";
  ProgressBar bar("peer", static_cast<int64_t>(test.size()), popt);
  for (size_t i = 0; i < test.size(); ++i) {
    const Sample& s = ds.samples[test[i]];
    try {
      const auto image = read_image(s.path, 3);
      const FaceBox all{0, 0, double(image.size(2)), double(image.size(1))};
      std::vector<Face> faces;
      if (!whole) faces = detector.detect(image);
      if (!whole && faces.empty()) ++result.no_face;
      if (faces.empty()) faces = detector.describe(image, {all}, {0.0});
      const auto best = std::max_element(faces.begin(), faces.end(), [](const Face& a, const Face& b) {
        return a.box.area() < b.box.area();
      });
      int arg = 0;
      double top = -1;
      for (size_t c = 0; c < mapping.size(); ++c) {
        double p = 0;
        for (int k : mapping[c]) p += best->expressions.at(k);
        if (p > top) {
          top = p;
          arg = static_cast<int>(c);
        }
      }
      pred.push_back(arg);
      truth.push_back(s.expression);
      group.push_back(s.pose);
    } catch (const InputError& e) {
      ++result.failed;
      result.failures.push_back(first_line_of(e.what()));
    }
    bar.update(static_cast<int64_t>(i + 1));
  }
  bar.finish();
  POSEFER_CHECK_INPUT(!pred.empty(), job.data, ": no readable test image");
  result.report = classification_report(torch::tensor(pred), torch::tensor(truth), ds.expression_names,
                                        torch::tensor(group), ds.pose_names);
  return result;
}

}  // namespace posefer
