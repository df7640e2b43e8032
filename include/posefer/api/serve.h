// `posefer serve`: a Recognizer (recognizer.h) over HTTP (cpp-httplib), with a one-page UI.
//
// Endpoints (docs/serve.md has the JSON schema):
//   POST /v1/recognize  body: raw image bytes (Content-Type image/*) or multipart/form-data with
//                       a file field ("file", "image" or the first file) ->
//                       {"faces": [face_to_json...], "width", "height", "labels",
//                        "timings_ms": {"decode", "detect", "classify", "total"}}
//   GET  /healthz       {"status": "ok", "model": name}
//   GET  /v1/model      model_info_to_json + {"limits": {...}}
//   GET  /              the page (HTML + JS embedded in the binary; no external fetches);
//                       /?selftest=1 runs /v1/sample.png through the upload path and writes the
//                       result into <pre id="result" data-faces="N" data-labels="...">
//   GET  /v1/sample.png a face image: ServeConfig::sample, else a face rendered by posefer_core
// Errors: JSON {"error": "..."} with 400 (empty body, undecodable image, multipart without a
// file), 404 (unknown path), 413 (body over max_bytes, image over max_pixels), 415 (other content
// type), 503 (recognition queue full), 500 (unexpected failure).
// One access-log line per request (spdlog info, stderr): client, method, path, status, bytes, ms.
//
// Concurrency: `threads` requests run recognition at once (the Recognizer's networks still run
// one photo at a time; decoding overlaps), `queue` more wait; a request beyond that gets 503 at
// once. The HTTP thread pool has threads + queue + 2 workers so that light endpoints and the
// 503s are served while recognition is busy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace posefer {

class Recognizer;

struct ServeConfig {
  std::string model = "faceapi";     // --checkpoint RUN, or --model faceapi
  std::vector<std::string> ensemble; // further runs voting with `model` (--checkpoint given again)
  std::string host = "127.0.0.1";    // address to listen on
  int port = 8080;                   // TCP port (0 = any free port; Server::port() tells which)
  int threads = 2;                   // requests recognised at once (>= 1)
  int queue = 8;                     // more recognition requests that may wait (>= 0); beyond: 503
  int64_t max_bytes = 10 << 20;      // request body limit in bytes (>= 1); beyond: 413
  int64_t max_pixels = 25000000;     // decoded image limit, width x height (>= 1); beyond: 413
  std::string sample;                // image served at /v1/sample.png ("" = a rendered face)
  std::string model_dir;             // face-api weights ("" = default_faceapi_model_dir())
  std::string head_pose_model;       // pose.json for yaw/pitch ("" = none; recognizer.h)
  int torch_threads = 0;             // LibTorch intra-op threads (0 = cores)
  void validate() const;             // throws ConfigError naming the flag
};

// Counters of a running server (for tests and logs).
struct ServeStats {
  int64_t requests = 0;    // responses sent (all endpoints)
  int active = 0;          // recognitions running now
  int waiting = 0;         // recognitions waiting for a slot
  int64_t rejected = 0;    // 503s (queue full)
};

// Test hooks: called inside POST /v1/recognize after the request got a recognition slot, before
// the recognizer runs (a test holds requests there to fill the queue). Null = nothing.
struct ServeHooks {
  std::function<void()> before_recognize;
};

class Server {
 public:
  // Loads the model (config.model; or uses `recognizer` when given, sharing it), binds
  // host:port. Throws ConfigError for a bad config or a port that cannot be bound, InputError
  // from the Recognizer or for an unreadable --sample.
  explicit Server(const ServeConfig& config, std::shared_ptr<const Recognizer> recognizer = nullptr,
                  ServeHooks hooks = {});
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;   // the bound port
  void start();       // serves in a background thread; returns at once
  // Graceful stop: no new connections; requests being handled finish and are answered; joins.
  // Idempotent; safe from any thread but a request handler.
  void stop();
  ServeStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs a server until should_stop() returns true (polled every 100 ms; `posefer serve` passes
// the SIGINT/SIGTERM flag), then stops it gracefully. Logs the URL when ready.
void run_serve(const ServeConfig& config, const std::function<bool()>& should_stop);

// The page served at "/" (HTML with inline JS and CSS, no external resources).
const std::string& serve_page_html();

// PNG bytes of the default /v1/sample.png: a frontal smiling face rendered by posefer_core.
std::string default_sample_png();

// Width and height from the header of PNG, JPEG, GIF or BMP bytes without decoding; {-1, -1}
// when the format is not one of those or the header is cut short.
std::pair<int64_t, int64_t> sniff_image_size(const std::string& bytes);

}  // namespace posefer
