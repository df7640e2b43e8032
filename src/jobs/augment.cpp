#include "posefer/jobs/augment.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/io/image_io.h"
#include "posefer/core/labels.h"
#include "posefer/jobs/pipeline.h"
#include "posefer/core/progress.h"

namespace posefer {

namespace fs = std::filesystem;

namespace {

// Everything that decides the output, so a rerun with the same job reuses the folder.
nlohmann::json augment_key(const AugmentJob& job, const std::string& checkpoint) {
  std::error_code ec;
  const auto stamp = fs::last_write_time(checkpoint, ec);
  return {{"checkpoint", fs::absolute(checkpoint).lexically_normal().string()},
          {"checkpoint_time", ec ? 0 : static_cast<int64_t>(stamp.time_since_epoch().count())},
          {"data", job.data},
          {"k", job.k},
          {"seed", job.seed}};
}

}  // namespace

AugmentResult run_augment_job(const AugmentJob& job) {
  POSEFER_CHECK_CONFIG(job.k >= 1 && job.k <= 1000, "augment: k must be in [1, 1000], got ", job.k);
  POSEFER_CHECK_CONFIG(job.batch >= 1, "augment: batch must be >= 1, got ", job.batch);
  POSEFER_CHECK_CONFIG(!job.out.empty(), "augment: an output folder is required");
  const auto start = std::chrono::steady_clock::now();
  set_threads(job.threads);
  const std::string ckpt = resolve_checkpoint_path(job.checkpoint);
  AugmentResult result;
  const fs::path out(job.out);
  result.manifest = (out / "manifest.csv").string();
  const nlohmann::json key = augment_key(job, ckpt);
  std::error_code ec;
  if (fs::is_regular_file(out / "augment.json", ec) && fs::is_regular_file(result.manifest, ec)) {
    try {
      const auto done = nlohmann::json::parse(read_text_file((out / "augment.json").string()));
      if (done.at("key") == key) {
        result.reused = true;
        result.sources = done.at("sources").get<int64_t>();
        result.generated = done.at("generated").get<int64_t>();
        result.mapping = done.at("mapping").get<std::vector<std::string>>();
        spdlog::info("augment: reusing {}", job.out);
        return result;
      }
    } catch (const nlohmann::json::exception&) {
      // A damaged record: generate again.
    }
  }

  LoadedModel a = load_trained_model(ckpt);
  const auto& ma = a.config.model;
  PrepareOptions popt;
  popt.image_size = ma.image_size;
  popt.channels = ma.channels;
  popt.train = true;
  popt.test = false;
  popt.progress = job.progress;
  popt.threads = job.threads;
  const PreparedData b = prepare_data(job.data, popt);
  POSEFER_CHECK_INPUT(b.train.size() > 0, "augment: ", job.data.spec, " has no training images in split ",
                      job.data.fold);

  const auto& a_expr = a.state.expression_names;
  const auto& a_pose = a.state.pose_names;
  const auto& b_expr = b.dataset.expression_names;
  const auto& b_pose = b.dataset.pose_names;
  const std::vector<int> to_b = map_expressions(a_expr, b_expr);
  std::vector<int64_t> drawable;
  for (size_t i = 0; i < a_expr.size(); ++i) {
    result.mapping.push_back(a_expr[i] + " -> " + (to_b[i] >= 0 ? b_expr[static_cast<size_t>(to_b[i])] : "(none)"));
    if (to_b[i] >= 0) drawable.push_back(static_cast<int64_t>(i));
  }
  POSEFER_CHECK_CONFIG(!drawable.empty(), "augment: none of the model's expressions (", a_expr.size(),
                       ") has a class of the same name in ", job.data.spec);
  std::vector<int> pose_to_b(a_pose.size(), -1);
  bool all_poses_named = true;
  for (size_t i = 0; i < a_pose.size(); ++i) {
    for (size_t j = 0; j < b_pose.size(); ++j) {
      if (a_pose[i] == b_pose[j]) pose_to_b[i] = static_cast<int>(j);
    }
    all_poses_named = all_poses_named && pose_to_b[i] >= 0;
  }
  if (!all_poses_named) {
    spdlog::warn("augment: the model's poses are not all poses of {}; generated faces keep their source's pose label",
                 job.data.spec);
  }

  fs::create_directories(out / "images");
  std::mt19937_64 rng(job.seed);
  const int64_t m = b.train.size();
  const int64_t total = m * job.k;
  std::ostringstream csv;
  csv << "path,subject,expression,pose,source,target_expression,target_pose\n";
  ProgressOptions prog;
  prog.enabled = job.progress;
  prog.unit = "face";
  ProgressBar bar("augment", total, prog);
  torch::NoGradGuard no_grad;
  auto& gen = *a.model->gen;
  int64_t written = 0;
  for (int64_t start = 0; start < total; start += job.batch) {
    const int64_t len = std::min<int64_t>(job.batch, total - start);
    std::vector<int64_t> src(static_cast<size_t>(len)), te(static_cast<size_t>(len)), tp(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; ++i) {
      src[static_cast<size_t>(i)] = (start + i) % m;
      te[static_cast<size_t>(i)] = drawable[rng() % drawable.size()];
      tp[static_cast<size_t>(i)] = static_cast<int64_t>(rng() % a_pose.size());
    }
    const auto rows = torch::tensor(src, torch::kInt64);
    const auto x = b.train.batch_images(rows).to(a.model->device);
    const auto faces = gen.forward(x, torch::tensor(te, torch::kInt64).to(a.model->device),
                                   torch::tensor(tp, torch::kInt64).to(a.model->device))
                           .cpu();
    for (int64_t i = 0; i < len; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "g%08lld.png", static_cast<long long>(start + i));
      write_png((out / "images" / name).string(), faces[i]);
      const int64_t r = src[static_cast<size_t>(i)];
      const auto& sample = b.dataset.samples[b.train.sample_index[static_cast<size_t>(r)]];
      const int bp = pose_to_b[static_cast<size_t>(tp[static_cast<size_t>(i)])];
      csv << "images/" << name << "," << sample.subject << ","
          << b_expr[static_cast<size_t>(to_b[static_cast<size_t>(te[static_cast<size_t>(i)])])] << ","
          << b_pose[static_cast<size_t>(bp >= 0 ? bp : sample.pose)] << "," << sample.path << ","
          << a_expr[static_cast<size_t>(te[static_cast<size_t>(i)])] << ","
          << a_pose[static_cast<size_t>(tp[static_cast<size_t>(i)])] << "\n";
    }
    written += len;
    bar.update(written);
  }
  bar.finish();
  // The manifest and the record last: an interrupted run leaves no manifest to train on.
  write_file_atomic(result.manifest, csv.str());
  result.sources = m;
  result.generated = written;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic((out / "augment.json").string(),
                    nlohmann::json{{"key", key},
                                   {"sources", result.sources},
                                   {"generated", result.generated},
                                   {"mapping", result.mapping}}
                            .dump(2) +
                        "\n");
  spdlog::info("augment: {} faces from {} images of {} in {:.1f} s -> {}", written, m, job.data.spec, result.seconds,
               result.manifest);
  return result;
}

}  // namespace posefer
