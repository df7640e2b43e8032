#include "posefer/api/serve.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <atomic>
#include <sys/socket.h>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"
#include "posefer/render/parametric_face.h"
#include "posefer/jobs/pipeline.h"
#include "posefer/api/recognizer.h"

namespace posefer {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, nlohmann::ordered_json{{"error", message}});
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

uint32_t be32(const std::string& b, size_t i) {
  return (uint32_t(uint8_t(b[i])) << 24) | (uint32_t(uint8_t(b[i + 1])) << 16) | (uint32_t(uint8_t(b[i + 2])) << 8) |
         uint32_t(uint8_t(b[i + 3]));
}
uint32_t be16(const std::string& b, size_t i) { return (uint32_t(uint8_t(b[i])) << 8) | uint32_t(uint8_t(b[i + 1])); }
uint32_t le16(const std::string& b, size_t i) { return uint32_t(uint8_t(b[i])) | (uint32_t(uint8_t(b[i + 1])) << 8); }
int32_t le32(const std::string& b, size_t i) {
  return static_cast<int32_t>(le16(b, i) | (le16(b, i + 2) << 16));
}

}  // namespace

std::pair<int64_t, int64_t> sniff_image_size(const std::string& b) {
  const std::pair<int64_t, int64_t> unknown{-1, -1};
  if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && b.compare(12, 4, "IHDR") == 0) {
    return {be32(b, 16), be32(b, 20)};
  }
  if (b.size() >= 10 && (b.compare(0, 6, "GIF87a") == 0 || b.compare(0, 6, "GIF89a") == 0)) {
    return {le16(b, 6), le16(b, 8)};
  }
  if (b.size() >= 26 && b.compare(0, 2, "BM") == 0) {
    return {std::abs(int64_t(le32(b, 18))), std::abs(int64_t(le32(b, 22)))};
  }
  if (b.size() >= 4 && uint8_t(b[0]) == 0xFF && uint8_t(b[1]) == 0xD8) {  // JPEG: find the SOFn segment
    size_t i = 2;
    while (i + 9 < b.size()) {
      if (uint8_t(b[i]) != 0xFF) return unknown;
      const uint8_t marker = uint8_t(b[i + 1]);
      if (marker == 0xFF) { ++i; continue; }
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { i += 2; continue; }
      const uint32_t len = be16(b, i + 2);
      const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) return {be16(b, i + 7), be16(b, i + 5)};
      if (len < 2) return unknown;
      i += 2 + len;
    }
  }
  return unknown;
}

std::string default_sample_png() {
  FaceRenderOptions ro;
  ro.size = 256;
  ro.supersample = 2;
  const FaceModel face = build_face(face_identity(7, 0), expression_action_units(Expression::kHappy, 4));
  const FaceRender fr = render_face(face, HeadPose{}, ro);
  const cv::Mat rgb(fr.image.height, fr.image.width, CV_8UC3, const_cast<uint8_t*>(fr.image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> png;
  cv::imencode(".png", bgr, png);
  return std::string(png.begin(), png.end());
}

void ServeConfig::validate() const {
  POSEFER_CHECK_CONFIG(!model.empty(), "serve: give --checkpoint RUN or --model faceapi");
  POSEFER_CHECK_CONFIG(!host.empty(), "serve: --host is empty");
  POSEFER_CHECK_CONFIG(port >= 0 && port <= 65535, "serve: --port must be in 0..65535, got ", port);
  POSEFER_CHECK_CONFIG(threads >= 1 && threads <= 64, "serve: --threads must be in 1..64, got ", threads);
  POSEFER_CHECK_CONFIG(queue >= 0 && queue <= 4096, "serve: --queue must be in 0..4096, got ", queue);
  POSEFER_CHECK_CONFIG(max_bytes >= 1, "serve: --max-bytes must be >= 1, got ", max_bytes);
  POSEFER_CHECK_CONFIG(max_pixels >= 1, "serve: --max-pixels must be >= 1, got ", max_pixels);
  POSEFER_CHECK_CONFIG(torch_threads >= 0, "serve: --torch-threads must be >= 0, got ", torch_threads);
}

struct Server::Impl {
  ServeConfig config;
  std::shared_ptr<const Recognizer> recognizer;
  ServeHooks hooks;
  std::string sample_png;
  httplib::Server http;
  int port = 0;
  std::thread thread;
  std::mutex stop_mutex;
  bool started = false, stopped = false;

  // Admission: `active` recognitions run, `waiting` wait for a slot.
  mutable std::mutex slots_mutex;
  std::condition_variable slots_cv;
  int active = 0, waiting = 0;
  std::atomic<int64_t> requests{0}, rejected{0};

  void handle_recognize(const httplib::Request& req, httplib::Response& res);
  void setup_routes();
};

namespace {
thread_local std::optional<Clock::time_point> t_request_start;
}  // namespace

void Server::Impl::setup_routes() {
  http.set_payload_max_length(static_cast<size_t>(config.max_bytes));
  const int pool = config.threads + config.queue + 2;
  http.new_task_queue = [pool] { return new httplib::ThreadPool(static_cast<size_t>(pool)); };
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double ms = t_request_start ? ms_since(*t_request_start) : 0.0;
    t_request_start.reset();
    ++requests;
    spdlog::info("{} \"{} {}\" {} {}B {:.1f}ms", req.remote_addr, req.method, req.path, res.status,
                 res.body.size(), ms);
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    switch (res.status) {
      case 404: message = "not found: " + req.method + " " + req.path; break;
      case 405: message = "method not allowed: " + req.method + " " + req.path; break;
      case 413: message = "request body too large (see GET /v1/model for the limits)"; break;
      case 400: message = "bad request"; break;
      default: message = "HTTP " + std::to_string(res.status);
    }
    send_error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = first_line_of(e.what());
    } catch (...) {
    }
    spdlog::error("serve: {}", what);
    send_error(res, 500, "internal error: " + what);
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve_page_html(), "text/html; charset=utf-8");
  });
  http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}, {"model", recognizer->info().name}});
  });
  http.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    auto j = model_info_to_json(recognizer->info());
    j["limits"] = {{"max_bytes", config.max_bytes}, {"max_pixels", config.max_pixels},
                   {"threads", config.threads}, {"queue", config.queue}};
    send_json(res, 200, j);
  });
  http.Get("/v1/sample.png", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(sample_png, "image/png");
  });
  http.Post("/v1/recognize", [this](const httplib::Request& req, httplib::Response& res) {
    handle_recognize(req, res);
  });
}

