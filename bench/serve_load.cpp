// Load test of a running `posefer serve`: C concurrent clients (one keep-alive connection each)
// POST an image to /v1/recognize for T seconds; prints requests/s, latency percentiles, errors
// by status and, given the server's pid, its resident memory (VmRSS and the peak VmHWM from
// /proc/PID/status) at 10 s and at the end.
//
// Usage: posefer_bench_serve_load --url http://127.0.0.1:8080 --image PHOTO
//                                 [--clients 16] [--seconds 60] [--pid PID] [--type image/png]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "posefer_bench_serve_load: %s\nusage: posefer_bench_serve_load --url http://HOST:PORT --image PHOTO "
               "[--clients 16] [--seconds 60] [--pid PID] [--type image/png]\n",
               why);
  std::exit(2);
}

// "VmRSS 123 MB, VmHWM 456 MB" of a process, or "" when it cannot be read.
std::string memory_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line, rss, hwm;
  while (std::getline(in, line)) {
    auto kb = [&](const std::string& l) {
      std::istringstream s(l.substr(l.find(':') + 1));
      long v = 0;
      s >> v;
      return std::to_string(v / 1024) + " MiB";
    };
    if (line.rfind("VmRSS:", 0) == 0) rss = kb(line);
    if (line.rfind("VmHWM:", 0) == 0) hwm = kb(line);
  }
  return rss.empty() ? "" : "VmRSS " + rss + ", peak VmHWM " + hwm;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, image, type = "image/png";
  int clients = 16, seconds = 60;
  long pid = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--url") url = v;
    else if (a == "--image") image = v;
    else if (a == "--type") type = v;
    else if (a == "--clients") clients = std::atoi(v.c_str());
    else if (a == "--seconds") seconds = std::atoi(v.c_str());
    else if (a == "--pid") pid = std::atol(v.c_str());
    else usage(("unknown option " + a).c_str());
  }
  if (url.empty() || image.empty()) usage("--url and --image are required");
  if (clients < 1 || seconds < 1) usage("--clients and --seconds must be >= 1");
  std::ifstream in(image, std::ios::binary);
  if (!in) usage(("cannot read " + image).c_str());
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::map<std::string, long> errors;  // "HTTP 503", "no response: ..." -> count
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(url);
      client.set_keep_alive(true);
      client.set_read_timeout(120, 0);
      std::vector<double> mine;
      std::map<std::string, long> my_errors;
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        auto r = client.Post("/v1/recognize", body, type.c_str());
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!r) ++my_errors["no response: " + httplib::to_string(r.error())];
        else if (r->status != 200) ++my_errors["HTTP " + std::to_string(r->status)];
        else mine.push_back(ms);
      }
      std::lock_guard<std::mutex> lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (const auto& [k, n] : my_errors) errors[k] += n;
    });
  }
  std::string memory_10s;
  if (pid > 0) {
    std::this_thread::sleep_until(start + std::chrono::seconds(std::min(10, seconds)));
    memory_10s = memory_of(pid);
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  long n_errors = 0;
  for (const auto& [k, n] : errors) n_errors += n;
  std::printf("%d clients, %.1f s, image %s (%zu bytes)\n", clients, wall, image.c_str(), body.size());
  std::printf("ok %zu, errors %ld, %.2f requests/s\n", latencies_ms.size(), n_errors,
              static_cast<double>(latencies_ms.size()) / wall);
  std::printf("latency ms: p50 %.1f, p90 %.1f, p99 %.1f, max %.1f\n", percentile(latencies_ms, 0.5),
              percentile(latencies_ms, 0.9), percentile(latencies_ms, 0.99), percentile(latencies_ms, 1.0));
  for (const auto& [k, n] : errors) std::printf("  %s: %ld\n", k.c_str(), n);
  if (pid > 0) {
    std::printf("server %ld memory at %d s: %s\n", pid, std::min(10, seconds), memory_10s.c_str());
    std::printf("server %ld memory at the end: %s\n", pid, memory_of(pid).c_str());
  }
  return n_errors > 0 ? 1 : 0;
}
