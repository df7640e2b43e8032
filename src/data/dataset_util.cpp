#include "posefer/data/dataset_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"

namespace posefer::data_util {

namespace fs = std::filesystem;

const std::vector<std::string>& basic7_expressions() {
  static const std::vector<std::string> k{"angry", "disgust", "fear",    "happy",
                                          "neutral", "sad",   "surprise"};
  return k;
}

int index_of(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

namespace {

// Levenshtein distance of two short labels.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> rare_label_warnings(const std::string& source, const std::string& kind,
                                             const std::vector<std::string>& labels) {
  std::map<std::string, int64_t> count;
  for (const auto& l : labels) ++count[l];
  std::vector<int64_t> sizes;
  for (const auto& [name, n] : count) sizes.push_back(n);
  std::sort(sizes.begin(), sizes.end());
  std::vector<std::string> out;
  if (sizes.size() < 2) return out;
  const int64_t median = sizes[sizes.size() / 2];
  if (median < 10) return out;  // small data sets: every class may be small
  for (const auto& [name, n] : count) {
    if (n > 2) continue;
    std::string like, msg;
    size_t best = 3;
    for (const auto& [other, m] : count) {
      if (other == name || m <= 2) continue;
      const size_t d = edit_distance(name, other);
      if (d < best) best = d, like = other;
    }
    msg = source + ": " + kind + " '" + name + "' has " + std::to_string(n) + " image(s) while half the " + kind +
          "s have " + std::to_string(median) + " or more: a typo" + (like.empty() ? "?" : " of '" + like + "'?") +
          " It is kept as a class of its own.";
    out.push_back(msg);
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

bool parse_double(const std::string& text, double* out) {
  const std::string s = trim(text);
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

bool parse_int(const std::string& text, int* out) {
  const std::string s = trim(text);
  if (s.empty()) return false;
  const size_t first = s[0] == '-' || s[0] == '+' ? 1 : 0;
  if (first == s.size()) return false;
  for (size_t i = first; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  errno = 0;
  const long v = std::strtol(s.c_str(), nullptr, 10);
  if (errno == ERANGE || v < INT_MIN || v > INT_MAX) return false;
  *out = static_cast<int>(v);
  return true;
}

bool is_digits(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
           return std::isdigit(ch) != 0;
         });
}

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

void require_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir + ": no such directory");
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool want_dirs) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code ec2;
    const bool is_dir = it->is_directory(ec2);
    if (want_dirs ? is_dir : (!is_dir && it->is_regular_file(ec2))) out.push_back(it->path());
  }
  if (ec) throw InputError(dir.string() + ": cannot list directory: " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return out;
}

std::vector<fs::path> sorted_files_recursive(const fs::path& root) {
  std::vector<fs::path> out = sorted_entries(root, /*want_dirs=*/false);
  for (const fs::path& sub : sorted_entries(root, /*want_dirs=*/true)) {
    const auto inner = sorted_files_recursive(sub);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_image_extension(const fs::path& p) {
  static const std::vector<std::string> k{".png", ".jpg", ".jpeg", ".bmp",
                                          ".tif", ".tiff", ".pgm", ".ppm"};
  return index_of(k, to_lower(p.extension().string())) >= 0;
}

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hash_hex(const std::string& s) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(s)));
  return hex;
}

std::string keyed_cache_dir(const std::string& root, const std::string& kind,
                            const std::string& key) {
  POSEFER_CHECK_CONFIG(!root.empty(), "no cache folder given for ", kind);
  return (fs::path(root) / (kind + "_" + hash_hex(key))).string();
}

bool marker_has_key(const std::string& marker, const std::string& key) {
  std::error_code ec;
  if (!fs::is_regular_file(marker, ec)) return false;
  try {
    return nlohmann::json::parse(read_text_file(marker)).value("key", "") == key;
  } catch (const nlohmann::json::exception&) {
    return false;  // a damaged marker: rebuild
  }
}

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) p = fs::absolute(path);
  return p.string();
}

}  // namespace posefer::data_util
