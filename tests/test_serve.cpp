// posefer serve: the HTTP server in-process on a free loopback port, driven by httplib::Client:
// good, blank, corrupt, empty, oversized and mistyped requests, concurrency, the bounded queue,
// graceful stop, /healthz, /v1/model, the page and its sample image.
#include <gtest/gtest.h>
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <thread>
#include <vector>

#include "posefer/core/check.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/io/image_io.h"
#include "posefer/api/recognizer.h"
#include "posefer/api/serve.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSample = std::string(POSEFER_SHARED_DIR) + "/reference/faceapi/inputs/sample1.png";

bool faceapi_weights_present() {
  return fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "tiny_face_detector_model")) &&
         fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "face_expression_model"));
}

std::string png_bytes(const cv::Mat& bgr) {
  std::vector<uchar> buf;
  cv::imencode(".png", bgr, buf);
  return std::string(buf.begin(), buf.end());
}

std::string blank_png(int w = 320, int h = 240) { return png_bytes(cv::Mat(h, w, CV_8UC3, cv::Scalar(128, 128, 128))); }

// One recognizer for the suite (loading it is the slow part).
class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (faceapi_weights_present()) recognizer_ = std::make_shared<const Recognizer>("faceapi");
  }
  static void TearDownTestSuite() { recognizer_.reset(); }

  void SetUp() override {
    if (!recognizer_) {
      GTEST_SKIP() << "face-api weights not installed in " << default_faceapi_model_dir()
                   << " (run scripts/setup.sh or set POSEFER_MODELS)";
    }
  }

  // A started server on a free loopback port.
  std::unique_ptr<Server> start(ServeConfig config = {}, ServeHooks hooks = {}) {
    config.host = "127.0.0.1";
    config.port = 0;
    auto s = std::make_unique<Server>(config, recognizer_, std::move(hooks));
    EXPECT_GT(s->port(), 0);
    s->start();
    return s;
  }

  static std::unique_ptr<httplib::Client> client(const Server& s) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", s.port());
    c->set_read_timeout(120, 0);  // a hang fails the test instead of blocking it
    c->set_write_timeout(30, 0);
    c->set_connection_timeout(10, 0);
    return c;
  }

  static std::string sample_bytes() { return read_text_file(kSample); }

  static inline std::shared_ptr<const Recognizer> recognizer_;
};

#define SKIP_WITHOUT_SAMPLE() \
  if (!fs::exists(kSample)) GTEST_SKIP() << "sample photo not present: " << kSample

// Status and JSON body of a POST; status -1 when no response came.
std::pair<int, json> post(httplib::Client& c, const std::string& body, const std::string& type) {
  auto r = c.Post("/v1/recognize", body, type.c_str());
  if (!r) return {-1, json()};
  json j;
  try {
    j = json::parse(r->body);
  } catch (const std::exception&) {
    j = json{{"unparsed", r->body}};
  }
  return {r->status, j};
}

// Holds recognitions at the hook until released.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

bool wait_for(const std::function<bool()>& cond, int ms = 20000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

TEST_F(ServeTest, AGoodPhotoGivesItsFacesAndTimings) {
  SKIP_WITHOUT_SAMPLE();
  auto s = start();
  auto c = client(*s);
  const auto [status, j] = post(*c, sample_bytes(), "image/png");
  ASSERT_EQ(status, 200) << j.dump();
  const auto expected = recognizer_->recognize(cv::imread(kSample, cv::IMREAD_COLOR));
  ASSERT_GE(expected.size(), 1u);
  ASSERT_EQ(j["faces"].size(), expected.size());
  EXPECT_EQ(j["width"], 1920);
  EXPECT_EQ(j["height"], 1280);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& f = j["faces"][i];
    EXPECT_NEAR(f["box"]["x"].get<double>(), expected[i].box.x, 1e-6);
    EXPECT_EQ(f["expression"], expected[i].expression);
    EXPECT_EQ(f["landmarks"].size(), 68u);
    EXPECT_EQ(f["expressions"].size(), 7u);
    EXPECT_TRUE(f["head_pose"]["yaw"].is_null());
    EXPECT_TRUE(f["head_pose"]["roll"].is_number());
  }
  for (const char* k : {"decode", "detect", "classify", "total"}) {
    ASSERT_TRUE(j["timings_ms"].contains(k)) << k;
    EXPECT_GE(j["timings_ms"][k].get<double>(), 0.0) << k;
  }
  EXPECT_GE(j["timings_ms"]["total"].get<double>(), j["timings_ms"]["detect"].get<double>());
  // The same photo as multipart/form-data.
  httplib::MultipartFormDataItems items{{"file", sample_bytes(), "sample1.png", "image/png"}};
  auto r = c->Post("/v1/recognize", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["faces"].size(), expected.size());
}

