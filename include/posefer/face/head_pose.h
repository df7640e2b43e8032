// Head pose (yaw, pitch in degrees) from 68 landmarks: a ridge regression on the landmarks in
// the canonical frame (the similarity of align.h removes position, scale and roll, so what is
// left is the shape change that yaw and pitch cause). Calibrated on a data set with pose labels
// (GENKI-4K), then used to give pose bins to data sets without them.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "posefer/face/landmark68.h"

namespace posefer {

// 136 features: the 68 landmarks mapped onto the unit alignment template (x0, y0, x1, y1, ...).
// Throws ShapeError unless there are 68 landmarks.
std::vector<double> head_pose_features(const Landmarks68& landmarks);

struct HeadPoseModel {
  std::vector<double> mean;     // feature means (standardisation)
  std::vector<double> scale;    // feature standard deviations (1 where constant)
  std::vector<double> w_yaw;    // weights, last = bias, on standardised features
  std::vector<double> w_pitch;  // likewise for pitch
  double lambda = 1.0;          // ridge penalty the model was fitted with

  // (yaw, pitch) in degrees.
  std::pair<double, double> predict(const Landmarks68& landmarks) const;
  nlohmann::json to_json() const;
  // Throws InputError naming the problem on a malformed model.
  static HeadPoseModel from_json(const nlohmann::json& j);
};

// Fits the ridge regression (closed form). Throws ShapeError on mismatched sizes or fewer than
// 2 faces, ConfigError for lambda < 0.
HeadPoseModel fit_head_pose(const std::vector<Landmarks68>& landmarks, const std::vector<double>& yaw_deg,
                            const std::vector<double>& pitch_deg, double lambda = 1.0);

// Which column of a `posefer align` landmarks.csv keys the landmarks.
enum class AlignCsvKey {
  kPath,    // the input image path (first face of each image)
  kOutput,  // the aligned PNG's name relative to the align folder (one per face)
};
// Reads the landmarks from a `posefer align` landmarks.csv: key -> 68 landmarks in photo pixels
// (rows without landmarks are left out). Throws InputError naming the file.
std::map<std::string, Landmarks68> read_align_landmarks(const std::string& csv_path,
                                                        AlignCsvKey key = AlignCsvKey::kPath);

// Calibration on a data set with yaw/pitch labels (GENKI-4K): fit on the split's train part,
// mean absolute error on its test part, next to the error of always predicting the train mean.
struct HeadPoseCalibration {
  HeadPoseModel model;          // fitted on the train part
  int64_t train = 0, test = 0;  // faces used (images with landmarks)
  double mae_yaw = 0, mae_pitch = 0;            // test MAE, degrees
  double mean_mae_yaw = 0, mean_mae_pitch = 0;  // test MAE of the constant train-mean guess
};
// `data`: "<kind>:<path>" with yaw/pitch labels; `landmarks_csv`: `posefer align`'s output for it.
// Throws InputError / ConfigError (bad spec, split, CSV, or no labelled faces).
HeadPoseCalibration calibrate_head_pose(const std::string& data, const std::string& landmarks_csv,
                                        const std::string& fold, uint64_t seed, double lambda);

}  // namespace posefer
