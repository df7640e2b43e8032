// Throughput of the parametric face renderer (parametric_face.h) at a given size:
//   render   one built face rendered at the 35 BU-3DFE poses on one thread (rasteriser only)
//   build    building one face (mesh + face-paint texture) on one thread
//   pipeline the whole `make-faces` job (build once per identity x expression, render every pose,
//            encode and write PNGs, manifest, landmarks) with --threads workers
//
// Usage: posefer_bench_render [--size 128] [--runs 5] [--identities 1] [--threads 0]
//                             [--supersample 3]
// Prints median / min / max faces/s (wall clock) over `runs` timed runs after one warm-up run,
// and faces per CPU-second of the process: on a machine shared with other jobs the wall-clock
// rate understates what the cores do, and threads x (faces per CPU-second) is the rate when idle.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "posefer/render/make_faces.h"
#include "posefer/render/parametric_face.h"

namespace {

struct Options {
  int size = 128;
  int runs = 5;
  int identities = 1;
  int threads = 0;
  int supersample = 3;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "posefer_bench_render: %s\nusage: posefer_bench_render [--size 128] [--runs 5] "
               "[--identities 1] [--threads 0] [--supersample 3]\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + a);
    const int v = std::atoi(argv[++i]);
    if (a == "--size") o.size = v;
    else if (a == "--runs") o.runs = v;
    else if (a == "--identities") o.identities = v;
    else if (a == "--threads") o.threads = v;
    else if (a == "--supersample") o.supersample = v;
    else usage("unknown option " + a);
  }
  if (o.size < 16 || o.runs < 1 || o.identities < 1 || o.threads < 0 || o.supersample < 1) {
    usage("bad value");
  }
  return o;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void report(const char* name, std::vector<double> rates, std::vector<double> cpu_rates,
            const std::string& note) {
  std::sort(rates.begin(), rates.end());
  std::printf("%-9s %8.1f faces/s (min %.1f, max %.1f, %zu runs), %8.1f faces/CPU-s  %s\n", name,
              rates[rates.size() / 2], rates.front(), rates.back(), rates.size(),
              median(cpu_rates), note.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    using namespace posefer;
    const auto poses = parse_poses("bu3dfe");
    const FaceIdentity who = face_identity(1, 0);
    const ActionUnits au = expression_action_units(Expression::kHappy, 4);
    FaceRenderOptions ro;
    ro.size = o.size;
    ro.supersample = o.supersample;
    const FaceModel face = build_face(who, au);
    size_t triangles = 0;
    for (const auto& m : face.meshes) triangles += m.triangles.size();

    std::vector<double> render_rates, build_rates, pipeline_rates;
    std::vector<double> render_cpu, build_cpu, pipeline_cpu;
    for (int run = 0; run <= o.runs; ++run) {
      const double c0 = cpu_seconds();
      const double t = seconds([&] {
        for (const auto& p : poses) render_face(face, p, ro);
      });
      const double c = cpu_seconds() - c0;
      if (run > 0) render_rates.push_back(double(poses.size()) / t);
      if (run > 0) render_cpu.push_back(double(poses.size()) / c);
    }
    for (int run = 0; run <= o.runs; ++run) {
      const int n = 4;
      const double c0 = cpu_seconds();
      const double t = seconds([&] {
        for (int i = 0; i < n; ++i) build_face(face_identity(1, i), au);
      });
      const double c = cpu_seconds() - c0;
      if (run > 0) build_rates.push_back(n / t);
      if (run > 0) build_cpu.push_back(n / c);
    }
    const std::string dir =
        (std::filesystem::temp_directory_path() / "posefer_bench_render").string();
    MakeFacesJob job;
    job.identities = o.identities;
    job.poses = "bu3dfe";
    job.expressions = "basic7";
    job.size = o.size;
    job.supersample = o.supersample;
    job.threads = o.threads;
    job.out = dir;
    job.progress = false;
    for (int run = 0; run <= o.runs; ++run) {
      std::filesystem::remove_all(dir);
      const double c0 = cpu_seconds();
      const MakeFacesResult r = make_faces(job);
      const double c = cpu_seconds() - c0;
      if (run > 0) pipeline_rates.push_back(double(r.images) / r.seconds);
      if (run > 0) pipeline_cpu.push_back(double(r.images) / c);
    }
    std::filesystem::remove_all(dir);
    const int threads = o.threads > 0 ? o.threads : int(std::thread::hardware_concurrency());
    std::printf("parametric faces at %dx%d, supersample %d, %zu triangles, %d hardware threads\n",
                o.size, o.size, o.supersample, triangles, int(std::thread::hardware_concurrency()));
    report("render", render_rates, render_cpu, "one thread, rasteriser only (35 poses of one face)");
    report("build", build_rates, build_cpu, "one thread, mesh + face-paint texture per identity x expression");
    report("pipeline", pipeline_rates, pipeline_cpu,
           "make-faces " + std::to_string(o.identities) + " x 7 x 35 with PNG writes, " +
               std::to_string(threads) + " threads");
    std::printf("pipeline on %d idle cores (threads x faces/CPU-s): %.0f faces/s\n", threads,
                threads * median(pipeline_cpu));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "posefer_bench_render: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
