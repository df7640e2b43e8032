// A report as a list of blocks (headings, paragraphs, tables, images, file links) rendered both
// as Markdown and as a self-contained HTML page. The demo, experiment and evaluate reports are
// all built as one Document, so their .md and .html forms cannot drift apart.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace posefer {

// &, <, >, " and ' as HTML entities.
std::string html_escape(const std::string& text);

class Document {
 public:
  // `title`: the level-1 heading of both forms and the HTML page's <title>.
  explicit Document(std::string title);

  Document& heading(int level, const std::string& text);  // level clamped to 2..4
  // Plain text (escaped in HTML); **x** marks a key figure in bold in both forms.
  Document& paragraph(const std::string& text);
  Document& bullets(const std::vector<std::string>& items);
  // Cells are already formatted. Throws ShapeError for an empty header or a row whose size
  // differs from the header's.
  Document& table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // A picture beside the report (src relative to it), with a caption under it in HTML and as
  // its alt text in Markdown.
  Document& image(const std::string& src, const std::string& caption);
  // "lead: a, b, c" where each file (relative to the report) is a link.
  Document& files(const std::string& lead, const std::vector<std::string>& names);
  // Appends other's blocks (not its title).
  Document& append(const Document& other);

  const std::string& title() const { return title_; }
  std::string markdown() const;       // "# title", blocks separated by blank lines
  std::string markdown_body() const;  // the same without the title line
  std::string html() const;      // "<!DOCTYPE html>..." with inline CSS, no scripts

 private:
  enum class Kind { kHeading, kParagraph, kBullets, kTable, kImage, kFiles };
  struct Block {
    Kind kind;
    int level = 0;
    std::string text;                          // heading / paragraph / caption / src / lead
    std::string src;                           // image
    std::vector<std::string> items;            // bullets / table header / file names
    std::vector<std::vector<std::string>> rows;  // table
  };
  std::string title_;
  std::vector<Block> blocks_;
};

// Writes doc.markdown() to md_path and doc.html() to html_path, each atomically (write_file_atomic);
// an empty path skips that form.
void write_document(const Document& doc, const std::string& md_path, const std::string& html_path);

}  // namespace posefer
