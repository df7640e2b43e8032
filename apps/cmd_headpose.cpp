// posefer headpose: calibrate the landmark head-pose regressor on a data set with yaw/pitch
// labels (GENKI-4K) from `posefer align`'s landmarks.csv; reports held-out MAE, writes the model.
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "posefer/face/head_pose.h"
#include "posefer/io/image_io.h"

namespace posefer::cli {

Action add_headpose(CLI::App& app) {
  auto* cmd = app.add_subcommand("headpose", "Calibrate head pose (yaw, pitch) from landmarks on a labelled data set");
  struct Opts {
    std::string data, landmarks, fold = "0/5", out;
    uint64_t seed = 1;
    double lambda = 1.0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--data", o->data, "Data spec with yaw/pitch labels, e.g. genki:DIR")->required();
  cmd->add_option("--landmarks", o->landmarks, "landmarks.csv written by posefer align for that data")->required();
  cmd->add_option("--fold", o->fold, "Split: fit on train, report MAE on test");
  cmd->add_option("--split-seed", o->seed, "Seed of the split");
  cmd->add_option("--lambda", o->lambda, "Ridge penalty")->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--out", o->out, "Write the fitted model (JSON) here");
  return [=]() {
    const auto c = calibrate_head_pose(o->data, o->landmarks, o->fold, o->seed, o->lambda);
    std::cout << "head pose from landmarks (" << o->data << ", " << o->fold << "): " << c.train
              << " train / " << c.test << " test faces\n"
              << "| | yaw MAE (deg) | pitch MAE (deg) |\n|---|---:|---:|\n"
              << "| ridge on landmarks | " << c.mae_yaw << " | " << c.mae_pitch << " |\n"
              << "| train mean (baseline) | " << c.mean_mae_yaw << " | " << c.mean_mae_pitch << " |\n";
    if (!o->out.empty()) write_file_atomic(o->out, c.model.to_json().dump(1) + "\n");
    return 0;
  };
}

}  // namespace posefer::cli
