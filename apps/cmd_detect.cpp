// posefer detect: faces, 68 landmarks and face-api expression probabilities of photos, as JSON.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "posefer/core/check.h"
#include "posefer/face/face_detector.h"
#include "posefer/io/image_io.h"

namespace posefer::cli {
namespace {

struct DetectOptions {
  std::vector<std::string> images;  // input photos
  std::string draw;                 // output PNG with boxes + landmarks ("" = none)
  FaceDetectorConfig config;        // model folder and detector settings
  bool no_expressions = false;      // skip FaceExpressionNet
  int threads = 0;                  // intra-op threads (0 = all cores)
};

// out.png for one image; out_<k>.png (k = 1, 2, ...) for several.
std::string draw_path(const std::string& draw, size_t index, size_t count) {
  if (count == 1) return draw;
  std::filesystem::path p(draw);
  return (p.parent_path() / (p.stem().string() + "_" + std::to_string(index + 1) + p.extension().string()))
      .string();
}

}  // namespace

Action add_detect(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "detect", "Detect faces, 68 landmarks and face-api expression probabilities (JSON on stdout)");
  auto opt = std::make_shared<DetectOptions>();
  opt->config.model_dir = default_faceapi_model_dir();
  cmd->add_option("images", opt->images, "Input photos")->required()->check(CLI::ExistingFile);
  cmd->add_option("--draw", opt->draw, "Write the photo with boxes and landmarks to this PNG "
                                       "(several photos: NAME_1.png, NAME_2.png, ...)");
  cmd->add_option("--models", opt->config.model_dir,
                  "face-api model folder (default: $POSEFER_MODELS or the one scripts/setup.sh installs)");
  cmd->add_option("--input-size", opt->config.detector.input_size, "Detector input size (multiple of 32)")
      ->check(CLI::Range(32, 4096));
  cmd->add_option("--score", opt->config.detector.score_threshold, "Detector score threshold")
      ->check(CLI::Range(0.0, 0.999));
  cmd->add_flag("--no-expressions", opt->no_expressions, "Skip the expression net");
  cmd->add_option("--threads", opt->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  return [=]() {
    if (opt->threads > 0) torch::set_num_threads(opt->threads);
    FaceDetectorConfig config = opt->config;
    config.expressions = !opt->no_expressions;
    FaceDetector detector(config);
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    int failed = 0;
    for (size_t i = 0; i < opt->images.size(); ++i) {
      const auto& path = opt->images[i];
      try {
        const auto image = read_image(path, 3);
        const auto faces = with_context(path, [&] { return detector.detect(image); });
        out.push_back({{"image", path},
                       {"width", image.size(2)},
                       {"height", image.size(1)},
                       {"faces", faces_to_json(faces)}});
        if (!opt->draw.empty()) {
          write_png(draw_path(opt->draw, i, opt->images.size()), draw_faces(image, faces));
        }
      } catch (const InputError& e) {  // a bad photo: report it and go on with the others
        spdlog::error("{}", first_line_of(e.what()));
        out.push_back({{"image", path}, {"error", first_line_of(e.what())}});
        ++failed;
      }
    }
    std::cout << out.dump(2) << "\n";
    if (failed) spdlog::error("{} of {} image(s) could not be processed", failed, opt->images.size());
    return failed ? 1 : 0;
  };
}

}  // namespace posefer::cli
