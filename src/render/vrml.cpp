#include "posefer/render/vrml.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

enum class Tok { kWord, kString, kOpenBrace, kCloseBrace, kOpenBracket, kCloseBracket, kEnd };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;
  int line = 0;
};

// Splits VRML text into tokens: words (names, numbers), strings, braces and brackets.
std::vector<Token> tokenize(const std::string& text, const std::string& path) {
  std::vector<Token> out;
  int line = 1;
  size_t i = 0;
  const size_t n = text.size();
  const auto is_delim = [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ',' || ch == '#' ||
           ch == '"' || ch == '{' || ch == '}' || ch == '[' || ch == ']';
  };
  while (i < n) {
    const char ch = text[i];
    if (ch == '\n') {
      ++line;
      ++i;
    } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == ',') {
      ++i;
    } else if (ch == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (ch == '"') {
      Token t{Tok::kString, "", line};
      ++i;
      bool closed = false;
      while (i < n) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < n) c = text[i++];
        if (c == '\n') ++line;
        t.text += c;
      }
      if (!closed) {
        throw InputError(path + " line " + std::to_string(t.line) + ": unterminated string");
      }
      out.push_back(std::move(t));
    } else if (ch == '{' || ch == '}' || ch == '[' || ch == ']') {
      const Tok type = ch == '{' ? Tok::kOpenBrace
                       : ch == '}' ? Tok::kCloseBrace
                       : ch == '[' ? Tok::kOpenBracket
                                   : Tok::kCloseBracket;
      out.push_back({type, std::string(1, ch), line});
      ++i;
    } else {
      const size_t b = i;
      while (i < n && !is_delim(text[i])) ++i;
      out.push_back({Tok::kWord, text.substr(b, i - b), line});
    }
  }
  out.push_back({Tok::kEnd, "end of file", line});
  return out;
}

struct Node;
using NodePtr = std::shared_ptr<const Node>;

// One field's value, whatever its type.
struct Field {
  int line = 0;
  std::vector<double> numbers;
  std::vector<int> number_lines;  // line of each number (for index errors)
  std::vector<std::string> strings;
  std::vector<NodePtr> nodes;
};

struct Node {
  std::string type;
  int line = 0;
  std::map<std::string, Field> fields;

  const Field* field(const char* name) const {
    const auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  }
  const Node* child(const char* name) const {
    const Field* f = field(name);
    return f && !f->nodes.empty() ? f->nodes.front().get() : nullptr;
  }
};

