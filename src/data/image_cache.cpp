#include "posefer/data/image_cache.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "posefer/core/progress.h"

#include "posefer/core/check.h"

namespace posefer {
namespace {

constexpr auto kProgressInterval = std::chrono::milliseconds(250);

}  // namespace

torch::Tensor ImageSet::batch_images(const torch::Tensor& rows) const {
  POSEFER_CHECK_SHAPE(images.defined(), "batch_images: the image set is empty");
  POSEFER_CHECK_SHAPE(rows.defined() && rows.dim() == 1, "batch_images expects 1-D row indices");
  const torch::Tensor idx = rows.to(torch::kCPU, torch::kInt64);
  if (idx.numel() > 0) {
    const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
    POSEFER_CHECK_SHAPE(lo >= 0 && hi < size(), "batch_images: row ", lo < 0 ? lo : hi,
                        " out of range [0, ", size(), ")");
  }
  return to_model_range(images.index_select(0, idx));
}

ImageSet build_image_set(const Dataset& dataset, const std::vector<size_t>& indices,
                         const ImageCacheOptions& options) {
  POSEFER_CHECK_CONFIG(options.size > 0, "image size must be positive, got ", options.size);
  POSEFER_CHECK_CONFIG(options.channels == 1 || options.channels == 3,
                       "channels must be 1 or 3, got ", options.channels);
  POSEFER_CHECK_CONFIG(options.crop_fraction > 0.0 && options.crop_fraction <= 1.0,
                       "crop fraction must be in (0, 1], got ", options.crop_fraction);
  for (size_t i : indices) {
    POSEFER_CHECK_CONFIG(i < dataset.samples.size(), "sample index ", i, " out of range (",
                         dataset.samples.size(), " samples)");
  }

  const int64_t m = static_cast<int64_t>(indices.size());
  const int64_t c = options.channels, n = options.size;
  const int64_t per_image = c * n * n;
  ImageSet set;
  // Preallocated once; workers write disjoint rows, so no locking on the pixels.
  set.images = torch::empty({m, c, n, n}, torch::kUInt8);
  if (m == 0) {
    set.expression = torch::empty({0}, torch::kInt64);
    set.pose = torch::empty({0}, torch::kInt64);
    set.subject = torch::empty({0}, torch::kInt64);
    return set;
  }

  std::vector<std::string> errors(static_cast<size_t>(m));  // "" = decoded fine
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  uint8_t* base = set.images.data_ptr<uint8_t>();

  int threads = options.threads > 0 ? options.threads
                                    : static_cast<int>(std::thread::hardware_concurrency());
  threads = static_cast<int>(std::clamp<int64_t>(threads, 1, m));

  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  const auto worker = [&] {
    for (int64_t i; !stop.load() && (i = next.fetch_add(1)) < m;) {
      const Sample& s = dataset.samples[indices[static_cast<size_t>(i)]];
      try {
        const torch::Tensor img =
            load_face_image(s.path, options.channels, options.size, options.crop,
                            options.crop_fraction);
        std::memcpy(base + i * per_image, img.data_ptr<uint8_t>(),
                    static_cast<size_t>(per_image));
      } catch (const std::exception& e) {
        // read_image messages already read "<path>: cannot read image (...)".
        const std::string msg = first_line_of(e.what());
        errors[static_cast<size_t>(i)] =
            msg.compare(0, s.path.size(), s.path) == 0 ? msg : s.path + ": " + msg;
        if (!options.skip_unreadable) stop.store(true);
      }
      done.fetch_add(1);
    }
    std::lock_guard<std::mutex> lock(mu);
    ++finished;
    cv.notify_all();
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  {
    ProgressOptions popt;
    popt.enabled = options.progress;
    popt.unit = "img";
    ProgressBar bar("decode", m, popt);
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, kProgressInterval, [&] { return finished == threads; })) {
      bar.update(done.load());
    }
    bar.update(done.load());
    bar.finish();
  }
  for (auto& t : pool) t.join();

  // Lowest failing row first, so the reported error does not depend on thread timing. Rows are
  // claimed in increasing order and always finished, so every row before it was decoded.
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) {
    const std::string& err = errors[static_cast<size_t>(i)];
    if (!err.empty()) {
      if (!options.skip_unreadable) throw InputError(err);
      // Named every time (not only with a progress bar): a test figure's n must be explainable.
      spdlog::warn("skipped (unreadable): {}", err);
      set.skipped.push_back(err);
    } else {
      keep.push_back(i);
    }
  }
  if (keep.empty()) {
    throw InputError("none of the " + std::to_string(m) + " images could be read (first: " +
                     set.skipped.front() + ")");
  }
  if (static_cast<int64_t>(keep.size()) < m) {
    // Compact: drop the rows of unreadable images, keeping the order of `indices`.
    set.images = set.images.index_select(0, torch::tensor(keep, torch::kInt64));
  }
  std::vector<int64_t> expr, pose, subject;
  std::map<std::string, int64_t> subject_ids;
  for (int64_t i : keep) {
    const size_t idx = indices[static_cast<size_t>(i)];
    const Sample& s = dataset.samples[idx];
    set.sample_index.push_back(idx);
    expr.push_back(s.expression);
    pose.push_back(s.pose);
    subject.push_back(subject_ids.emplace(s.subject, static_cast<int64_t>(subject_ids.size())).first->second);
  }
  set.expression = torch::tensor(expr, torch::kInt64);
  set.pose = torch::tensor(pose, torch::kInt64);
  set.subject = torch::tensor(subject, torch::kInt64);

  if (options.progress) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("decoded {} images ({} unreadable skipped) in {:.1f} s", set.size(),
                 set.skipped.size(), secs);
  }
  return set;
}

}  // namespace posefer
