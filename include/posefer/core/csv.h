// CSV, RFC 4180: the one reader and writer of every CSV posefer reads or writes (manifests, the
// FER2013 csv, align's landmarks.csv, logs read back for charts, classify / skipped outputs).
//
// Reading: fields separated by commas; a field in double quotes may hold commas, newlines and
// doubled quotes (""); lines end in LF or CRLF; a UTF-8 byte-order mark at the start is skipped;
// unquoted fields lose surrounding spaces and tabs (quoted ones are kept as written); empty lines
// carry no record. Errors name the file and the line: "<path> line N: unterminated quoted field".
// Writing: escape() quotes a field only when it needs it, so plain files stay plain.
// Torch-free (posefer_core).
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace posefer::csv {

struct Record {
  int line = 0;                     // 1-based physical line where the record starts
  std::vector<std::string> fields;  // at least one field
};

// Streams records from `in` (memory stays one record, for files of hundreds of MB).
class Reader {
 public:
  // `path` names the source in error messages. `in` must outlive the reader.
  Reader(std::istream& in, std::string path);
  // Reads the next record into `out`; false at the end. Throws InputError naming the path and
  // line for an unterminated quoted field or text after a closing quote.
  bool next(Record& out);

 private:
  std::istream& in_;
  std::string path_;
  int line_ = 1;
  bool started_ = false;
};

// Every record of `text` (see Reader); `path` names it in errors.
std::vector<Record> parse(const std::string& text, const std::string& path);
// Every record of the file at `path`. Throws InputError when it cannot be opened.
std::vector<Record> read_file(const std::string& path);

// `field` as a CSV field: in quotes (inner quotes doubled) when it holds a comma, quote, CR or
// LF, starts or ends with a space or tab, or starts with a UTF-8 byte-order mark; unchanged otherwise.
std::string escape(const std::string& field);
// The escaped fields joined by commas (no line end); a row of one empty field is written ""
// (an empty line would carry no record).
std::string join_row(const std::vector<std::string>& fields);

}  // namespace posefer::csv
