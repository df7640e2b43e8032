// The CSV module (csv.h): RFC 4180 reading and writing, errors naming file and line.
#include "posefer/core/csv.h"

#include <gtest/gtest.h>

#include <sstream>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

std::vector<std::vector<std::string>> fields(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : csv::parse(text, "t.csv")) out.push_back(r.fields);
  return out;
}

TEST(Csv, QuotedFieldsCrlfBomAndBlankLines) {
  const std::string text =
      "\xEF\xBB\xBFpath,subject\r\n"
      "\"a, b.png\",s1\r\n"
      "\r\n"
      "\"say \"\"hi\"\"\", s2 \n"
      "\"two\nlines\",s3\n"
      "plain,\n";
  const auto f = fields(text);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], (std::vector<std::string>{"path", "subject"}));  // BOM gone
  EXPECT_EQ(f[1], (std::vector<std::string>{"a, b.png", "s1"}));  // comma inside quotes, CR gone
  EXPECT_EQ(f[2], (std::vector<std::string>{"say \"hi\"", "s2"}));  // doubled quotes; blanks trimmed
  EXPECT_EQ(f[3], (std::vector<std::string>{"two\nlines", "s3"}));
  EXPECT_EQ(f[4], (std::vector<std::string>{"plain", ""}));  // trailing empty field kept
  const auto recs = csv::parse(text, "t.csv");
  EXPECT_EQ(recs[3].line, 5);  // physical line where the record starts
  EXPECT_EQ(recs[4].line, 7);
}

TEST(Csv, ErrorsNameTheFileAndLine) {
  EXPECT_THROW_MSG(csv::parse("a,b\n\"open,c\n", "m.csv"), InputError, "m.csv line 2: unterminated quoted field");
  EXPECT_THROW_MSG(csv::parse("a\n\"x\"y,z\n", "m.csv"), InputError,
                   "m.csv line 2: unexpected character after a closing quote");
  EXPECT_THROW_MSG(csv::read_file("/nonexistent/x.csv"), InputError, "/nonexistent/x.csv: cannot open");
  EXPECT_TRUE(csv::parse("", "e.csv").empty());
  EXPECT_TRUE(csv::parse("\n\n", "e.csv").empty());
}

TEST(Csv, WhatEscapeWritesReadsBackTheSame) {
  const std::vector<std::string> row{"plain", "a,b", "q\"uote", "new\nline", " padded ", "", "cr\r"};
  EXPECT_EQ(csv::escape("plain"), "plain");
  EXPECT_EQ(csv::escape("a,b"), "\"a,b\"");
  EXPECT_EQ(csv::escape("q\"uote"), "\"q\"\"uote\"");
  const std::string line = csv::join_row(row) + "\n";
  const auto back = csv::parse(line + line, "rt.csv");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].fields, row);
  EXPECT_EQ(back[1].fields, row);
  // Found by scripts/fuzz.sh: a row of one empty field must not become an empty line.
  EXPECT_EQ(csv::join_row({""}), "\"\"");
  const auto one = csv::parse(csv::join_row({""}) + "\n", "e.csv");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].fields, std::vector<std::string>{""});
  // Also found by it: a first field starting with a byte-order mark must not lose it.
  const std::vector<std::string> bom{"\xEF\xBB\xBFx", "y"};
  EXPECT_EQ(csv::parse(csv::join_row(bom) + "\n", "b.csv").at(0).fields, bom);
}

TEST(Csv, ReaderStreamsRecordByRecord) {
  std::istringstream in("h1,h2\n1,2\n3,4\n");
  csv::Reader reader(in, "s.csv");
  csv::Record r;
  int n = 0;
  while (reader.next(r)) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_EQ(r.fields, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(r.line, 3);
  EXPECT_FALSE(reader.next(r));
}

}  // namespace
}  // namespace posefer
