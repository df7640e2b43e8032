#include "posefer/report/document.h"

#include <algorithm>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"
#include "posefer/metrics/metrics.h"

namespace posefer {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

namespace {

// Escaped text with each **...** pair as <strong>...</strong> (an unpaired ** stays as it is).
std::string inline_html(const std::string& text) {
  std::string out = html_escape(text);
  std::string::size_type at = 0;
  while (true) {
    const auto open = out.find("**", at);
    if (open == std::string::npos) break;
    const auto close = out.find("**", open + 2);
    if (close == std::string::npos) break;
    out.replace(close, 2, "</strong>");
    out.replace(open, 2, "<strong>");
    at = close + (8 - 2) + 9;  // past the closing tag, after both replacements
  }
  return out;
}

}  // namespace

Document::Document(std::string title) : title_(std::move(title)) {}

Document& Document::heading(int level, const std::string& text) {
  Block b{Kind::kHeading};
  b.level = std::clamp(level, 2, 4);
  b.text = text;
  blocks_.push_back(std::move(b));
  return *this;
}

Document& Document::paragraph(const std::string& text) {
  Block b{Kind::kParagraph};
  b.text = text;
  blocks_.push_back(std::move(b));
  return *this;
}

Document& Document::bullets(const std::vector<std::string>& items) {
  if (items.empty()) return *this;
  Block b{Kind::kBullets};
  b.items = items;
  blocks_.push_back(std::move(b));
  return *this;
}

Document& Document::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  POSEFER_CHECK_SHAPE(!header.empty(), "report table: the header is empty");
  for (size_t r = 0; r < rows.size(); ++r) {
    POSEFER_CHECK_SHAPE(rows[r].size() == header.size(), "report table: row ", r, " has ", rows[r].size(),
                        " cells, the header ", header.size());
  }
  Block b{Kind::kTable};
  b.items = header;
  b.rows = rows;
  blocks_.push_back(std::move(b));
  return *this;
}

Document& Document::image(const std::string& src, const std::string& caption) {
  Block b{Kind::kImage};
  b.src = src;
  b.text = caption;
  blocks_.push_back(std::move(b));
  return *this;
}

Document& Document::files(const std::string& lead, const std::vector<std::string>& names) {
  Block b{Kind::kFiles};
  b.text = lead;
  b.items = names;
  blocks_.push_back(std::move(b));
  return *this;
}

Document& Document::append(const Document& other) {
  blocks_.insert(blocks_.end(), other.blocks_.begin(), other.blocks_.end());
  return *this;
}

std::string Document::markdown() const { return "# " + title_ + "\n\n" + markdown_body(); }

std::string Document::markdown_body() const {
  std::string md;
  for (const Block& b : blocks_) {
    if (!md.empty()) md += "\n";
    switch (b.kind) {
      case Kind::kHeading: md += std::string(static_cast<size_t>(b.level), '#') + " " + b.text + "\n"; break;
      case Kind::kParagraph: md += b.text + "\n"; break;
      case Kind::kBullets:
        for (const auto& i : b.items) md += "- " + i + "\n";
        break;
      case Kind::kTable: md += markdown_table(b.items, b.rows); break;
      case Kind::kImage: md += "![" + b.text + "](" + b.src + ")\n"; break;
      case Kind::kFiles: {
        md += b.text + ": ";
        for (size_t i = 0; i < b.items.size(); ++i) md += (i ? ", " : "") + ("[" + b.items[i] + "](" + b.items[i] + ")");
        md += "\n";
        break;
      }
    }
  }
  return md;
}

std::string Document::html() const {
  std::string body;
  for (const Block& b : blocks_) {
    switch (b.kind) {
      case Kind::kHeading: {
        const std::string l = std::to_string(b.level);
        body += "<h" + l + ">" + html_escape(b.text) + "</h" + l + ">\n";
        break;
      }
      case Kind::kParagraph: body += "<p>" + inline_html(b.text) + "</p>\n"; break;
      case Kind::kBullets:
        body += "<ul>\n";
        for (const auto& i : b.items) body += "<li>" + inline_html(i) + "</li>\n";
        body += "</ul>\n";
        break;
      case Kind::kTable:
        body += "<table>\n<tr>";
        for (const auto& h : b.items) body += "<th>" + html_escape(h) + "</th>";
        body += "</tr>\n";
        for (const auto& r : b.rows) {
          body += "<tr>";
          for (const auto& c : r) body += "<td>" + html_escape(c) + "</td>";
          body += "</tr>\n";
        }
        body += "</table>\n";
        break;
      case Kind::kImage:
        body += "<figure><img src=\"" + html_escape(b.src) + "\" alt=\"" + html_escape(b.text) +
                "\"><figcaption>" + html_escape(b.text) + "</figcaption></figure>\n";
        break;
      case Kind::kFiles: {
        body += "<p>" + html_escape(b.text) + ": ";
        for (size_t i = 0; i < b.items.size(); ++i) {
          body += (i ? ", " : "") + ("<a href=\"" + html_escape(b.items[i]) + "\">" + html_escape(b.items[i]) + "</a>");
        }
        body += "</p>\n";
        break;
      }
    }
  }
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title_) +
         "</title>\n<style>\n"
         "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\n"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}\n"
         "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n"
         "figure{margin:1em 0}img{max-width:100%;image-rendering:pixelated;border:1px solid #eee}\n"
         "figcaption{color:#555;font-size:90%}\n"
         "</style>\n</head>\n<body>\n<h1>" +
         html_escape(title_) + "</h1>\n" + body + "</body>\n</html>\n";
}

void write_document(const Document& doc, const std::string& md_path, const std::string& html_path) {
  if (!md_path.empty()) write_file_atomic(md_path, doc.markdown());
  if (!html_path.empty()) write_file_atomic(html_path, doc.html());
}

}  // namespace posefer
