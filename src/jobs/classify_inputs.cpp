// What `posefer classify` reads (classify_inputs.h).
#include "classify_inputs.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "posefer/core/check.h"
#include "posefer/data/dataset_util.h"

namespace posefer::classify_detail {

namespace fs = std::filesystem;

namespace {

bool has_video_extension(const fs::path& p) {
  static const std::vector<std::string> k{".mp4", ".avi", ".mov", ".mkv", ".webm"};
  return data_util::index_of(k, data_util::to_lower(p.extension().string())) >= 0;
}

}  // namespace

std::vector<InputFile> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<InputFile> out;
  for (const std::string& arg : inputs) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      size_t found = 0;
      for (const fs::path& f : data_util::sorted_files_recursive(arg)) {
        const bool video = has_video_extension(f);
        if (!video && !data_util::has_image_extension(f)) continue;
        out.push_back({f.string(), fs::relative(f, arg, ec).string(), video, true});
        if (ec || out.back().name.empty()) out.back().name = f.filename().string();
        ++found;
      }
      POSEFER_CHECK_INPUT(found > 0, arg, ": no images or videos in this folder");
    } else {
      if (!fs::exists(arg, ec)) throw InputError(arg + ": no such file or directory");
      out.push_back({arg, fs::path(arg).filename().string(), has_video_extension(arg), false});
    }
  }
  return out;
}

#ifdef POSEFER_HAVE_VIDEOIO
cv::VideoCapture open_video(const std::string& path) {
  cv::VideoCapture cap;
  try {
    cap.open(path);
  } catch (const cv::Exception&) {
    cap.release();
  }
  if (!cap.isOpened()) throw InputError(path + ": cannot read video (not a video, corrupt, or no decoder)");
  return cap;
}
#endif

int64_t planned_frames(const std::string& path, const ClassifyJob& job) {
#ifdef POSEFER_HAVE_VIDEOIO
  try {
    cv::VideoCapture cap = open_video(path);
    const auto n = static_cast<int64_t>(std::max(0.0, cap.get(cv::CAP_PROP_FRAME_COUNT)));
    const int64_t classified = (n + job.every - 1) / job.every;
    return std::max<int64_t>(1, job.max_frames > 0 ? std::min(classified, job.max_frames) : classified);
  } catch (const InputError&) {
    return 1;  // reported when it is read
  }
#else
  (void)path;
  (void)job;
  return 1;
#endif
}

}  // namespace posefer::classify_detail