void Server::Impl::handle_recognize(const httplib::Request& req, httplib::Response& res) {
  const auto t0 = Clock::now();
  // The image bytes: the raw body (image/*) or a multipart file field.
  const std::string type = lower(req.get_header_value("Content-Type"));
  const std::string* bytes = nullptr;
  httplib::MultipartFormData part;
  if (type.rfind("image/", 0) == 0) {
    bytes = &req.body;
  } else if (type.rfind("multipart/form-data", 0) == 0) {
    // httplib lists every part in req.files; a file part has a file name.
    bool found = false;
    for (const char* name : {"file", "image"}) {
      if (!found && req.has_file(name)) part = req.get_file_value(name), found = true;
    }
    for (auto it = req.files.begin(); !found && it != req.files.end(); ++it) {
      if (!it->second.filename.empty()) part = it->second, found = true;
    }
    if (!found) return send_error(res, 400, "multipart/form-data without a file field (send the image as \"file\")");
    bytes = &part.content;
  } else {
    return send_error(res, 415, "unsupported content type '" + type +
                                    "': send the image bytes with Content-Type image/* or as multipart/form-data");
  }
  if (bytes->empty()) return send_error(res, 400, "empty body: no image bytes");
  const auto [sw, sh] = sniff_image_size(*bytes);
  if (sw > 0 && sh > 0 && sw * sh > config.max_pixels) {
    return send_error(res, 413, "image of " + std::to_string(sw) + " x " + std::to_string(sh) +
                                    " pixels is over the limit of " + std::to_string(config.max_pixels) + " pixels");
  }
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(cv::Mat(1, static_cast<int>(bytes->size()), CV_8U, const_cast<char*>(bytes->data())),
                       cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    bgr.release();
  }
  if (bgr.empty()) return send_error(res, 400, "cannot decode the image (not PNG, JPEG, BMP, WebP, TIFF, ... or corrupt)");
  if (int64_t(bgr.cols) * bgr.rows > config.max_pixels) {
    return send_error(res, 413, "image of " + std::to_string(bgr.cols) + " x " + std::to_string(bgr.rows) +
                                    " pixels is over the limit of " + std::to_string(config.max_pixels) + " pixels");
  }
  const double decode_ms = ms_since(t0);
  // A recognition slot, or 503 at once when `queue` requests already wait.
  {
    std::unique_lock<std::mutex> lock(slots_mutex);
    if (active >= config.threads && waiting >= config.queue) {
      ++rejected;
      lock.unlock();
      res.set_header("Retry-After", "1");
      return send_error(res, 503, "busy: " + std::to_string(config.threads) + " recognitions running and " +
                                      std::to_string(config.queue) + " waiting (--queue); retry later");
    }
    ++waiting;
    slots_cv.wait(lock, [&] { return active < config.threads; });
    --waiting;
    ++active;
  }
  struct Release {
    Impl* self;
    ~Release() {
      {
        std::lock_guard<std::mutex> lock(self->slots_mutex);
        --self->active;
      }
      self->slots_cv.notify_one();
    }
  } release{this};
  if (hooks.before_recognize) hooks.before_recognize();
  RecognizeTimings timings;
  const auto faces = recognizer->recognize(bgr, &timings);
  const auto& info = recognizer->info();
  nlohmann::ordered_json out;
  out["faces"] = nlohmann::ordered_json::array();
  for (const auto& f : faces) out["faces"].push_back(face_to_json(f, info.labels, info.pose_labels));
  out["width"] = bgr.cols;
  out["height"] = bgr.rows;
  out["labels"] = info.labels;
  out["timings_ms"] = {{"decode", decode_ms}, {"detect", timings.detect_ms}, {"classify", timings.classify_ms},
                       {"total", ms_since(t0)}};
  send_json(res, 200, out);
}