TEST_F(ServeTest, ABlankImageHasNoFaces) {
  auto s = start();
  auto c = client(*s);
  const auto [status, j] = post(*c, blank_png(), "image/png");
  ASSERT_EQ(status, 200) << j.dump();
  EXPECT_TRUE(j["faces"].is_array());
  EXPECT_EQ(j["faces"].size(), 0u);
  EXPECT_EQ(j["width"], 320);
}

TEST_F(ServeTest, BadRequestsGetTheirStatusAndAJsonError) {
  ServeConfig config;
  config.max_pixels = 100 * 100;
  config.max_bytes = 100000;
  auto s = start(config);
  auto c = client(*s);
  auto expect_error = [&](const std::string& body, const std::string& type, int code, const std::string& words) {
    const auto [status, j] = post(*c, body, type);
    EXPECT_EQ(status, code) << type << ": " << j.dump();
    ASSERT_TRUE(j.contains("error")) << j.dump();
    EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << j.dump();
  };
  expect_error("\x89PNG\r\n\x1a\n garbage that is no image", "image/png", 400, "cannot decode");
  expect_error("", "image/jpeg", 400, "empty");
  expect_error(blank_png(), "text/plain", 415, "content type");
  expect_error(blank_png(), "application/json", 415, "content type");
  expect_error(blank_png(200, 200), "image/png", 413, "200 x 200");  // 40,000 > 10,000 pixels
  // A header claiming 100000 x 100000 pixels is refused before decoding.
  std::string huge = blank_png(50, 50);
  huge[16] = 0, huge[17] = 1, huge[18] = char(0x86), huge[19] = char(0xA0);  // width 100000
  huge[20] = 0, huge[21] = 1, huge[22] = char(0x86), huge[23] = char(0xA0);  // height 100000
  expect_error(huge, "image/png", 413, "100000 x 100000");
  expect_error(std::string(200000, 'x'), "image/png", 413, "too large");  // over max_bytes
  httplib::MultipartFormDataItems no_file{{"note", "hello", "", ""}};
  auto r = c->Post("/v1/recognize", no_file);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("file field"), std::string::npos) << r->body;
  auto nf = c->Get("/v1/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(json::parse(nf->body)["error"], "not found: GET /v1/nothing");
  // The server is still fine.
  EXPECT_EQ(post(*c, blank_png(80, 60), "image/png").first, 200);
}

TEST_F(ServeTest, ConcurrentRequestsAllSucceed) {
  SKIP_WITHOUT_SAMPLE();
  ServeConfig config;
  config.threads = 2;
  config.queue = 8;
  auto s = start(config);
  const std::string photo = sample_bytes();
  const size_t expected = recognizer_->recognize(cv::imread(kSample, cv::IMREAD_COLOR)).size();
  std::vector<int> status(6, 0);
  std::vector<size_t> faces(6, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto c = client(*s);
      const auto [st, j] = post(*c, photo, "image/png");
      status[t] = st;
      if (st == 200) faces[t] = j["faces"].size();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 6; ++t) {
    EXPECT_EQ(status[t], 200) << "client " << t;
    EXPECT_EQ(faces[t], expected) << "client " << t;
  }
  EXPECT_TRUE(wait_for([&] { return s->stats().requests >= 6; }, 5000));  // counted after the reply
  EXPECT_EQ(s->stats().rejected, 0);
}