bool parse_number(const std::string& word, double* out) {
  if (word.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  if (end != word.c_str() + word.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string path) : tok_(std::move(tokens)), path_(std::move(path)) {}

  std::vector<NodePtr> parse_file() {
    std::vector<NodePtr> roots;
    while (peek().type != Tok::kEnd) {
      const Token& t = peek();
      if (t.type == Tok::kWord && t.text == "ROUTE") {  // ROUTE a.b TO c.d
        for (int k = 0; k < 4; ++k) expect_word("a ROUTE statement");
        continue;
      }
      if (t.type == Tok::kWord && (t.text == "PROTO" || t.text == "EXTERNPROTO")) {
        fail(t.line, t.text + " is not supported");
      }
      roots.push_back(parse_node());
    }
    return roots;
  }

 private:
  const Token& peek(size_t ahead = 0) const { return tok_[std::min(pos_ + ahead, tok_.size() - 1)]; }
  const Token& next() { return tok_[std::min(pos_++, tok_.size() - 1)]; }

  [[noreturn]] void fail(int line, const std::string& what) const {
    throw InputError(path_ + " line " + std::to_string(line) + ": " + what);
  }

  const Token& expect_word(const char* what) {
    const Token& t = next();
    if (t.type != Tok::kWord) fail(t.line, std::string("expected ") + what + ", got '" + t.text + "'");
    return t;
  }

  bool node_starts_here() const {
    const Token& t = peek();
    if (t.type != Tok::kWord) return false;
    return t.text == "DEF" || t.text == "USE" || peek(1).type == Tok::kOpenBrace;
  }

  NodePtr parse_node() {
    const Token& first = expect_word("a node");
    if (first.text == "USE") {
      const Token& name = expect_word("a node name after USE");
      const auto it = defs_.find(name.text);
      if (it == defs_.end()) fail(name.line, "USE of undefined node '" + name.text + "'");
      return it->second;
    }
    std::string def;
    const Token* type = &first;
    if (first.text == "DEF") {
      def = expect_word("a node name after DEF").text;
      type = &expect_word("a node type after DEF");
    }
    auto node = std::make_shared<Node>();
    node->type = type->text;
    node->line = type->line;
    const Token& open = next();
    if (open.type != Tok::kOpenBrace) {
      fail(open.line, "expected '{' after node type '" + node->type + "', got '" + open.text + "'");
    }
    while (peek().type != Tok::kCloseBrace) {
      const Token& name = next();
      if (name.type == Tok::kEnd) fail(node->line, "node '" + node->type + "' is not closed (missing '}')");
      if (name.type != Tok::kWord) {
        fail(name.line, "expected a field name in '" + node->type + "', got '" + name.text + "'");
      }
      Field& f = node->fields[name.text];
      f = Field{};
      f.line = name.line;
      parse_value(f, name.text);
    }
    next();  // '}'
    if (!def.empty()) defs_[def] = node;
    return node;
  }

  // One item of a value: a number, a string, a node or a boolean.
  void parse_item(Field& f, const std::string& field_name) {
    const Token& t = peek();
    if (t.type == Tok::kString) {
      f.strings.push_back(next().text);
      return;
    }
    if (t.type != Tok::kWord) fail(t.line, "unexpected '" + t.text + "' in field '" + field_name + "'");
    if (node_starts_here()) {
      f.nodes.push_back(parse_node());
      return;
    }
    double v = 0;
    if (t.text == "TRUE" || t.text == "FALSE") {
      v = t.text == "TRUE" ? 1 : 0;
    } else if (!parse_number(t.text, &v)) {
      fail(t.line, "'" + t.text + "' is not a number (field '" + field_name + "')");
    }
    f.numbers.push_back(v);
    f.number_lines.push_back(t.line);
    next();
  }

  void parse_value(Field& f, const std::string& field_name) {
    const Token& t = peek();
    if (t.type == Tok::kOpenBracket) {
      const int open_line = next().line;
      while (peek().type != Tok::kCloseBracket) {
        if (peek().type == Tok::kEnd) fail(open_line, "list of field '" + field_name + "' is not closed (missing ']')");
        parse_item(f, field_name);
      }
      next();  // ']'
      return;
    }
    if (t.type == Tok::kWord && t.text == "NULL") {
      next();
      return;
    }
    if (t.type == Tok::kString || node_starts_here() || t.text == "TRUE" || t.text == "FALSE") {
      parse_item(f, field_name);
      return;
    }
    // One or more numbers (SFFloat, SFVec3f, SFRotation, ...).
    double v = 0;
    if (t.type != Tok::kWord || !parse_number(t.text, &v)) {
      fail(t.line, "field '" + field_name + "' has no valid value (got '" + t.text + "')");
    }
    while (peek().type == Tok::kWord && parse_number(peek().text, &v)) parse_item(f, field_name);
  }

  std::vector<Token> tok_;
  std::string path_;
  size_t pos_ = 0;
  std::map<std::string, NodePtr> defs_;
};

// Affine transform p -> m * p + t.
struct Affine {
  Mat3 m;
  Vec3 t;
  Vec3 apply(Vec3 p) const { return m * p + t; }
  Affine then_inner(const Affine& inner) const { return {m * inner.m, m * inner.t + t}; }
};

class SceneBuilder {
 public:
  explicit SceneBuilder(std::string path) : path_(std::move(path)) {}

  void visit(const Node& node, const Affine& xf, VrmlScene& scene) {
    if (node.type == "Shape") {
      shape(node, xf, scene);
      return;
    }
    Affine inner = xf;
    if (node.type == "Transform") inner = xf.then_inner(transform_of(node));
    for (const auto& [name, field] : node.fields) {
      for (const NodePtr& child : field.nodes) visit(*child, inner, scene);
    }
  }

 private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw InputError(path_ + " line " + std::to_string(line) + ": " + what);
  }

  const std::vector<double>& numbers_of(const Node& node, const char* name, size_t want) {
    static const std::vector<double> kNone;
    const Field* f = node.field(name);
    if (!f) return kNone;
    if (f->numbers.size() != want) {
      fail(f->line, std::string(node.type) + "." + name + " needs " + std::to_string(want) +
                        " numbers, got " + std::to_string(f->numbers.size()));
    }
    return f->numbers;
  }

  Affine transform_of(const Node& node) {
    const Field* center = node.field("center");
    const Field* orient = node.field("scaleOrientation");
    if ((center && std::any_of(center->numbers.begin(), center->numbers.end(),
                               [](double v) { return v != 0; })) ||
        (orient && orient->numbers.size() == 4 && orient->numbers[3] != 0)) {
      fail(orient && orient->numbers.size() == 4 && orient->numbers[3] != 0 ? orient->line : center->line,
           "Transform center / scaleOrientation are not supported");
    }
    Affine a;
    const auto& s = numbers_of(node, "scale", 3);
    const auto& r = numbers_of(node, "rotation", 4);
    const auto& t = numbers_of(node, "translation", 3);
    Mat3 scale;
    if (!s.empty()) scale.m = {float(s[0]), 0, 0, 0, float(s[1]), 0, 0, 0, float(s[2])};
    Mat3 rot;
    if (!r.empty()) {  // Rodrigues: axis (normalised), angle in radians
      const Vec3 k = normalized(Vec3{float(r[0]), float(r[1]), float(r[2])});
      const float c = std::cos(float(r[3])), sn = std::sin(float(r[3])), v = 1 - c;
      rot.m = {k.x * k.x * v + c,       k.x * k.y * v - k.z * sn, k.x * k.z * v + k.y * sn,
               k.y * k.x * v + k.z * sn, k.y * k.y * v + c,       k.y * k.z * v - k.x * sn,
               k.z * k.x * v - k.y * sn, k.z * k.y * v + k.x * sn, k.z * k.z * v + c};
    }
    a.m = rot * scale;
    if (!t.empty()) a.t = {float(t[0]), float(t[1]), float(t[2])};
    return a;
  }

  // Integer indices of a field, each -1 or in [0, count).
  std::vector<int> indices(const Node& node, const char* name, size_t count) {
    std::vector<int> out;
    const Field* f = node.field(name);
    if (!f) return out;
    out.reserve(f->numbers.size());
    for (size_t i = 0; i < f->numbers.size(); ++i) {
      const double v = f->numbers[i];
      if (v != std::floor(v) || v < -1 || v >= static_cast<double>(count)) {
        std::ostringstream value;
        value << v;
        fail(f->number_lines[i], std::string(name) + " value " + value.str() +
                                     " is not -1 or an index below " + std::to_string(count));
      }
      out.push_back(static_cast<int>(v));
    }
    return out;
  }

  // Corner counts of the -1 separated polygons (a trailing -1 is optional).
  static std::vector<int> polygon_sizes(const std::vector<int>& idx) {
    std::vector<int> sizes;
    int cur = 0;
    for (int v : idx) {
      if (v < 0) {
        sizes.push_back(cur);
        cur = 0;
      } else {
        ++cur;
      }
    }
    if (cur > 0) sizes.push_back(cur);
    return sizes;
  }

  template <size_t D>
  std::vector<std::array<float, D>> points(const Node* holder, const char* what) {
    std::vector<std::array<float, D>> out;
    if (!holder) return out;
    const Field* f = holder->field("point");
    if (!f) return out;
    if (f->numbers.size() % D != 0) {
      fail(f->line, std::string(what) + ".point holds " + std::to_string(f->numbers.size()) +
                        " numbers, not a multiple of " + std::to_string(D));
    }
    out.resize(f->numbers.size() / D);
    for (size_t i = 0; i < out.size(); ++i) {
      for (size_t k = 0; k < D; ++k) out[i][k] = static_cast<float>(f->numbers[i * D + k]);
    }
    return out;
  }

  void shape(const Node& node, const Affine& xf, VrmlScene& scene) {
    const Node* geom = node.child("geometry");
    if (!geom || geom->type != "IndexedFaceSet") return;
    VrmlShape s;
    s.line = geom->line;
    for (const auto& p : points<3>(geom->child("coord"), "Coordinate")) {
      s.points.push_back(xf.apply({p[0], p[1], p[2]}));
    }
    for (const auto& p : points<2>(geom->child("texCoord"), "TextureCoordinate")) {
      s.tex_points.push_back({p[0], p[1]});
    }
    s.coord_index = indices(*geom, "coordIndex", s.points.size());
    s.tex_coord_index = indices(*geom, "texCoordIndex", s.tex_points.size());
    if (!s.tex_coord_index.empty() &&
        polygon_sizes(s.tex_coord_index) != polygon_sizes(s.coord_index)) {
      fail(geom->field("texCoordIndex")->line,
           "texCoordIndex does not have the polygons of coordIndex (same corner counts between -1s)");
    }
    if (s.tex_coord_index.empty() && !s.tex_points.empty()) {
      for (int v : s.coord_index) {
        if (v >= static_cast<int>(s.tex_points.size())) {
          fail(geom->field("coordIndex")->line,
               "without texCoordIndex, coordIndex must also index the texture coordinates (" +
                   std::to_string(s.tex_points.size()) + ")");
        }
      }
    }
    if (const Node* app = node.child("appearance")) {
      if (const Node* tex = app->child("texture")) {
        const Field* url = tex->field("url");
        if (tex->type == "ImageTexture" && url && !url->strings.empty()) s.texture_url = url->strings[0];
      }
    }
    scene.shapes.push_back(std::move(s));
  }

  std::string path_;
};

