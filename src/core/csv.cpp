#include "posefer/core/csv.h"

#include <fstream>
#include <sstream>

#include "posefer/core/check.h"

namespace posefer::csv {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string trim_blanks(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_blank(s[b])) ++b;
  while (e > b && is_blank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace

Reader::Reader(std::istream& in, std::string path) : in_(in), path_(std::move(path)) {}

bool Reader::next(Record& out) {
  if (!started_) {
    started_ = true;
    char bom[3];
    if (in_.read(bom, 3) && bom[0] == '\xEF' && bom[1] == '\xBB' && bom[2] == '\xBF') {
      // UTF-8 BOM from spreadsheet exports: skipped.
    } else {
      in_.clear();
      in_.seekg(0);
      if (!in_) {  // not seekable: put back what was read
        throw InputError(path_ + ": cannot read (stream not seekable)");
      }
    }
  }
  while (true) {
    Record rec;
    rec.line = line_;
    std::string field;
    bool in_quotes = false, quoted = false, after_quote = false, blank = true, ended = false;
    int c;
    while ((c = in_.get()) != EOF) {
      const char ch = static_cast<char>(c);
      if (in_quotes) {
        if (ch == '"') {
          if (in_.peek() == '"') {
            field += '"';
            in_.get();
          } else {
            in_quotes = false;
            after_quote = true;
          }
        } else {
          if (ch == '\n') ++line_;
          field += ch;
        }
        continue;
      }
      if (ch == '"' && !quoted && trim_blanks(field).empty()) {
        in_quotes = quoted = true;
        field.clear();
        blank = false;
      } else if (ch == ',') {
        rec.fields.push_back(quoted ? field : trim_blanks(field));
        field.clear();
        quoted = after_quote = false;
        blank = false;
      } else if (ch == '\n') {
        ++line_;
        ended = true;
        break;
      } else if (ch == '\r') {
        // CRLF: the CR is dropped wherever it appears outside quotes.
      } else {
        if (after_quote && !is_blank(ch)) {
          throw InputError(path_ + " line " + std::to_string(line_) + ": unexpected character after a closing quote");
        }
        if (!quoted) field += ch;
        if (!is_blank(ch)) blank = false;
      }
    }
    if (in_quotes) throw InputError(path_ + " line " + std::to_string(rec.line) + ": unterminated quoted field");
    if (!ended && blank && field.empty() && rec.fields.empty()) return false;  // end of input
    if (blank) {
      if (!ended) return false;
      continue;  // an empty line carries no record
    }
    rec.fields.push_back(quoted ? field : trim_blanks(field));
    out = std::move(rec);
    return true;
  }
}

std::vector<Record> parse(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  Reader reader(in, path);
  std::vector<Record> out;
  Record r;
  while (reader.next(r)) out.push_back(std::move(r));
  return out;
}

std::vector<Record> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open");
  Reader reader(in, path);
  std::vector<Record> out;
  Record r;
  while (reader.next(r)) out.push_back(std::move(r));
  return out;
}

std::string escape(const std::string& field) {
  // Quoted too: a field starting with a UTF-8 byte-order mark, which a reader would skip at the
  // start of a file (found by scripts/fuzz.sh).
  const bool needs = field.find_first_of(",\"\r\n") != std::string::npos ||
                     (!field.empty() && (is_blank(field.front()) || is_blank(field.back()))) ||
                     field.compare(0, 3, "\xEF\xBB\xBF") == 0;
  if (!needs) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join_row(const std::vector<std::string>& fields) {
  // A row of one empty field would be an empty line, which carries no record: quote it.
  if (fields.size() == 1 && fields[0].empty()) return "\"\"";
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += escape(fields[i]);
  }
  return out;
}

}  // namespace posefer::csv
