// Prints the faces of a photo: box, expression, head pose.
//   recognize PHOTO [MODEL]    MODEL: a `posefer train` run folder, or faceapi (the default)
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "posefer/api/recognizer.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s PHOTO [RUN_FOLDER|faceapi]\n", argv[0]);
    return 2;
  }
  try {
    const posefer::Recognizer recognizer(argc == 3 ? argv[2] : "faceapi");
    const cv::Mat photo = cv::imread(argv[1], cv::IMREAD_COLOR);
    if (photo.empty()) {
      std::fprintf(stderr, "recognize: cannot read %s\n", argv[1]);
      return 1;
    }
    const auto faces = recognizer.recognize(photo);
    std::printf("%s: %zu face(s)\n", argv[1], faces.size());
    for (size_t i = 0; i < faces.size(); ++i) {
      const auto& f = faces[i];
      std::printf("face %zu: box %.0f,%.0f %.0fx%.0f  %s %.2f  roll %.1f", i, f.box.x, f.box.y, f.box.width,
                  f.box.height, f.expression.c_str(), f.confidence, f.roll);
      if (f.has_yaw_pitch) std::printf(" yaw %.1f pitch %.1f", f.yaw, f.pitch);
      if (!f.pose.empty()) std::printf("  pose %s %.2f", f.pose.c_str(), f.pose_confidence);
      std::printf("\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recognize: error: %s\n", e.what());
    return 1;
  }
}
