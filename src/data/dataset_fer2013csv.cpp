#include "posefer/data/dataset_fer2013csv.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/image_io.h"
#include "posefer/core/progress.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using data_util::split;
using data_util::trim;

constexpr int kSide = 48;
// CSV emotion code -> index into basic7_expressions() (angry, disgust, fear, happy, neutral,
// sad, surprise): 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral.
constexpr int kEmotionToClass[7] = {0, 1, 2, 3, 5, 6, 4};
const std::vector<std::string> kUsages{"Training", "PublicTest", "PrivateTest"};

std::string cache_key(const std::string& csv_path) {
  std::error_code ec;
  const auto size = fs::file_size(csv_path, ec);
  const auto mtime = fs::last_write_time(csv_path, ec).time_since_epoch().count();
  std::ostringstream os;
  os << "posefer-fer2013csv v1|" << data_util::canonical_path(csv_path) << "|bytes=" << size
     << "|mtime=" << mtime;
  return os.str();
}

// Parses 2304 grey values; false on a wrong count or value.
bool parse_pixels(const std::string& text, cv::Mat& img, std::string* why) {
  const char* p = text.c_str();
  int n = 0;
  for (;;) {
    while (*p == ' ' || *p == '\t') ++p;
    if (!*p) break;
    int v = 0, digits = 0;
    for (; *p >= '0' && *p <= '9'; ++p, ++digits) v = v * 10 + (*p - '0');
    if (digits == 0 || digits > 3 || (*p && *p != ' ' && *p != '\t') || v > 255) {
      *why = "pixel " + std::to_string(n + 1) + " is not a grey value 0..255";
      return false;
    }
    if (n < kSide * kSide) img.data[n] = static_cast<uint8_t>(v);
    ++n;
  }
  if (n != kSide * kSide) {
    *why = "expected " + std::to_string(kSide * kSide) + " pixels (48 x 48), got " + std::to_string(n);
    return false;
  }
  return true;
}

Sample make_sample(const std::string& dir, const std::string& file, int expression,
                   const std::string& usage) {
  Sample s;
  s.path = (fs::path(dir) / file).string();
  s.subject = fs::path(file).stem().string();  // no subject ids: each image its own subject
  s.expression = expression;
  s.pose = 0;
  s.group = usage;
  return s;
}

// Writes the PNGs and samples.csv; returns the samples.
std::vector<Sample> convert(const std::string& csv_path, const std::string& dir, bool progress) {
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) throw InputError(csv_path + ": cannot open");
  csv::Reader reader(in, csv_path);
  csv::Record rec;
  // Header: column positions by name.
  int col_emotion = -1, col_pixels = -1, col_usage = -1;
  size_t n_cols = 0;
  if (reader.next(rec)) {
    n_cols = rec.fields.size();
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      const std::string name = data_util::to_lower(rec.fields[i]);
      if (name == "emotion") col_emotion = static_cast<int>(i);
      if (name == "pixels") col_pixels = static_cast<int>(i);
      if (name == "usage") col_usage = static_cast<int>(i);
    }
  }
  if (col_emotion < 0 || col_pixels < 0 || col_usage < 0) {
    throw InputError(csv_path + " line " + std::to_string(rec.line) +
                     ": header lacks emotion, pixels or Usage (expected 'emotion,pixels,Usage')");
  }
  ProgressOptions popt;
  popt.enabled = progress;
  popt.unit = "img";
  std::error_code ec;
  const auto bytes = fs::file_size(csv_path, ec);
  ProgressBar bar("fer2013.csv -> png", ec ? 0 : static_cast<int64_t>(bytes), popt);  // by bytes read
  std::vector<Sample> samples;
  std::string index = "file,expression,usage\n";
  cv::Mat img(kSide, kSide, CV_8UC1);
  std::vector<uchar> png;
  while (reader.next(rec)) {
    const std::string where = csv_path + " line " + std::to_string(rec.line) + ": ";
    const auto& f = rec.fields;
    if (f.size() != n_cols) {
      throw InputError(where + "expected " + std::to_string(n_cols) + " fields, got " +
                       std::to_string(f.size()));
    }
    int emotion = -1;
    if (!data_util::parse_int(f[col_emotion], &emotion) || emotion < 0 || emotion > 6) {
      throw InputError(where + "emotion must be 0..6, got '" + f[col_emotion] + "'");
    }
    const std::string& usage = f[col_usage];
    if (data_util::index_of(kUsages, usage) < 0) {
      throw InputError(where + "Usage must be Training, PublicTest or PrivateTest, got '" + usage + "'");
    }
    std::string why;
    if (!parse_pixels(f[col_pixels], img, &why)) throw InputError(where + why);
    char name[64];
    std::snprintf(name, sizeof name, "%s/%s_%05zu.png", usage.c_str(), usage.c_str(),
                  samples.size() + 1);
    if (!cv::imencode(".png", img, png)) throw Error(std::string(name) + ": cannot encode PNG");
    write_file_atomic((fs::path(dir) / name).string(), std::string(png.begin(), png.end()));
    const int cls = kEmotionToClass[emotion];
    samples.push_back(make_sample(dir, name, cls, usage));
    index += std::string(name) + "," + std::to_string(cls) + "," + usage + "\n";
    const auto pos = in.tellg();  // -1 once the last line hit end of file
    if (pos >= 0) bar.update(static_cast<int64_t>(pos), "", static_cast<double>(samples.size()));
  }
  bar.update(ec ? 0 : static_cast<int64_t>(bytes), "", static_cast<double>(samples.size()));
  bar.finish();
  if (samples.empty()) throw InputError(csv_path + ": no rows after the header");
  write_file_atomic((fs::path(dir) / "samples.csv").string(), index);
  return samples;
}

// Samples from a complete cache folder's samples.csv.
std::vector<Sample> reuse(const std::string& dir) {
  const std::string index_path = (fs::path(dir) / "samples.csv").string();
  const auto records = csv::read_file(index_path);
  std::vector<Sample> samples;
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& f = records[i].fields;
    int cls = -1;
    if (f.size() != 3 || !data_util::parse_int(f[1], &cls) || cls < 0 || cls > 6) {
      throw InputError(index_path + " line " + std::to_string(records[i].line) +
                       ": damaged cache index (delete " + dir + " to rebuild it)");
    }
    samples.push_back(make_sample(dir, f[0], cls, f[2]));
  }
  return samples;
}

}  // namespace

Dataset read_fer2013_csv(const std::string& csv_path, const DatasetOptions& options) {
  POSEFER_CHECK_CONFIG(!options.cache_dir.empty(),
                       "fer2013csv: writing the images needs a cache folder (--data-cache DIR)");
  std::error_code ec;
  if (!fs::is_regular_file(csv_path, ec)) throw InputError(csv_path + ": cannot open");
  const std::string key = cache_key(csv_path);
  const std::string dir = data_util::keyed_cache_dir(options.cache_dir, "fer2013csv", key);
  const std::string marker = (fs::path(dir) / "complete.json").string();
  Dataset ds;
  ds.name = "fer2013csv";
  ds.expression_names = data_util::basic7_expressions();
  ds.pose_names = {"all"};
  ds.native_channels = 1;
  if (data_util::marker_has_key(marker, key)) {
    ds.samples = reuse(dir);
  } else {
    ds.samples = convert(csv_path, dir, options.progress);
    // Written last: a crash before this line leaves no marker and converts again.
    write_file_atomic(marker, nlohmann::json{{"key", key}}.dump(1) + "\n");
  }
  return ds;
}

}  // namespace posefer
