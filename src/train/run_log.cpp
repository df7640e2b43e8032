// The trainer's CSV logs (trainer_parts.h).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
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

namespace {
// The file's rows under `header`: each column taken by name from the file's own header, "0" for a
// column the file lacks (a loss an older posefer did not compute), a column `header` lacks dropped.
void migrate_columns(const std::string& path, const std::string& header) {
  const auto records = csv::read_file(path);
  if (records.empty()) return;
  const auto want = csv::parse(header, path + " (new header)").at(0).fields;
  const auto& have = records[0].fields;
  std::vector<int> from;
  for (const auto& name : want) {
    const auto it = std::find(have.begin(), have.end(), name);
    from.push_back(it == have.end() ? -1 : static_cast<int>(it - have.begin()));
  }
  std::string out = header + "\n";
  for (size_t r = 1; r < records.size(); ++r) {
    std::vector<std::string> row;
    for (const int i : from) {
      row.push_back(i >= 0 && i < static_cast<int>(records[r].fields.size()) ? records[r].fields[i] : "0");
    }
    out += csv::join_row(row) + "\n";
  }
  write_file_atomic(path, out);
}
}  // namespace

void append_line(const std::string& path, const std::string& header, const std::string& line) {
  const bool fresh = !fs::exists(path) || fs::file_size(path) == 0;
  if (!fresh) {
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    if (!first.empty() && first.back() == '\r') first.pop_back();
    if (first != header) migrate_columns(path, header);
  }
  std::ofstream out(path, std::ios::app);
  POSEFER_CHECK(out.good(), path, ": cannot open for appending");
  if (fresh) out << header << "\n";
  out << line << "\n";
  out.flush();
}

}  // namespace posefer::trainer_detail