TEST_F(ServeTest, AFullQueueGives503AndTheOthersFinish) {
  ServeConfig config;
  config.threads = 1;
  config.queue = 1;
  Gate gate;
  auto s = start(config, ServeHooks{[&] { gate.wait(); }});
  const std::string img = blank_png(64, 48);
  int first = 0, second = 0;
  std::thread a([&] { first = post(*client(*s), img, "image/png").first; });
  ASSERT_TRUE(wait_for([&] { return s->stats().active == 1; }));
  std::thread b([&] { second = post(*client(*s), img, "image/png").first; });
  ASSERT_TRUE(wait_for([&] { return s->stats().waiting == 1; }));
  const auto [status, j] = post(*client(*s), img, "image/png");
  EXPECT_EQ(status, 503);
  EXPECT_NE(j.value("error", "").find("busy"), std::string::npos) << j.dump();
  // Light endpoints are still served while recognition is busy.
  auto h = client(*s)->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  gate.release();
  a.join();
  b.join();
  EXPECT_EQ(first, 200);
  EXPECT_EQ(second, 200);
  EXPECT_EQ(s->stats().rejected, 1);
  EXPECT_EQ(s->stats().active, 0);
}

TEST_F(ServeTest, BadRequestsWhileGoodOnesRunNeverCrashOrHang) {
  SKIP_WITHOUT_SAMPLE();
  ServeConfig config;
  config.threads = 2;
  config.queue = 16;
  config.max_bytes = 8 << 20;
  auto s = start(config);
  const std::string photo = sample_bytes();
  std::atomic<int> good_ok{0}, bad_ok{0}, unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      auto c = client(*s);
      for (int i = 0; i < 2; ++i) (post(*c, photo, "image/png").first == 200 ? good_ok : unexpected)++;
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        auto c = client(*s);
        int st = 0, want = 0;
        switch ((i + t) % 4) {
          case 0: st = post(*c, photo.substr(0, photo.size() / 3), "image/png").first, want = 400; break;  // cut short
          case 1: st = post(*c, "", "image/png").first, want = 400; break;
          case 2: st = post(*c, "hello", "text/html").first, want = 415; break;
          default: st = post(*c, std::string(9 << 20, '\0'), "image/png").first, want = 413; break;
        }
        (st == want ? bad_ok : unexpected)++;
      }
    });
  }
  // Clients that connect, send half a request (headers promising more body than comes, or cut
  // inside the headers) and go away.
  threads.emplace_back([&] {
    for (const std::string part : {std::string("POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                                               "Content-Length: 100000\r\n\r\n\x89PNG"),
                                   std::string("POST /v1/recogn")}) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(s->port()));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        (void)!::write(fd, part.data(), part.size());
      } else {
        ++unexpected;
      }
      ::close(fd);
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(good_ok.load(), 4);
  EXPECT_EQ(bad_ok.load(), 12);
  EXPECT_EQ(unexpected.load(), 0);
  auto h = client(*s)->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(ServeTest, StopLetsTheRequestInFlightFinish) {
  Gate gate;
  auto s = start(ServeConfig{}, ServeHooks{[&] { gate.wait(); }});
  int status = 0;
  std::thread a([&] { status = post(*client(*s), blank_png(64, 48), "image/png").first; });
  ASSERT_TRUE(wait_for([&] { return s->stats().active == 1; }));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s->stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(stopped.load());  // waits for the request
  gate.release();
  a.join();
  stopper.join();
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(stopped.load());
  // No new connections after the stop.
  httplib::Client c("127.0.0.1", s->port());
  c.set_connection_timeout(2, 0);
  EXPECT_FALSE(c.Get("/healthz"));
}

TEST_F(ServeTest, HealthzModelPageAndSample) {
  ServeConfig config;
  config.max_bytes = 1234567;
  auto s = start(config);
  auto c = client(*s);
  auto h = c->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto m = c->Get("/v1/model");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  const json mj = json::parse(m->body);
  EXPECT_EQ(mj["name"], "faceapi");
  EXPECT_EQ(mj["labels"].size(), 7u);
  EXPECT_EQ(mj["labels"][1], "happy");
  EXPECT_EQ(mj["input_size"], json({112, 112}));
  EXPECT_EQ(mj["limits"]["max_bytes"], 1234567);
  EXPECT_TRUE(mj.contains("accuracy"));
  EXPECT_TRUE(mj.contains("training_data"));
  auto page = c->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("selftest"), std::string::npos);
  EXPECT_NE(page->body.find("id=\"result\""), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);  // nothing fetched from elsewhere
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  EXPECT_EQ(page->body.find("<script src"), std::string::npos);
  // The self-test's sample: a PNG with a face the model finds (the page's check relies on it).
  auto png = c->Get("/v1/sample.png");
  ASSERT_TRUE(png);
  ASSERT_EQ(png->status, 200);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  const auto [status, j] = post(*c, png->body, "image/png");
  ASSERT_EQ(status, 200);
  EXPECT_GE(j["faces"].size(), 1u) << j.dump();
}

