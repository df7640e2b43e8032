// Speed of the face front end (FaceDetector: TinyFaceDetector at 416 -> FaceLandmark68Net ->
// FaceExpressionNet, as `posefer detect` runs it) on face-api's six reference photos, per photo,
// optionally next to face-api itself in Node.js (bench/reference/faceapi_bench.js).
//
// Usage: posefer_bench_faceapi [--inputs DIR] [IMAGE...] [--threads 2] [--runs 5]
//                              [--input-size 416] [--models DIR] [--node-json FILE] [--json FILE]
//
// Timed: FaceDetector::detect on the decoded uint8 RGB image, i.e. detection + 68 landmarks +
// expressions end to end (the shrink of photos over 2048 px included; none of the six is). Not
// timed: reading and decoding the file, loading the weights. Per photo: 1 warm-up run, then
// `runs` timed runs; median, min and max ms. --node-json adds face-api's medians (same photos,
// matched by file name) and the ratio face-api / posefer (> 1: posefer is faster).
// Without --inputs and IMAGE arguments the photos are ../shared/reference/faceapi/inputs/
// sample1..6.png; when that folder is absent the program prints "skipped" and exits 0.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench_util.h"
#include "posefer/core/blas_tuning.h"
#include "posefer/core/check.h"
#include "posefer/face/face_detector.h"
#include "posefer/io/image_io.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kProgram = "posefer_bench_faceapi";
constexpr int kReferenceImages = 6;  // sample1.png .. sample6.png

struct Options {
  std::string inputs;               // folder of sample1..6.png ("" = the reference folder)
  std::vector<std::string> images;  // explicit photos (replace the six samples)
  int threads = 2;                  // intra-op threads
  int runs = 5;                     // timed runs per photo, after 1 warm-up
  int input_size = 416;             // detector input side
  std::string models;               // face-api model folder ("" = default_faceapi_model_dir())
  std::string node_json;            // faceapi_bench.js output ("" = none)
  std::string json;                 // write the results here ("" = none)
};

// One photo's timings.
struct Result {
  std::string image;  // file name
  int64_t width = 0, height = 0;
  size_t faces = 0;
  double first_ms = 0;          // the warm-up run
  std::vector<double> runs_ms;  // the timed runs
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s [--inputs DIR] [IMAGE...] [--threads 2] [--runs 5] [--input-size 416] "
               "[--models DIR] [--node-json FILE] [--json FILE]\n",
               kProgram, why.c_str(), kProgram);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  using posefer::bench::to_number;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (flag.rfind("--", 0) != 0) {
      o.images.push_back(flag);
      continue;
    }
    if (i + 1 >= argc) usage(flag + ": missing value");
    const std::string v = argv[++i];
    if (flag == "--inputs") {
      o.inputs = v;
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(to_number(kProgram, flag, v));
    } else if (flag == "--runs") {
      o.runs = static_cast<int>(to_number(kProgram, flag, v));
    } else if (flag == "--input-size") {
      o.input_size = static_cast<int>(to_number(kProgram, flag, v));
    } else if (flag == "--models") {
      o.models = v;
    } else if (flag == "--node-json") {
      o.node_json = v;
    } else if (flag == "--json") {
      o.json = v;
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.runs < 1) usage("--runs must be >= 1");
  if (o.threads < 1) usage("--threads must be >= 1");
  if (o.input_size < 32 || o.input_size % 32 != 0) usage("--input-size must be a multiple of 32");
  if (!o.inputs.empty() && !o.images.empty()) usage("give either --inputs DIR or IMAGE arguments, not both");
  return o;
}

// The photos to time; empty when the default reference folder is absent (the caller skips).
std::vector<std::string> photo_paths(const Options& o) {
  if (!o.images.empty()) return o.images;
  const std::string dir = o.inputs.empty() ? std::string(POSEFER_SHARED_DIR) + "/reference/faceapi/inputs" : o.inputs;
  if (o.inputs.empty() && !fs::is_directory(dir)) return {};
  if (!fs::is_directory(dir)) throw posefer::InputError(dir + ": no such folder (--inputs)");
  std::vector<std::string> paths;
  for (int k = 1; k <= kReferenceImages; ++k) {
    paths.push_back((fs::path(dir) / ("sample" + std::to_string(k) + ".png")).string());
  }
  return paths;
}

// file name -> face-api's median ms, from faceapi_bench.js's JSON ({"images": [{"image", "median_ms"}]}).
std::map<std::string, double> read_node_medians(const std::string& path, ordered_json& meta) {
  const auto text = posefer::read_text_file(path);
  ordered_json doc;
  try {
    doc = ordered_json::parse(text);
  } catch (const std::exception& e) {
    throw posefer::InputError(path + ": not JSON (" + posefer::first_line_of(e.what()) + ")");
  }
  if (!doc.contains("images") || !doc["images"].is_array()) {
    throw posefer::InputError(path + ": no \"images\" array (expected faceapi_bench.js output)");
  }
  std::map<std::string, double> medians;
  for (const auto& im : doc["images"]) medians[im.at("image").get<std::string>()] = im.at("median_ms").get<double>();
  for (const char* key : {"faceapi", "tfjs", "backend", "simd", "threads", "node"}) {
    if (doc.contains(key)) meta[key] = doc[key];
  }
  return medians;
}

