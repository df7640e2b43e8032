#include "posefer/face/head_pose.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "posefer/face/align.h"
#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/data/dataset.h"
#include "posefer/data/splits.h"

namespace posefer {

std::vector<double> head_pose_features(const Landmarks68& lm) {
  AlignConfig unit;
  unit.size = 112;
  unit.margin = 0;
  const auto t = fit_similarity(alignment_points(lm), alignment_template(unit));
  std::vector<double> f;
  f.reserve(136);
  for (const auto& p : lm) {
    const auto q = t.apply(p);
    f.push_back(q.x / 112.0);
    f.push_back(q.y / 112.0);
  }
  return f;
}

std::pair<double, double> HeadPoseModel::predict(const Landmarks68& landmarks) const {
  const auto f = head_pose_features(landmarks);
  POSEFER_CHECK_SHAPE(mean.size() == f.size() && w_yaw.size() == f.size() + 1 &&
                          w_pitch.size() == f.size() + 1 && scale.size() == f.size(),
                      "head pose model does not match the features (", f.size(), ")");
  double yaw = w_yaw.back(), pitch = w_pitch.back();
  for (size_t i = 0; i < f.size(); ++i) {
    const double z = (f[i] - mean[i]) / scale[i];
    yaw += w_yaw[i] * z;
    pitch += w_pitch[i] * z;
  }
  return {yaw, pitch};
}

nlohmann::json HeadPoseModel::to_json() const {
  return {{"features", "68 landmarks on the unit alignment template"}, {"lambda", lambda},
          {"mean", mean}, {"scale", scale}, {"w_yaw", w_yaw}, {"w_pitch", w_pitch}};
}

HeadPoseModel HeadPoseModel::from_json(const nlohmann::json& j) {
  HeadPoseModel m;
  try {
    m.lambda = j.at("lambda").get<double>();
    m.mean = j.at("mean").get<std::vector<double>>();
    m.scale = j.at("scale").get<std::vector<double>>();
    m.w_yaw = j.at("w_yaw").get<std::vector<double>>();
    m.w_pitch = j.at("w_pitch").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("malformed head pose model: ") + e.what());
  }
  POSEFER_CHECK_INPUT(m.mean.size() == 136 && m.scale.size() == 136 && m.w_yaw.size() == 137 &&
                          m.w_pitch.size() == 137,
                      "malformed head pose model: expected 136 features");
  return m;
}

