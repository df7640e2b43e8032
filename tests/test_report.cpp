#include "posefer/report/report.h"
#include "posefer/report/document.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

TEST(Report, ReadsNumericCsvWithGaps) {
  const auto dir = test::fresh_dir("report_csv");
  const std::string path = (dir / "epochs.csv").string();
  std::ofstream(path) << "epoch,l1,val_acc\r\n1,0.5,\n2,0.25,0.75\n\n";
  const NumericTable t = read_numeric_csv(path);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"epoch", "l1", "val_acc"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.column("l1"), (std::vector<double>{0.5, 0.25}));
  EXPECT_TRUE(std::isnan(t.column("val_acc")[0]));
  EXPECT_DOUBLE_EQ(t.column("val_acc")[1], 0.75);
  EXPECT_TRUE(t.has("epoch"));
  EXPECT_FALSE(t.has("c_gen"));
  EXPECT_THROW_MSG(t.column("c_gen"), InputError, "no column 'c_gen'");
}

TEST(Report, CsvErrorsNameFileAndLine) {
  const auto dir = test::fresh_dir("report_csv_bad");
  const std::string ragged = (dir / "ragged.csv").string();
  std::ofstream(ragged) << "a,b\n1,2\n3\n";
  EXPECT_THROW_MSG(read_numeric_csv(ragged), InputError, "ragged.csv line 3: expected 2 fields, got 1");
  const std::string text = (dir / "text.csv").string();
  std::ofstream(text) << "a,b\n1,x2\n";
  EXPECT_THROW_MSG(read_numeric_csv(text), InputError, "text.csv line 2: column 'b' is not a number: 'x2'");
  EXPECT_THROW_MSG(read_numeric_csv((dir / "missing.csv").string()), InputError, "missing.csv: cannot open");
  const std::string empty = (dir / "empty.csv").string();
  std::ofstream(empty) << "";
  EXPECT_THROW_MSG(read_numeric_csv(empty), InputError, "empty file");
}

TEST(Report, DocumentWritesTheSameBlocksAsMarkdownAndHtml) {
  EXPECT_EQ(html_escape("a<b> & \"c\" 'd'"), "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
  Document doc("R&D <demo>");
  doc.heading(2, "x < y")
      .paragraph("accuracy **61.0%** of 5")
      .bullets({"one", "two"})
      .table({"name", "value"}, {{"<script>", "1"}})
      .image("a b.png", "caption \"q\"")
      .files("Files", {"s.json", "t.csv"});
  EXPECT_EQ(doc.markdown(),
            "# R&D <demo>\n\n## x < y\n\naccuracy **61.0%** of 5\n\n- one\n- two\n\n"
            "| name | value |\n|---|---|\n| <script> | 1 |\n\n![caption \"q\"](a b.png)\n\n"
            "Files: [s.json](s.json), [t.csv](t.csv)\n");
  EXPECT_EQ(doc.markdown_body().rfind("## x < y\n", 0), 0u);
  const std::string html = doc.html();
  EXPECT_NE(html.find("<title>R&amp;D &lt;demo&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>R&amp;D &lt;demo&gt;</h1>\n<h2>x &lt; y</h2>"), std::string::npos);
  EXPECT_NE(html.find("<p>accuracy <strong>61.0%</strong> of 5</p>"), std::string::npos);
  EXPECT_NE(html.find("<li>one</li>\n<li>two</li>"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;script&gt;</td><td>1</td>"), std::string::npos);
  EXPECT_NE(html.find("<img src=\"a b.png\" alt=\"caption &quot;q&quot;\">"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"t.csv\">t.csv</a>"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.rfind("</html>\n"), html.size() - 8);
  // An unpaired ** stays text; a ragged table is refused before anything is written.
  EXPECT_NE(Document("t").paragraph("a ** b").html().find("<p>a ** b</p>"), std::string::npos);
  EXPECT_THROW_MSG(Document("t").table({"a", "b"}, {{"1"}}), ShapeError, "row 0 has 1 cells, the header 2");
  EXPECT_THROW_MSG(Document("t").table({}, {}), ShapeError, "the header is empty");
  // Appending keeps the other's blocks, not its title.
  Document part("ignored");
  part.paragraph("p");
  EXPECT_EQ(Document("top").append(part).markdown(), "# top\n\np\n");
}

TEST(Report, LabelledGridPlacesTilesAfterTheLabels) {
  // 2 x 3 tiles of 8 px, tile i filled with grey value 10 * i (uint8).
  auto tiles = torch::empty({6, 1, 8, 8}, torch::kUInt8);
  for (int i = 0; i < 6; ++i) tiles[i].fill_(10 * i);
  const RgbImage img = labelled_grid(tiles, {"r0", "r1"}, {"c0", "c1", "c2"}, "");
  const int gw = 3 * 8 + 2 * 2, gh = 2 * 8 + 2;
  // Tiles sit at the bottom-right: find tile 5 (value 50) at the grid's last cell.
  const int left = img.width - 8 - gw, top = img.height - 8 - gh;
  ASSERT_GT(left, 0);
  ASSERT_GT(top, 0);
  EXPECT_EQ(img.at(left + 2 * 10 + 3, top + 10 + 3)[0], 50);
  EXPECT_EQ(img.at(left + 3, top + 3)[1], 0);
  EXPECT_EQ(img.at(left + 10 + 3, top + 3)[2], 10);
  EXPECT_THROW_MSG(labelled_grid(tiles, {"r0"}, {"c0"}, ""), ShapeError, "expected 1 x 1 images");
}

TEST(Report, HconcatAndConfusionChart) {
  RgbImage a(10, 5, 1), b(4, 9, 2);
  const RgbImage c = hconcat({a, b}, 3);
  EXPECT_EQ(c.width, 17);
  EXPECT_EQ(c.height, 9);
  EXPECT_EQ(c.at(0, 0)[0], 1);
  EXPECT_EQ(c.at(11, 0)[0], 255);  // the gap
  EXPECT_EQ(c.at(13, 8)[0], 2);
  EXPECT_EQ(c.at(0, 8)[0], 255);   // below the shorter image

  ClassificationReport r;
  r.class_names = {"a", "b"};
  r.confusion = {{3, 1}, {0, 2}};
  const RgbImage img = confusion_chart(r, "t");
  HeatMapOptions o;
  o.title = "t";
  const HeatMapLayout l = heat_map_layout(r.class_names, r.class_names, o);
  auto cell = [&](int row, int col) {
    const uint8_t* p = img.at(l.left + col * l.cell + 3, l.top + row * l.cell + 3);
    return std::array<uint8_t, 3>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(cell(1, 1), heat_colour(1.0));   // 100% of class b
  EXPECT_EQ(cell(0, 0), heat_colour(0.75));  // 75% of class a
  EXPECT_EQ(cell(1, 0), heat_colour(0.0));
}

}  // namespace
}  // namespace posefer