std::shared_ptr<const RgbImage> load_texture(const std::string& wrl_path, const std::string& url) {
  fs::path p(url);
  if (p.is_relative()) p = fs::path(wrl_path).parent_path() / p;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) {
    throw InputError(wrl_path + ": texture '" + url + "' not found (" + p.string() + ")");
  }
  const cv::Mat bgr = cv::imread(p.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw InputError(wrl_path + ": texture " + p.string() + " is not a readable image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  auto img = std::make_shared<RgbImage>(rgb.cols, rgb.rows);
  for (int y = 0; y < rgb.rows; ++y) {
    std::copy_n(rgb.ptr<uint8_t>(y), size_t(rgb.cols) * 3, img->at(0, y));
  }
  return img;
}

}  // namespace

VrmlScene parse_vrml(const std::string& text, const std::string& path) {
  if (text.compare(0, 10, "#VRML V2.0") != 0) {
    throw InputError(path + " line 1: not a VRML 2.0 file (expected the header '#VRML V2.0 utf8')");
  }
  Parser parser(tokenize(text, path), path);
  const std::vector<NodePtr> roots = parser.parse_file();
  VrmlScene scene;
  SceneBuilder builder(path);
  for (const NodePtr& root : roots) builder.visit(*root, Affine{}, scene);
  return scene;
}