Server::Server(const ServeConfig& config, std::shared_ptr<const Recognizer> recognizer, ServeHooks hooks)
    : impl_(std::make_unique<Impl>()) {
  config.validate();
  Impl& m = *impl_;
  m.config = config;
  m.hooks = std::move(hooks);
  if (!config.sample.empty()) {
    m.sample_png = read_text_file(config.sample);
    cv::Mat probe;
    try {
      probe = cv::imdecode(cv::Mat(1, static_cast<int>(m.sample_png.size()), CV_8U, m.sample_png.data()), cv::IMREAD_COLOR);
    } catch (const cv::Exception&) {
    }
    POSEFER_CHECK_INPUT(!probe.empty(), config.sample, ": --sample is not an image OpenCV can decode");
  } else {
    m.sample_png = default_sample_png();
  }
  if (recognizer) {
    m.recognizer = std::move(recognizer);
  } else {
    RecognizerOptions ro;
    ro.model_dir = config.model_dir;
    ro.head_pose_model = config.head_pose_model;
    ro.ensemble = config.ensemble;
    m.recognizer = std::make_shared<const Recognizer>(config.model, ro);
  }
  m.setup_routes();
  // httplib's default also sets SO_REUSEPORT, with which a second server would share a port in
  // use instead of failing: SO_REUSEADDR only (a restart need not wait for TIME_WAIT).
  m.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });
  if (config.port == 0) {
    m.port = m.http.bind_to_any_port(config.host);
  } else {
    m.port = m.http.bind_to_port(config.host, config.port) ? config.port : -1;
  }
  POSEFER_CHECK_CONFIG(m.port > 0, "serve: cannot listen on ", config.host, ":", config.port,
                       " (address in use, not an address of this machine, or not permitted); choose another --host/--port");
}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

void Server::start() {
  std::lock_guard<std::mutex> lock(impl_->stop_mutex);
  POSEFER_CHECK(!impl_->started, "serve: start() called twice");
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->http.listen_after_bind(); });
  // stop() only stops a running listener: wait until it runs (the socket is bound and listening
  // already, so no connection is lost meanwhile).
  for (int i = 0; i < 500 && !impl_->http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void Server::stop() {
  std::lock_guard<std::mutex> lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->http.stop();  // closes the listening socket; listen_after_bind returns after the pool drains
  if (impl_->thread.joinable()) impl_->thread.join();
}

ServeStats Server::stats() const {
  ServeStats s;
  std::lock_guard<std::mutex> lock(impl_->slots_mutex);
  s.requests = impl_->requests.load();
  s.active = impl_->active;
  s.waiting = impl_->waiting;
  s.rejected = impl_->rejected.load();
  return s;
}

void run_serve(const ServeConfig& config, const std::function<bool()>& should_stop) {
  config.validate();
  set_threads(config.torch_threads);
  Server server(config);
  server.start();
  spdlog::info("serve: {} on http://{}:{}/ ({} recognition thread(s), queue {}); Ctrl-C stops",
               config.model, config.host, server.port(), config.threads, config.queue);
  while (!(should_stop && should_stop())) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("serve: stopping (finishing the requests in flight)");
  server.stop();
  spdlog::info("serve: stopped after {} request(s)", server.stats().requests);
}

}  // namespace posefer