TEST(ServeConfigTest, ValidateNamesTheFlag) {
  auto expect_bad = [](auto change, const std::string& flag) {
    ServeConfig c;
    change(c);
    EXPECT_THROW_MSG(c.validate(), ConfigError, flag);
  };
  expect_bad([](ServeConfig& c) { c.threads = 0; }, "--threads");
  expect_bad([](ServeConfig& c) { c.queue = -1; }, "--queue");
  expect_bad([](ServeConfig& c) { c.port = 70000; }, "--port");
  expect_bad([](ServeConfig& c) { c.max_bytes = 0; }, "--max-bytes");
  expect_bad([](ServeConfig& c) { c.max_pixels = 0; }, "--max-pixels");
  expect_bad([](ServeConfig& c) { c.model.clear(); }, "--checkpoint");
  EXPECT_NO_THROW(ServeConfig{}.validate());
}

TEST(ServeConfigTest, SniffReadsPngAndJpegSizesWithoutDecoding) {
  const cv::Mat img(37, 53, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<uchar> jpg;
  cv::imencode(".jpg", img, jpg);
  EXPECT_EQ(sniff_image_size(png_bytes(img)), std::make_pair(int64_t(53), int64_t(37)));
  EXPECT_EQ(sniff_image_size(std::string(jpg.begin(), jpg.end())), std::make_pair(int64_t(53), int64_t(37)));
  std::vector<uchar> bmp;
  cv::imencode(".bmp", img, bmp);
  EXPECT_EQ(sniff_image_size(std::string(bmp.begin(), bmp.end())), std::make_pair(int64_t(53), int64_t(37)));
  EXPECT_EQ(sniff_image_size("not an image"), std::make_pair(int64_t(-1), int64_t(-1)));
  EXPECT_EQ(sniff_image_size(""), std::make_pair(int64_t(-1), int64_t(-1)));
}

TEST(ServeConfigTest, APortInUseIsAConfigError) {
  if (!faceapi_weights_present()) GTEST_SKIP() << "face-api weights not installed";
  auto rec = std::make_shared<const Recognizer>("faceapi");
  ServeConfig c;
  c.port = 0;
  Server first(c, rec);
  c.port = first.port();
  EXPECT_THROW_MSG(Server(c, rec), ConfigError, std::to_string(first.port()));
}

}  // namespace
}  // namespace posefer