HeadPoseModel fit_head_pose(const std::vector<Landmarks68>& landmarks, const std::vector<double>& yaw,
                            const std::vector<double>& pitch, double lambda) {
  POSEFER_CHECK_SHAPE(landmarks.size() == yaw.size() && yaw.size() == pitch.size() && yaw.size() >= 2,
                      "fit_head_pose: need >= 2 faces with yaw and pitch, got ", landmarks.size(),
                      "/", yaw.size(), "/", pitch.size());
  POSEFER_CHECK_CONFIG(lambda >= 0, "ridge lambda must be >= 0, got ", lambda);
  const int64_t n = static_cast<int64_t>(landmarks.size()), d = 136;
  auto x = torch::empty({n, d}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    const auto f = head_pose_features(landmarks[i]);
    x[i] = torch::tensor(f, torch::kFloat64);
  }
  const auto mean = x.mean(0);
  auto sd = x.std(0, /*unbiased=*/false);
  sd = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
  const auto z = torch::cat({(x - mean) / sd, torch::ones({n, 1}, torch::kFloat64)}, 1);
  auto reg = torch::eye(d + 1, torch::kFloat64) * lambda;
  reg[d][d] = 0;  // no penalty on the bias
  const auto y = torch::stack({torch::tensor(yaw, torch::kFloat64), torch::tensor(pitch, torch::kFloat64)}, 1);
  const auto w = torch::linalg_solve(z.t().mm(z) + reg, z.t().mm(y)).contiguous();
  HeadPoseModel m;
  m.lambda = lambda;
  auto vec = [](const torch::Tensor& t) {
    const auto c = t.contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  m.mean = vec(mean);
  m.scale = vec(sd);
  m.w_yaw = vec(w.select(1, 0));
  m.w_pitch = vec(w.select(1, 1));
  return m;
}

std::map<std::string, Landmarks68> read_align_landmarks(const std::string& csv_path, AlignCsvKey key) {
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) throw InputError(csv_path + ": cannot open landmarks CSV");
  csv::Reader reader(in, csv_path);
  csv::Record rec;
  const bool has_header = reader.next(rec);
  const std::string head = has_header ? csv::join_row(rec.fields) : "";
  POSEFER_CHECK_INPUT(head.rfind("path,outcome,via,face,output,score", 0) == 0, csv_path,
                      ": not a posefer align landmarks.csv (header '", head.substr(0, 40), "')");
  std::map<std::string, Landmarks68> out;
  while (reader.next(rec)) {
    const auto& cells = rec.fields;  // paths with commas come quoted: the reader keeps them whole
    // 14 leading columns (path .. t_y), then x0, y0, ..., x67, y67.
    if (cells.size() < 14 + 136) continue;  // no face on this row
    const std::string& k = key == AlignCsvKey::kPath ? cells[0] : cells[4];
    if ((key == AlignCsvKey::kPath && cells[3] != "0") || out.count(k)) continue;
    Landmarks68 lm(68);
    try {
      for (int i = 0; i < 68; ++i) {
        lm[i].x = std::stod(cells[14 + 2 * i]);
        lm[i].y = std::stod(cells[15 + 2 * i]);
      }
    } catch (const std::exception&) {
      throw InputError(csv_path + ":" + std::to_string(rec.line) + ": malformed landmark value");
    }
    out[k] = lm;
  }
  return out;
}

HeadPoseCalibration calibrate_head_pose(const std::string& data, const std::string& landmarks_csv,
                                        const std::string& fold, uint64_t seed, double lambda) {
  const Dataset ds = load_dataset(parse_data_spec(data));
  const Split split = make_split(ds, fold, seed);
  const auto lms = read_align_landmarks(landmarks_csv);
  auto gather = [&](const std::vector<size_t>& idx, std::vector<Landmarks68>& l, std::vector<double>& y,
                    std::vector<double>& p) {
    for (size_t i : idx) {
      auto it = lms.find(ds.samples[i].path);
      if (it == lms.end()) continue;
      l.push_back(it->second);
      y.push_back(ds.samples[i].yaw_deg);
      p.push_back(ds.samples[i].pitch_deg);
    }
  };
  std::vector<Landmarks68> ltr, lte;
  std::vector<double> ytr, ptr, yte, pte;
  gather(split.train, ltr, ytr, ptr);
  gather(split.test, lte, yte, pte);
  POSEFER_CHECK_INPUT(ltr.size() >= 2 && !lte.empty(), landmarks_csv, ": too few faces with landmarks (",
                      ltr.size(), " train, ", lte.size(), " test) for ", data);
  HeadPoseCalibration c;
  c.model = fit_head_pose(ltr, ytr, ptr, lambda);
  c.train = static_cast<int64_t>(ltr.size());
  c.test = static_cast<int64_t>(lte.size());
  double my = 0, mp = 0;
  for (size_t i = 0; i < ytr.size(); ++i) {
    my += ytr[i] / ytr.size();
    mp += ptr[i] / ptr.size();
  }
  for (size_t i = 0; i < lte.size(); ++i) {
    const auto [yaw, pitch] = c.model.predict(lte[i]);
    c.mae_yaw += std::abs(yaw - yte[i]) / lte.size();
    c.mae_pitch += std::abs(pitch - pte[i]) / lte.size();
    c.mean_mae_yaw += std::abs(my - yte[i]) / lte.size();
    c.mean_mae_pitch += std::abs(mp - pte[i]) / lte.size();
  }
  return c;
}

}  // namespace posefer
