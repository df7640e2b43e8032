// Tiny labelled face sets as manifest CSVs, and a tiny trained joint model, for the tests of
// augment and experiment.
#pragma once

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model_test_util.h"
#include "posefer/jobs/pipeline.h"

namespace posefer::test {

// people x expressions x poses 32x32 colour images under dir/images, listed in dir/manifest.csv
// (path,subject,expression,pose[,group]). The pose moves a bright square; the expression sets
// its colour; each person has their own background. `groups` (optional) cycles over the people.
inline std::string write_face_manifest(const std::filesystem::path& dir, int people,
                                       const std::vector<std::string>& expressions,
                                       const std::vector<std::string>& poses,
                                       const std::vector<std::string>& groups = {}) {
  std::filesystem::create_directories(dir / "images");
  std::ofstream csv(dir / "manifest.csv");
  csv << "path,subject,expression,pose" << (groups.empty() ? "" : ",group") << "\n";
  for (int s = 0; s < people; ++s) {
    for (size_t e = 0; e < expressions.size(); ++e) {
      for (size_t p = 0; p < poses.size(); ++p) {
        cv::Mat img(32, 32, CV_8UC3, cv::Scalar(40 + 20 * s, 60, 90));
        const int x = 4 + static_cast<int>(p) * 8;
        cv::rectangle(img, cv::Rect(x, 10, 12, 12), cv::Scalar(255 - 90 * e, 80 + 80 * e, 200), cv::FILLED);
        const std::string name = "images/s" + std::to_string(s) + "_" + expressions[e] + "_" + poses[p] + ".png";
        cv::imwrite((dir / name).string(), img);
        csv << name << ",s" << s << "," << expressions[e] << "," << poses[p];
        if (!groups.empty()) csv << "," << groups[static_cast<size_t>(s) % groups.size()];
        csv << "\n";
      }
    }
  }
  return (dir / "manifest.csv").string();
}

// The TrainJob of a few-second run on `spec` (32 px, 3 channels, narrow nets, no judge).
inline TrainJob tiny_train_job(const std::string& spec, const std::string& fold) {
  TrainJob job;
  job.config.model = tiny_model_config();
  job.config.model.channels = 3;
  job.config.data.spec = spec;
  job.config.data.fold = fold;
  job.config.batch_size = 4;
  job.config.epochs = 1;
  job.config.gen_k = 1;
  job.config.gen_warmup = 0;
  job.config.loss.cls_feedback_warmup = 0;
  job.config.threads = 1;
  job.config.progress = false;
  job.channels = 3;
  job.eval.disentangle = false;
  job.eval.progress = false;
  return job;
}

}  // namespace posefer::test