VrmlScene read_vrml(const std::string& path) { return parse_vrml(read_text_file(path), path); }

std::vector<Mesh> vrml_meshes(const VrmlScene& scene, const std::string& wrl_path) {
  std::map<std::string, std::shared_ptr<const RgbImage>> textures;
  std::vector<Mesh> meshes;
  for (const VrmlShape& s : scene.shapes) {
    Mesh mesh;
    const bool textured = !s.texture_url.empty();
    if (textured) {
      if (s.tex_points.empty()) {
        throw InputError(wrl_path + " line " + std::to_string(s.line) +
                         ": textured IndexedFaceSet without texture coordinates (texCoord)");
      }
      auto& tex = textures[s.texture_url];
      if (!tex) tex = load_texture(wrl_path, s.texture_url);
      mesh.texture = tex;
    }
    // Unroll (point, texture coordinate) pairs into render vertices.
    std::unordered_map<uint64_t, int> vertex_of;
    const auto vertex = [&](size_t corner) {
      const int ci = s.coord_index[corner];
      const int ti = !textured ? -1 : s.tex_coord_index.empty() ? ci : s.tex_coord_index[corner];
      const uint64_t key = (uint64_t(uint32_t(ci)) << 32) | uint32_t(ti);
      const auto [it, inserted] = vertex_of.emplace(key, static_cast<int>(mesh.positions.size()));
      if (inserted) {
        mesh.positions.push_back(s.points[ci]);
        if (textured) mesh.uvs.push_back(s.tex_points[ti]);
      }
      return it->second;
    };
    size_t start = 0;
    for (size_t i = 0; i <= s.coord_index.size(); ++i) {
      if (i < s.coord_index.size() && s.coord_index[i] >= 0) continue;
      if (i - start >= 3) {  // fan from the first corner
        const int a = vertex(start);
        for (size_t k = start + 1; k + 1 < i; ++k) mesh.triangles.push_back({a, vertex(k), vertex(k + 1)});
      }
      start = i + 1;
    }
    if (!mesh.triangles.empty()) meshes.push_back(std::move(mesh));
  }
  return meshes;
}

}  // namespace posefer