Result time_photo(posefer::FaceDetector& detector, const std::string& path, int runs) {
  const auto image = posefer::read_image(path, 3);  // decode: not timed
  Result r;
  r.image = fs::path(path).filename().string();
  r.width = image.size(2);
  r.height = image.size(1);
  auto t0 = std::chrono::steady_clock::now();
  r.faces = detector.detect(image).size();
  r.first_ms = 1e3 * posefer::bench::seconds_since(t0);
  for (int i = 0; i < runs; ++i) {
    t0 = std::chrono::steady_clock::now();
    const auto faces = detector.detect(image);
    r.runs_ms.push_back(1e3 * posefer::bench::seconds_since(t0));
    POSEFER_CHECK(faces.size() == r.faces, path, ": ", faces.size(), " faces on run ", i + 2, ", ", r.faces,
                  " on the first");
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    const auto paths = photo_paths(o);
    if (paths.empty()) {
      std::printf("%s: skipped: reference photos not found (%s/reference/faceapi/inputs); give --inputs DIR\n",
                  kProgram, POSEFER_SHARED_DIR);
      return 0;
    }
    for (const auto& p : paths) {
      if (!fs::is_regular_file(p)) throw posefer::InputError(p + ": cannot read image (missing file)");
    }
    ordered_json node_meta = ordered_json::object();
    const auto node = o.node_json.empty() ? std::map<std::string, double>{} : read_node_medians(o.node_json, node_meta);

    torch::set_num_threads(o.threads);
    posefer::FaceDetectorConfig config;
    config.model_dir = o.models;
    config.detector.input_size = o.input_size;
    posefer::FaceDetector detector(config);  // weights: loaded once, not timed

    const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
    std::printf("%s: detect + 68 landmarks + expressions per photo (decode and weight loading not timed), "
                "input %d, %d intra-op thread(s), median of %d run(s) after 1 warm-up, OpenBLAS kernels: %s, "
                "OMP_WAIT_POLICY %s\n",
                kProgram, o.input_size, torch::get_num_threads(), o.runs,
                posefer::openblas_core().empty() ? "(not loaded)" : posefer::openblas_core().c_str(),
                wait_policy ? wait_policy : "(unset)");
    if (!node.empty()) {
      std::printf("face-api: %s\n", node_meta.dump().c_str());
    }
    const bool with_node = !node.empty();
    std::printf("%-12s  %9s  %5s  %10s  %8s  %8s", "image", "size", "faces", "posefer ms", "min", "max");
    if (with_node) std::printf("  %11s  %12s", "face-api ms", "face-api/pf");
    std::printf("\n");

    ordered_json out_images = ordered_json::array();
    double total = 0, total_node = 0;
    bool node_complete = with_node;
    for (const auto& path : paths) {
      const Result r = time_photo(detector, path, o.runs);
      const double med = posefer::bench::median(r.runs_ms);
      const auto [lo, hi] = std::minmax_element(r.runs_ms.begin(), r.runs_ms.end());
      total += med;
      const std::string size = std::to_string(r.width) + "x" + std::to_string(r.height);
      std::printf("%-12s  %9s  %5zu  %10.1f  %8.1f  %8.1f", r.image.c_str(), size.c_str(), r.faces, med, *lo, *hi);
      ordered_json row{{"image", r.image}, {"width", r.width},     {"height", r.height},
                       {"faces", r.faces}, {"median_ms", med},     {"min_ms", *lo},
                       {"max_ms", *hi},    {"first_ms", r.first_ms}, {"runs_ms", r.runs_ms}};
      if (with_node) {
        const auto it = node.find(r.image);
        if (it != node.end()) {
          std::printf("  %11.1f  %12.2f", it->second, it->second / med);
          total_node += it->second;
          row["faceapi_median_ms"] = it->second;
          row["ratio_faceapi_over_posefer"] = it->second / med;
        } else {
          std::printf("  %11s  %12s", "-", "-");
          node_complete = false;
        }
      }
      std::printf("\n");
      std::fflush(stdout);
      out_images.push_back(row);
    }
    std::printf("%-12s  %9s  %5s  %10.1f  %8s  %8s", "sum", "", "", total, "", "");
    if (node_complete) std::printf("  %11.1f  %12.2f", total_node, total_node / total);
    std::printf("\n");

    if (!o.json.empty()) {
      ordered_json doc{{"program", kProgram},
                       {"timed", "FaceDetector::detect (detection + 68 landmarks + expressions); decode excluded"},
                       {"input_size", o.input_size},
                       {"threads", torch::get_num_threads()},
                       {"runs", o.runs},
                       {"warmup", 1},
                       {"openblas_core", posefer::openblas_core()},
                       {"omp_wait_policy", wait_policy ? wait_policy : ""},
                       {"images", out_images},
                       {"sum_median_ms", total}};
      if (with_node) doc["faceapi"] = node_meta;
      posefer::write_file_atomic(o.json, doc.dump(2) + "\n");
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "%s: %s\n", kProgram, posefer::first_line_of(ex.what()).c_str());
    return 1;
  }
  return 0;
}
