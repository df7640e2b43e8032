// What `posefer classify` reads: the files below the inputs given (images and videos, sorted) and
// the frames a video will give. Internal to src/jobs/ (classify.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#ifdef POSEFER_HAVE_VIDEOIO
#include <opencv2/videoio.hpp>
#endif

#include "posefer/jobs/classify.h"

namespace posefer::classify_detail {

// One file to classify.
struct InputFile {
  std::string path;        // as given, or found below a folder given
  std::string name;        // annotation name: relative to the folder given, or the file name
  bool video = false;
  bool in_folder = false;  // found in a folder: an unreadable file is a warning, not an error
};

// Image and video files, folders searched recursively and sorted; throws InputError naming an
// input that does not exist or a folder with no image or video.
std::vector<InputFile> expand_inputs(const std::vector<std::string>& inputs);

#ifdef POSEFER_HAVE_VIDEOIO
// Opens a video; throws InputError naming it when OpenCV cannot.
cv::VideoCapture open_video(const std::string& path);
#endif

// Frames of `path` that a job classifies (for the progress bar; an estimate from the header).
int64_t planned_frames(const std::string& path, const ClassifyJob& job);

}  // namespace posefer::classify_detail
