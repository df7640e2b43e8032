// The trainer's CSV logs (trainer_parts.h).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"
#include "trainer_parts.h"

namespace posefer::trainer_detail {

namespace fs = std::filesystem;

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

void truncate_log(const std::string& path, int64_t max_key) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, out;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      out += line + "\n";
      header = false;
      continue;
    }
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    try {
      if (std::stoll(line.substr(0, comma)) <= max_key) out += line + "\n";
    } catch (const std::exception&) {
      // A torn last line from a crash: drop it.
    }
  }
  write_file_atomic(path, out);
}

void append_line(const std::string& path, const std::string& header, const std::string& line) {
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  POSEFER_CHECK(out.good(), path, ": cannot open for appending");
  if (fresh) out << header << "\n";
  out << line << "\n";
  out.flush();
}

}  // namespace posefer::trainer_detail
