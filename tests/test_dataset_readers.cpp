// Readers of the paper's data sets and their relatives (Multi-PIE, BU-3DFE + VRML, SFEW, KDEF,
// RaFD, fer2013.csv) on tiny fake trees written here.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <map>
#include <sstream>

#include "data_test_util.h"
#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/data/dataset.h"
#include "posefer/data/dataset_bu3dfe.h"
#include "posefer/data/dataset_fer2013csv.h"
#include "posefer/data/dataset_folders.h"
#include "posefer/data/dataset_multipie.h"
#include "posefer/render/vrml.h"

namespace posefer {
namespace {

using testing_util::expect_throw_with;
using testing_util::ScratchDir;
using testing_util::write_bytes;
using testing_util::write_image;
namespace fs = std::filesystem;

using Names = std::vector<std::string>;

// A folder below the test's one ScratchDir (ScratchDirs of one test share a path, so a test
// that needs several folders takes them from here); created when made.
class Root {
 public:
  explicit Root(fs::path p) : path_(std::move(p)) { fs::create_directories(path_); }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

cv::Mat tiny(int value) { return cv::Mat(4, 4, CV_8UC3, cv::Scalar(value, value, value)); }

using testing_util::any_contains;
using testing_util::ends_with;

// What a sample should carry; `file` is the end of its path.
struct WantSample {
  const char* file;
  const char* subject;
  const char* group;
  int expression, pose;
  float yaw;
};

void expect_samples(const Dataset& ds, const std::vector<WantSample>& want) {
  ASSERT_EQ(ds.samples.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].file);
    const Sample& s = ds.samples[i];
    EXPECT_TRUE(ends_with(s.path, want[i].file)) << s.path;
    EXPECT_EQ(s.subject, want[i].subject);
    EXPECT_EQ(s.group, want[i].group);
    EXPECT_EQ(s.expression, want[i].expression);
    EXPECT_EQ(s.pose, want[i].pose);
    EXPECT_EQ(s.yaw_deg, want[i].yaw);
  }
}

const Names kBasic7{"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
const Names kFiveYaws{"p-90_t+0", "p-45_t+0", "p+0_t+0", "p+45_t+0", "p+90_t+0"};

// ---- data specs -----------------------------------------------------------------------------

TEST(ReaderSpecs, NewKindsParseAndUnknownListsThem) {
  for (const char* kind : {"multipie", "multipie-list", "bu3dfe", "sfew", "kdef", "rafd", "fer2013csv"}) {
    EXPECT_EQ(parse_data_spec(std::string(kind) + ":/x").kind, kind);
  }
  expect_throw_with<InputError>([] { parse_data_spec("jaffe:/x"); },
                                "unknown kind 'jaffe' (expected cmu, genki, fer2013, fer2013csv, "
                                "manifest, multipie, multipie-list, bu3dfe, sfew, kdef, rafd)");
}

TEST(ReaderSpecs, DataConfigCarriesReaderOptions) {
  DataConfig c;
  c.multipie_cameras = "05_1";
  c.multipie_illumination = "all";
  c.bu3dfe_intensity = 0;
  c.bu3dfe_neutral = true;
  c.render_size = 64;
  c.rafd_gaze = "frontal";
  c.data_cache = "/cache/data";
  c.yaw_bins = 5;
  const DataConfig back = nlohmann::json(c).get<DataConfig>();
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(c));
  const DatasetOptions o = dataset_options(back, 3, false);
  EXPECT_EQ(o.multipie_cameras, "05_1");
  EXPECT_EQ(o.multipie_illumination, "all");
  EXPECT_EQ(o.bu3dfe_intensity, 0);
  EXPECT_TRUE(o.bu3dfe_neutral);
  EXPECT_EQ(o.render_size, 64);
  EXPECT_EQ(o.rafd_gaze, "frontal");
  EXPECT_EQ(o.cache_dir, "/cache/data");
  EXPECT_EQ(o.yaw_bins, 5);
  EXPECT_EQ(o.threads, 3);
  EXPECT_FALSE(o.progress);
  c.render_size = 16;
  expect_throw_with<ConfigError>([&] { c.validate(); }, "render_size must be in [32, 1024]");
  c.render_size = 64;
  c.rafd_gaze = "up";
  expect_throw_with<ConfigError>([&] { c.validate(); }, "rafd_gaze must be");
}

// ---- Multi-PIE --------------------------------------------------------------------------------

std::string mpie(const std::string& subject, int session, int rec, const std::string& cam,
                 const std::string& light) {
  char buf[128];
  const std::string cam3 = cam.substr(0, 2) + cam.substr(3);
  std::snprintf(buf, sizeof buf, "session%02d/multiview/%s/%02d/%s/%s_%02d_%02d_%s_%s.png", session,
                subject.c_str(), rec, cam.c_str(), subject.c_str(), session, rec, cam3.c_str(),
                light.c_str());
  return buf;
}

void make_multipie_tree(const Root& d) {
  write_image(d / mpie("001", 1, 1, "05_1", "07"), tiny(1));  // neutral, frontal
  write_image(d / mpie("001", 1, 2, "13_0", "07"), tiny(2));  // smile, -30
  write_image(d / mpie("001", 1, 2, "04_1", "07"), tiny(3));  // smile, +30
  write_image(d / mpie("001", 1, 2, "04_1", "03"), tiny(4));  // other illumination
  write_image(d / mpie("001", 1, 1, "19_0", "07"), tiny(5));  // camera not selected
  write_image(d / mpie("001", 1, 1, "19_0", "08"), tiny(5));
  write_image(d / mpie("001", 1, 1, "08_1", "07"), tiny(6));  // elevated camera
  write_image(d / mpie("002", 2, 3, "14_0", "07"), tiny(7));  // squint, -15
  write_image(d / mpie("002", 2, 2, "05_0", "07"), tiny(8));  // surprise, +15
  write_image(d / mpie("002", 3, 3, "05_1", "07"), tiny(9));  // disgust
  write_image(d / mpie("003", 4, 2, "05_1", "07"), tiny(10));  // neutral (2nd recording)
  write_image(d / mpie("003", 4, 3, "05_1", "07"), tiny(11));  // scream
  write_bytes(d / "session01/multiview/001/01/05_1/notes.txt", "x");
  write_bytes(d / "session01/highres/001/x.png", "x");  // not under multiview: not read
}

TEST(MultiPie, TreeLabelsPosesGroupsAndFilters) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  make_multipie_tree(d);
  const Dataset ds = load_dataset(parse_data_spec("multipie:" + d.path().string()));
  EXPECT_EQ(ds.name, "multipie");
  EXPECT_EQ(ds.native_channels, 3);
  EXPECT_EQ(ds.expression_names, (Names{"neutral", "smile", "surprise", "squint", "disgust", "scream"}));
  EXPECT_EQ(ds.pose_names, (Names{"p-30_t+0", "p-15_t+0", "p+0_t+0", "p+15_t+0", "p+30_t+0"}));
  // Sorted by session, subject, recording, camera folder, file.
  expect_samples(ds, {{"001_01_01_051_07.png", "001", "session01", 0, 2, 0.f},
                      {"001_01_02_041_07.png", "001", "session01", 1, 4, 30.f},
                      {"001_01_02_130_07.png", "001", "session01", 1, 0, -30.f},
                      {"002_02_02_050_07.png", "002", "session02", 2, 3, 15.f},
                      {"002_02_03_140_07.png", "002", "session02", 3, 1, -15.f},
                      {"002_03_03_051_07.png", "002", "session03", 4, 2, 0.f},
                      {"003_04_02_051_07.png", "003", "session04", 0, 2, 0.f},
                      {"003_04_03_051_07.png", "003", "session04", 5, 2, 0.f}});
  EXPECT_EQ(ds.filtered, (std::map<std::string, int64_t>{{"camera 08_1 not selected", 1},
                                                         {"camera 19_0 not selected", 2},
                                                         {"illumination 03 not selected", 1}}));
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_TRUE(any_contains(ds.skipped, "notes.txt", "not a .png image"));
}

TEST(MultiPie, OptionsChooseCamerasAndIlluminations) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  make_multipie_tree(d);
  DatasetOptions o;
  o.multipie_cameras = "19_0, 05_1,13_0";  // ordered by yaw whatever the list order
  o.multipie_illumination = "all";
  const Dataset ds = read_multipie(d.path().string(), o);
  EXPECT_EQ(ds.pose_names, (Names{"p-30_t+0", "p+0_t+0", "p+45_t+0"}));
  ASSERT_EQ(ds.samples.size(), 7u);  // 05_1 x4, 13_0, 19_0 x2
  EXPECT_TRUE(ends_with(ds.samples[1].path, "001_01_01_190_07.png"));
  EXPECT_EQ(ds.samples[1].pose, 2);
  EXPECT_EQ(ds.samples[1].yaw_deg, 45.f);
  EXPECT_EQ(ds.filtered.count("illumination 03 not selected"), 0u);
  EXPECT_EQ(ds.filtered.at("camera 04_1 not selected"), 2);
  o.multipie_illumination = "08";
  const Dataset lit8 = read_multipie(d.path().string(), o);
  ASSERT_EQ(lit8.samples.size(), 1u);
  EXPECT_TRUE(ends_with(lit8.samples[0].path, "001_01_01_190_08.png"));
  EXPECT_EQ(multipie_cameras("paper"), (Names{"13_0", "14_0", "05_1", "05_0", "04_1"}));
  o.multipie_cameras = "05_1,08_1";
  expect_throw_with<ConfigError>([&] { read_multipie(d.path().string(), o); },
                                 "Multi-PIE camera '08_1' is not one of the cameras at head height");
  o.multipie_cameras = "paper";
  o.multipie_illumination = "7";
  expect_throw_with<ConfigError>([&] { read_multipie(d.path().string(), o); },
                                 "illumination '7' is not a two-digit index 00..18");
  o.multipie_illumination = "07";
  // The parent of the sessions' folder "data" is accepted too.
  const Root e{tmp.path() / "e"};
  write_image(e / ("data/" + mpie("005", 1, 1, "05_1", "07")), tiny(1));
  EXPECT_EQ(read_multipie(e.path().string(), o).samples.size(), 1u);
}

TEST(MultiPie, MalformedNamesThrowNamingTheFile) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  write_image(d / "session01/multiview/001/01/05_1/001_01_01_051.png", tiny(1));
  expect_throw_with<InputError>([&] { read_multipie(d.path().string()); },
                                "001_01_01_051.png: not a Multi-PIE image name (expected SSS_0S_RR_CCC_II.png)");
  const Root e{tmp.path() / "e"};
  write_image(e / "session01/multiview/001/01/05_1/001_01_01_130_07.png", tiny(1));
  expect_throw_with<InputError>([&] { read_multipie(e.path().string()); },
                                "001_01_01_130_07.png: file name disagrees with its folders");
  const Root f{tmp.path() / "f"};
  write_image(f / mpie("001", 1, 3, "05_1", "07"), tiny(1));
  expect_throw_with<InputError>([&] { read_multipie(f.path().string()); },
                                "001_01_03_051_07.png: session 1 has no recording 3");
  const Root g{tmp.path() / "g"};
  write_image(g / mpie("001", 1, 1, "19_0", "07"), tiny(1));
  expect_throw_with<InputError>([&] { read_multipie(g.path().string()); }, "no Multi-PIE images of cameras");
}

TEST(MultiPieList, PathLabelLines) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  make_multipie_tree(d);
  write_image(d / "my images/001_01_01_140_07.png", tiny(1));
  write_bytes(d / "list.txt",
              "# path label\n"
              "\n" +
                  mpie("001", 1, 2, "13_0", "07") + " 1\n" +    // line 3
                  mpie("002", 2, 3, "14_0", "07") + ",3\r\n" +  // line 4: comma, CRLF
                  "my images/001_01_01_140_07.png\t0\n" +       // line 5: blank in the path
                  mpie("001", 1, 1, "19_0", "07") + " 0\n" +    // line 6: camera not selected
                  "session09/x/009_01_01_051_07.png 2\n" +     // line 7: missing file
                  mpie("002", 2, 2, "05_0", "07") + " 2\n");   // line 8
  const Dataset ds = load_dataset(parse_data_spec("multipie-list:" + (d / "list.txt")));
  EXPECT_EQ(ds.name, "multipie-list");
  EXPECT_EQ(ds.pose_names.size(), 5u);
  ASSERT_EQ(ds.samples.size(), 4u);  // in list order
  EXPECT_EQ(ds.samples[0].path, (d.path() / mpie("001", 1, 2, "13_0", "07")).string());
  EXPECT_EQ(ds.samples[0].expression, 1);
  EXPECT_EQ(ds.samples[0].pose, 0);
  EXPECT_EQ(ds.samples[0].subject, "001");
  EXPECT_EQ(ds.samples[0].group, "session01");
  EXPECT_EQ(ds.samples[1].expression, 3);
  EXPECT_EQ(ds.samples[1].pose, 1);
  EXPECT_EQ(ds.samples[1].group, "session02");
  EXPECT_TRUE(ends_with(ds.samples[2].path, "my images/001_01_01_140_07.png"));
  EXPECT_EQ(ds.samples[2].expression, 0);
  EXPECT_EQ(ds.samples[2].yaw_deg, -15.f);
  EXPECT_EQ(ds.samples[3].expression, 2);
  EXPECT_EQ(ds.samples[3].pose, 3);
  EXPECT_EQ(ds.filtered.at("camera 19_0 not selected"), 1);
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_TRUE(any_contains(ds.skipped, "009_01_01_051_07.png: missing image file", "list.txt line 7"));

  write_bytes(d / "bad.txt", mpie("001", 1, 2, "13_0", "07") + " 6\n");
  expect_throw_with<InputError>([&] { read_multipie_list(d / "bad.txt"); },
                                "bad.txt line 1: label must be an integer 0..5");
  write_bytes(d / "bad.txt", "\n" + mpie("001", 1, 2, "13_0", "07") + " happy\n");
  expect_throw_with<InputError>([&] { read_multipie_list(d / "bad.txt"); },
                                "bad.txt line 2: label must be an integer 0..5 (neutral, smile, "
                                "surprise, squint, disgust, scream), got 'happy'");
  write_bytes(d / "bad.txt", "3\n");
  expect_throw_with<InputError>([&] { read_multipie_list(d / "bad.txt"); },
                                "bad.txt line 1: expected '<path> <label>', got '3'");
  write_bytes(d / "bad.txt", "img/face.png 1\n");
  expect_throw_with<InputError>([&] { read_multipie_list(d / "bad.txt"); },
                                "bad.txt line 1: img/face.png: not a Multi-PIE image name");
}

// ---- VRML -------------------------------------------------------------------------------------

// A unit cube (8 points, 6 quads), each face mapped onto the whole texture.
std::string cube_vrml(const std::string& texture, const std::string& extra_transform = "") {
  return "#VRML V2.0 utf8\n"
         "# a cube\n"
         "Transform { " + extra_transform + "\n"
         "  children [\n"
         "    Shape {\n"
         "      appearance Appearance { material Material { diffuseColor 1 1 1 }\n"
         "        texture ImageTexture { url \"" + texture + "\" } }\n"
         "      geometry IndexedFaceSet {\n"
         "        solid FALSE creaseAngle 0.5\n"
         "        coord DEF C Coordinate { point [ -1 -1 -1, 1 -1 -1, 1 1 -1, -1 1 -1,\n"
         "                                          -1 -1 1, 1 -1 1, 1 1 1, -1 1 1 ] }\n"
         "        coordIndex [ 4 5 6 7 -1, 1 0 3 2 -1, 5 1 2 6 -1, 0 4 7 3 -1,\n"
         "                     7 6 2 3 -1, 0 1 5 4 ]\n"
         "        texCoord TextureCoordinate { point [ 0 0, 1 0, 1 1, 0 1 ] }\n"
         "        texCoordIndex [ 0 1 2 3 -1, 0 1 2 3 -1, 0 1 2 3 -1, 0 1 2 3 -1,\n"
         "                        0 1 2 3 -1, 0 1 2 3 -1 ]\n"
         "      }\n"
         "    }\n"
         "  ]\n"
         "}\n"
         "ROUTE a.b TO c.d\n";
}

TEST(Vrml, ParsesTexturedFaceSetsWithTransforms) {
  const VrmlScene scene =
      parse_vrml(cube_vrml("skin.bmp", "translation 1 2 3 scale 2 2 2"), "cube.wrl");
  ASSERT_EQ(scene.shapes.size(), 1u);
  const VrmlShape& s = scene.shapes[0];
  ASSERT_EQ(s.points.size(), 8u);
  EXPECT_FLOAT_EQ(s.points[0].x, -1.f);  // 2 * -1 + 1
  EXPECT_FLOAT_EQ(s.points[0].y, 0.f);   // 2 * -1 + 2
  EXPECT_FLOAT_EQ(s.points[6].z, 5.f);   // 2 * 1 + 3
  EXPECT_EQ(s.coord_index.size(), 29u);  // last polygon without its -1
  EXPECT_EQ(s.tex_points.size(), 4u);
  EXPECT_FLOAT_EQ(s.tex_points[2].x, 1.f);
  EXPECT_EQ(s.tex_coord_index.size(), 30u);
  EXPECT_EQ(s.texture_url, "skin.bmp");
  EXPECT_EQ(s.line, 8);
  // A 90-degree rotation about +y takes +x to -z: (x, y, z) -> (z, y, -x).
  const VrmlScene r = parse_vrml(cube_vrml("t.bmp", "rotation 0 1 0 1.5707963"), "r.wrl");
  EXPECT_NEAR(r.shapes[0].points[5].x, 1.f, 1e-5);   // (1, -1, 1) -> (1, -1, -1)
  EXPECT_NEAR(r.shapes[0].points[5].z, -1.f, 1e-5);
  EXPECT_NEAR(r.shapes[0].points[1].x, -1.f, 1e-5);  // (1, -1, -1) -> (-1, -1, -1)
  // DEF / USE: a second shape reusing the coordinates, untextured.
  const std::string two = "#VRML V2.0 utf8\nGroup { children [ Shape { geometry IndexedFaceSet {\n"
                          "coord DEF P Coordinate { point [0 0 0, 1 0 0, 0 1 0] } coordIndex [0 1 2] } }\n"
                          "Shape { geometry IndexedFaceSet { coord USE P coordIndex [2 1 0 -1] } }\n"
                          "Shape { geometry Box { size 1 1 1 } } ] }\n";
  const VrmlScene g = parse_vrml(two, "two.wrl");
  ASSERT_EQ(g.shapes.size(), 2u);
  EXPECT_EQ(g.shapes[1].points.size(), 3u);
  EXPECT_EQ(g.shapes[1].coord_index, (std::vector<int>{2, 1, 0, -1}));
  EXPECT_EQ(g.shapes[1].texture_url, "");
  const auto meshes = vrml_meshes(g, "two.wrl");
  ASSERT_EQ(meshes.size(), 2u);
  EXPECT_EQ(meshes[0].triangles.size(), 1u);
  EXPECT_EQ(meshes[0].texture, nullptr);
}

TEST(Vrml, MeshesUnrollCornersAndLoadTextures) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  write_image(d / "skin.bmp", cv::Mat(4, 4, CV_8UC3, cv::Scalar(0, 0, 255)));  // BGR red
  write_bytes(d / "cube.wrl", cube_vrml("skin.bmp"));
  const auto meshes = vrml_meshes(read_vrml(d / "cube.wrl"), d / "cube.wrl");
  ASSERT_EQ(meshes.size(), 1u);
  EXPECT_EQ(meshes[0].triangles.size(), 12u);   // 6 quads, 2 triangles each
  EXPECT_EQ(meshes[0].positions.size(), 20u);   // distinct (point, texture coordinate) pairs
  EXPECT_EQ(meshes[0].uvs.size(), 20u);
  ASSERT_NE(meshes[0].texture, nullptr);
  EXPECT_EQ(meshes[0].texture->width, 4);
  EXPECT_EQ(meshes[0].texture->at(1, 1)[0], 255);  // RGB order
  EXPECT_EQ(meshes[0].texture->at(1, 1)[2], 0);
  write_bytes(d / "lost.wrl", cube_vrml("lost.bmp"));
  expect_throw_with<InputError>([&] { vrml_meshes(read_vrml(d / "lost.wrl"), d / "lost.wrl"); },
                                "lost.wrl: texture 'lost.bmp' not found");
}

TEST(Vrml, BrokenSyntaxNamesFileAndLine) {
  const std::string good = cube_vrml("t.bmp");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
  };
  expect_throw_with<InputError>([&] { parse_vrml("Shape {}", "a.wrl"); },
                                "a.wrl line 1: not a VRML 2.0 file");
  expect_throw_with<InputError>([&] { parse_vrml(with("0 1 5 4 ]", "0 1 5 9 ]"), "b.wrl"); },
                                "b.wrl line 13: coordIndex value 9 is not -1 or an index below 8");
  expect_throw_with<InputError>([&] { parse_vrml(with("1 -1 -1, 1 1 -1", "1 -1 x, 1 1 -1"), "c.wrl"); },
                                "c.wrl line 10: 'x' is not a number");
  expect_throw_with<InputError>([&] { parse_vrml(with("-1 1 1 ] }", "-1 1 ] }"), "d.wrl"); },
                                "d.wrl line 10: Coordinate.point holds 23 numbers, not a multiple of 3");
  expect_throw_with<InputError>([&] { parse_vrml(good.substr(0, good.rfind('}')), "e.wrl"); },
                                "e.wrl line 3: node 'Transform' is not closed");
  expect_throw_with<InputError>([&] { parse_vrml(with("\"t.bmp\"", "\"t.bmp"), "f.wrl"); },
                                "f.wrl line 7: unterminated string");
  expect_throw_with<InputError>(
      [&] { parse_vrml(with("0 1 2 3 -1, 0 1 2 3 -1 ]", "0 1 2 3 -1, 0 1 2 -1 ]"), "g.wrl"); },
      "g.wrl line 15: texCoordIndex does not have the polygons of coordIndex");
  expect_throw_with<InputError>([&] { parse_vrml("#VRML V2.0 utf8\nPROTO X [] {}\n", "p.wrl"); },
                                "p.wrl line 2: PROTO is not supported");
}

// ---- BU-3DFE ----------------------------------------------------------------------------------

// Scan <subject>/<stem>_F3D.wrl (a cube) with a solid-colour BMP texture (BGR).
void write_scan(const Root& d, const std::string& subject, const std::string& stem,
                cv::Scalar bgr, bool texture = true) {
  const std::string base = subject + "/" + stem + "_F3D";
  write_bytes(d / (base + ".wrl"), cube_vrml(stem + "_F3D.bmp"));
  if (texture) write_image(d / (base + ".bmp"), cv::Mat(8, 8, CV_8UC3, bgr));
}

void make_bu3dfe_tree(const Root& d) {
  write_scan(d, "F0001", "F0001_AN04WH", cv::Scalar(0, 0, 255));   // red
  write_scan(d, "F0001", "F0001_HA03WH", cv::Scalar(255, 0, 0));   // intensity 3
  write_scan(d, "F0001", "F0001_NE00WH", cv::Scalar(255, 0, 0));   // neutral
  write_scan(d, "M0002", "M0002_SU04BL", cv::Scalar(0, 255, 0));   // green
  write_bytes(d / "F0001/F0001_AN04WH_RAW.wrl", "#VRML V2.0 utf8\n");
  write_bytes(d / "F0001/F0001_AN04WH_F3D.bnd", "1 2 3\n");
  write_bytes(d / "F0001/readme.txt", "x");
}

cv::Vec3b centre_bgr(const std::string& png, int size) {
  const cv::Mat img = cv::imread(png, cv::IMREAD_COLOR);
  EXPECT_EQ(img.cols, size) << png;
  EXPECT_EQ(img.rows, size) << png;
  return img.empty() ? cv::Vec3b() : img.at<cv::Vec3b>(size / 2, size / 2);
}

TEST(Bu3dfe, RendersScansAtThe35ViewsWithLabels) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  const Root cache{tmp.path() / "cache"};
  make_bu3dfe_tree(d);
  DatasetOptions o;
  o.cache_dir = cache.path().string();
  o.render_size = 32;
  o.progress = false;
  o.threads = 2;
  const Dataset ds = load_dataset(parse_data_spec("bu3dfe:" + d.path().string()), o);
  EXPECT_EQ(ds.name, "bu3dfe");
  EXPECT_EQ(ds.native_channels, 3);
  EXPECT_EQ(ds.expression_names, (Names{"angry", "disgust", "fear", "happy", "sad", "surprise"}));
  ASSERT_EQ(ds.pose_names.size(), 35u);
  EXPECT_EQ(ds.pose_names[0], "p-45_t-30");
  EXPECT_EQ(ds.pose_names[1], "p-45_t-15");
  EXPECT_EQ(ds.pose_names[5], "p-30_t-30");
  EXPECT_EQ(ds.pose_names[17], "p+0_t+0");
  EXPECT_EQ(ds.pose_names[34], "p+45_t+30");
  ASSERT_EQ(ds.samples.size(), 70u);  // 2 scans x 35 views
  for (size_t i = 0; i < 70; ++i) {
    const Sample& s = ds.samples[i];
    const int v = static_cast<int>(i % 35);
    EXPECT_EQ(s.subject, i < 35 ? "F0001" : "M0002");
    EXPECT_EQ(s.expression, i < 35 ? 0 : 5);
    EXPECT_EQ(s.pose, v);
    EXPECT_EQ(s.yaw_deg, -45.f + 15.f * (v / 5));
    EXPECT_EQ(s.pitch_deg, -30.f + 15.f * (v % 5));
    EXPECT_TRUE(ends_with(s.path, (i < 35 ? "F0001/F0001_AN04WH_" : "M0002/M0002_SU04BL_") +
                                      ds.pose_names[v] + ".png"))
        << s.path;
    EXPECT_EQ(fs::path(s.path).parent_path().parent_path().parent_path(), cache.path());
  }
  EXPECT_EQ(ds.filtered, (std::map<std::string, int64_t>{
                             {"intensity 3 not selected", 1},
                             {"neutral scans not selected", 1},
                             {"not an F3D scan (RAW scans, .bnd/.pse landmarks)", 2}}));
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_TRUE(any_contains(ds.skipped, "readme.txt", "not a BU-3DFE scan"));
  // The texture colour shows: red cube in front of the grey background, green for M0002.
  const cv::Vec3b red = centre_bgr(ds.samples[17].path, 32);
  EXPECT_GT(red[2], 80);
  EXPECT_LT(red[1], 20);
  EXPECT_LT(red[0], 20);
  const cv::Vec3b green = centre_bgr(ds.samples[35 + 3].path, 32);  // p-45_t+15
  EXPECT_GT(green[1], 80);
  EXPECT_LT(green[2], 20);
  const cv::Mat corner = cv::imread(ds.samples[17].path);
  const cv::Vec3b bg = corner.at<cv::Vec3b>(0, 0);
  const int want_bg[3] = {107, 97, 92};  // background 0.42, 0.38, 0.36 (BGR)
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(bg[c], want_bg[c], 1) << c;
}

TEST(Bu3dfe, CacheIsReusedWhenSettingsMatch) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  const Root cache{tmp.path() / "cache"};
  make_bu3dfe_tree(d);
  DatasetOptions o;
  o.cache_dir = cache.path().string();
  o.render_size = 32;
  o.progress = false;
  const Dataset first = read_bu3dfe(d.path().string(), o);
  const std::string frontal = first.samples[17].path;
  // Mark one view: a second read must keep it (reused, not rendered again).
  ASSERT_TRUE(cv::imwrite(frontal, cv::Mat(32, 32, CV_8UC3, cv::Scalar(255, 0, 255))));
  const Dataset second = read_bu3dfe(d.path().string(), o);
  ASSERT_EQ(second.samples.size(), first.samples.size());
  EXPECT_EQ(second.samples[17].path, frontal);
  EXPECT_EQ(centre_bgr(frontal, 32), cv::Vec3b(255, 0, 255));
  // A missing view is rendered again (an interrupted run resumes).
  fs::remove(second.samples[40].path);
  read_bu3dfe(d.path().string(), o);
  EXPECT_TRUE(fs::is_regular_file(second.samples[40].path));
  // Other settings: another folder. Neutral on, all intensities: 7 classes, 4 scans.
  o.render_size = 40;
  o.bu3dfe_neutral = true;
  o.bu3dfe_intensity = 0;
  const Dataset all = read_bu3dfe(d.path().string(), o);
  EXPECT_EQ(all.expression_names, kBasic7);
  ASSERT_EQ(all.samples.size(), 4u * 35u);
  EXPECT_NE(fs::path(all.samples[0].path).parent_path().parent_path(),
            fs::path(frontal).parent_path().parent_path());
  EXPECT_EQ(all.samples[35].expression, 3);  // F0001_HA03WH: happy
  EXPECT_EQ(all.samples[70].expression, 4);  // F0001_NE00WH: neutral
  const cv::Vec3b red = centre_bgr(all.samples[17].path, 40);
  EXPECT_GT(red[2], 80);
  EXPECT_LT(red[0], 20);
}

TEST(Bu3dfe, ErrorsNameTheFile) {
  ScratchDir tmp;
  const Root cache{tmp.path() / "cache"};
  DatasetOptions o;
  o.cache_dir = cache.path().string();
  o.render_size = 32;
  o.progress = false;
  {
    const Root d{tmp.path() / "d1"};
    write_scan(d, "F0001", "F0001_AN04WH", cv::Scalar(0, 0, 255), /*texture=*/false);
    expect_throw_with<InputError>([&] { read_bu3dfe(d.path().string(), o); },
                                  "F0001_AN04WH_F3D.wrl: texture 'F0001_AN04WH_F3D.bmp' not found");
  }
  {
    const Root d{tmp.path() / "d2"};
    write_scan(d, "F0001", "F0001_AN04WH", cv::Scalar(0, 0, 255));
    write_bytes(d / "F0001/F0001_AN04WH_F3D.wrl", "#VRML V2.0 utf8\nShape { geometry IndexedFaceSet {\n"
                                                   "coord Coordinate { point [ 0 0 0, 1 0 0 ] }\n"
                                                   "coordIndex [ 0 1 2 -1 ] } }\n");
    expect_throw_with<InputError>([&] { read_bu3dfe(d.path().string(), o); },
                                  "F0001_AN04WH_F3D.wrl line 4: coordIndex value 2 is not -1 or an index below 2");
  }
  {
    const Root d{tmp.path() / "d3"};
    write_bytes(d / "F0001/F0001_AN4WH_F3D.wrl", "#VRML V2.0 utf8\n");
    expect_throw_with<InputError>([&] { read_bu3dfe(d.path().string(), o); },
                                  "F0001_AN4WH_F3D.wrl: not a BU-3DFE scan name");
    fs::remove(d / "F0001/F0001_AN4WH_F3D.wrl");
    write_bytes(d / "F0001/F0001_XX04WH_F3D.wrl", "#VRML V2.0 utf8\n");
    expect_throw_with<InputError>([&] { read_bu3dfe(d.path().string(), o); },
                                  "unknown expression code 'XX'");
    fs::remove(d / "F0001/F0001_XX04WH_F3D.wrl");
    write_bytes(d / "F0001/M0002_AN04WH_F3D.wrl", "#VRML V2.0 utf8\n");
    expect_throw_with<InputError>([&] { read_bu3dfe(d.path().string(), o); },
                                  "subject 'M0002' disagrees with its folder 'F0001'");
  }
  DatasetOptions none = o;
  none.cache_dir = "";
  expect_throw_with<ConfigError>([&] { read_bu3dfe(cache.path().string(), none); },
                                 "bu3dfe: rendering the scans needs a cache folder");
  o.bu3dfe_intensity = 5;
  expect_throw_with<ConfigError>([&] { read_bu3dfe(cache.path().string(), o); }, "1..4 or 0");
}

// ---- SFEW -------------------------------------------------------------------------------------

TEST(Sfew, SplitFoldersAndCaseInsensitiveClasses) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  write_image(d / "Set_1/Angry/a.png", tiny(1));
  write_image(d / "Set_1/happy/b.jpg", tiny(2));
  write_image(d / "Set_2/SURPRISE/c.png", tiny(3));
  write_image(d / "Set_2/Neutral/d.PNG", tiny(4));
  write_bytes(d / "Set_2/Neutral/notes.txt", "x");
  write_bytes(d / "Set_1/readme.txt", "x");
  const Dataset ds = load_dataset(parse_data_spec("sfew:" + d.path().string()));
  EXPECT_EQ(ds.name, "sfew");
  EXPECT_EQ(ds.native_channels, 3);
  EXPECT_EQ(ds.expression_names, kBasic7);
  EXPECT_EQ(ds.pose_names, (Names{"all"}));
  ASSERT_EQ(ds.samples.size(), 4u);
  const char* subjects[] = {"Set_1/Angry/a", "Set_1/happy/b", "Set_2/Neutral/d", "Set_2/SURPRISE/c"};
  const int exprs[] = {0, 3, 4, 6};
  const char* groups[] = {"Set_1", "Set_1", "Set_2", "Set_2"};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ds.samples[i].subject, subjects[i]);
    EXPECT_EQ(ds.samples[i].expression, exprs[i]);
    EXPECT_EQ(ds.samples[i].group, groups[i]);
    EXPECT_EQ(ds.samples[i].pose, 0);
    EXPECT_NE(ds.samples[i].path.find(subjects[i]), std::string::npos) << ds.samples[i].path;
  }
  EXPECT_EQ(ds.skipped.size(), 2u);
  EXPECT_TRUE(any_contains(ds.skipped, "notes.txt", "not an image"));
  EXPECT_TRUE(any_contains(ds.skipped, "readme.txt", "not in a class folder"));
}

TEST(Sfew, FlatLayoutTrainValAndUnknownFolders) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  write_image(d / "Sad/x.png", tiny(1));
  write_image(d / "Fear/y.png", tiny(2));
  const Dataset flat = read_sfew(d.path().string());
  ASSERT_EQ(flat.samples.size(), 2u);
  EXPECT_EQ(flat.samples[0].expression, 2);  // Fear first (sorted)
  EXPECT_EQ(flat.samples[0].group, "");
  EXPECT_EQ(flat.samples[1].subject, "Sad/x");
  const Root e{tmp.path() / "e"};
  write_image(e / "Train/Disgust/1.png", tiny(1));
  write_image(e / "Val/Disgust/2.png", tiny(1));
  const Dataset tv = read_sfew(e.path().string());
  ASSERT_EQ(tv.samples.size(), 2u);
  EXPECT_EQ(tv.samples[0].group, "Train");
  EXPECT_EQ(tv.samples[1].group, "Val");
  EXPECT_EQ(tv.samples[1].expression, 1);
  write_image(e / "Val/Contempt/3.png", tiny(1));
  expect_throw_with<InputError>([&] { read_sfew(e.path().string()); },
                                "Contempt: unknown SFEW class folder 'Contempt'");
  write_image(d / "Other/z.png", tiny(1));
  expect_throw_with<InputError>([&] { read_sfew(d.path().string()); },
                                "unknown SFEW class folder 'Other'");
  const Root f{tmp.path() / "f"};
  expect_throw_with<InputError>([&] { read_sfew(f.path().string()); }, "no sfew images found");
}

// ---- KDEF -------------------------------------------------------------------------------------

TEST(Kdef, NamesGiveSessionSubjectExpressionAndAngle) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  write_image(d / "KDEF/AF01/AF01ANHL.JPG", tiny(1));
  write_image(d / "KDEF/AF01/AF01AFS.JPG", tiny(2));
  write_image(d / "KDEF/BM12/BM12HAFR.jpg", tiny(3));
  write_image(d / "KDEF/AM05/AM05SUFL.JPG", tiny(4));
  write_image(d / "KDEF/BF01/bf01nehr.jpg", tiny(5));
  write_bytes(d / "KDEF/readme.txt", "x");
  const Dataset ds = load_dataset(parse_data_spec("kdef:" + d.path().string()));
  EXPECT_EQ(ds.name, "kdef");
  EXPECT_EQ(ds.expression_names, kBasic7);
  EXPECT_EQ(ds.pose_names, kFiveYaws);
  expect_samples(ds, {{"AF01AFS.JPG", "F01", "A", 2, 2, 0.f},
                      {"AF01ANHL.JPG", "F01", "A", 0, 1, -45.f},
                      {"AM05SUFL.JPG", "M05", "A", 6, 0, -90.f},
                      {"bf01nehr.jpg", "F01", "B", 4, 3, 45.f},
                      {"BM12HAFR.jpg", "M12", "B", 3, 4, 90.f}});
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_TRUE(any_contains(ds.skipped, "readme.txt", "not an image"));
  write_image(d / "KDEF/AF01/AF01XXHL.JPG", tiny(1));
  expect_throw_with<InputError>([&] { read_kdef(d.path().string()); },
                                "AF01XXHL.JPG: not a KDEF image name");
}

// ---- RaFD -------------------------------------------------------------------------------------

TEST(Rafd, NamesGiveCameraSubjectExpressionAndGaze) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  write_image(d / "Rafd090_01_Caucasian_female_angry_frontal.jpg", tiny(1));
  write_image(d / "Rafd000_02_Moroccan_male_contemptuous_left.jpg", tiny(2));
  write_image(d / "Rafd180_01_Caucasian_female_surprised_right.jpg", tiny(3));
  write_image(d / "kids/Rafd135_10_Kid_male_fearful_frontal.jpg", tiny(4));
  write_bytes(d / "index.html", "x");
  const Dataset ds = load_dataset(parse_data_spec("rafd:" + d.path().string()));
  EXPECT_EQ(ds.name, "rafd");
  EXPECT_EQ(ds.expression_names,
            (Names{"angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"}));
  EXPECT_EQ(ds.pose_names, kFiveYaws);
  expect_samples(ds, {{"Rafd000_02_Moroccan_male_contemptuous_left.jpg", "02", "", 1, 0, -90.f},
                      {"Rafd090_01_Caucasian_female_angry_frontal.jpg", "01", "", 0, 2, 0.f},
                      {"Rafd180_01_Caucasian_female_surprised_right.jpg", "01", "", 7, 4, 90.f},
                      {"kids/Rafd135_10_Kid_male_fearful_frontal.jpg", "10", "", 3, 3, 45.f}});
  EXPECT_TRUE(ds.filtered.empty());
  EXPECT_TRUE(any_contains(ds.skipped, "index.html", "not an image"));
  DatasetOptions o;
  o.rafd_gaze = "frontal";
  const Dataset frontal = read_rafd(d.path().string(), o);
  ASSERT_EQ(frontal.samples.size(), 2u);
  EXPECT_EQ(frontal.samples[0].expression, 0);
  EXPECT_EQ(frontal.filtered, (std::map<std::string, int64_t>{{"gaze left not selected", 1},
                                                              {"gaze right not selected", 1}}));
  o.rafd_gaze = "up";
  expect_throw_with<ConfigError>([&] { read_rafd(d.path().string(), o); }, "RaFD gaze must be");
  write_image(d / "Rafd091_03_Caucasian_female_angry_frontal.jpg", tiny(1));
  expect_throw_with<InputError>([&] { read_rafd(d.path().string()); },
                                "Rafd091_03_Caucasian_female_angry_frontal.jpg: not a RaFD image name");
  fs::remove(d / "Rafd091_03_Caucasian_female_angry_frontal.jpg");
  write_image(d / "Rafd090_03_Caucasian_female_bored_frontal.jpg", tiny(1));
  expect_throw_with<InputError>([&] { read_rafd(d.path().string()); }, "not a RaFD image name");
}

// ---- fer2013.csv ------------------------------------------------------------------------------

// Pixels of a 48x48 image that is `value` everywhere except pixel 0 (top left) = 255.
std::string fer_pixels(int value) {
  std::ostringstream os;
  os << 255;
  for (int i = 1; i < 48 * 48; ++i) os << ' ' << value;
  return os.str();
}

std::string fer_row(int emotion, int value, const std::string& usage) {
  return std::to_string(emotion) + "," + fer_pixels(value) + "," + usage + "\n";
}

TEST(Fer2013Csv, WritesPngsOnceWithLabelsAndGroups) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  const Root cache{tmp.path() / "cache"};
  const std::string csv = d / "fer2013.csv";
  write_bytes(csv, "emotion,pixels,Usage\n" + fer_row(0, 10, "Training") + fer_row(4, 20, "PublicTest") +
                       fer_row(6, 30, "PrivateTest") + fer_row(3, 40, "Training"));
  DatasetOptions o;
  o.cache_dir = cache.path().string();
  o.progress = false;
  const Dataset ds = load_dataset(parse_data_spec("fer2013csv:" + csv), o);
  EXPECT_EQ(ds.name, "fer2013csv");
  EXPECT_EQ(ds.native_channels, 1);
  EXPECT_EQ(ds.expression_names, kBasic7);
  EXPECT_EQ(ds.pose_names, (Names{"all"}));
  ASSERT_EQ(ds.samples.size(), 4u);
  const int exprs[] = {0, 5, 4, 3};  // CSV codes 0 Angry, 4 Sad, 6 Neutral, 3 Happy
  const char* subjects[] = {"Training_00001", "PublicTest_00002", "PrivateTest_00003", "Training_00004"};
  const char* groups[] = {"Training", "PublicTest", "PrivateTest", "Training"};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const Sample& s = ds.samples[i];
    EXPECT_EQ(s.expression, exprs[i]);
    EXPECT_EQ(s.subject, subjects[i]);
    EXPECT_EQ(s.group, groups[i]);
    EXPECT_EQ(s.pose, 0);
    EXPECT_TRUE(ends_with(s.path, std::string(groups[i]) + "/" + subjects[i] + ".png")) << s.path;
    const cv::Mat img = cv::imread(s.path, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(img.type(), CV_8UC1);
    ASSERT_EQ(img.rows, 48);
    ASSERT_EQ(img.cols, 48);
    EXPECT_EQ(img.at<uint8_t>(0, 0), 255);
    EXPECT_EQ(img.at<uint8_t>(0, 1), 10 * (i + 1));
    EXPECT_EQ(img.at<uint8_t>(47, 47), 10 * (i + 1));
  }
  // Reused: a marked PNG survives a second read.
  ASSERT_TRUE(cv::imwrite(ds.samples[1].path, cv::Mat(48, 48, CV_8UC1, cv::Scalar(7))));
  const Dataset again = read_fer2013_csv(csv, o);
  ASSERT_EQ(again.samples.size(), 4u);
  EXPECT_EQ(again.samples[1].path, ds.samples[1].path);
  EXPECT_EQ(again.samples[1].expression, 5);
  EXPECT_EQ(again.samples[1].group, "PublicTest");
  EXPECT_EQ(cv::imread(ds.samples[1].path, cv::IMREAD_UNCHANGED).at<uint8_t>(5, 5), 7);
  // An edited CSV is converted again into another folder.
  write_bytes(csv, "Usage,emotion,pixels\nTraining,1," + fer_pixels(50) + "\n");  // other column order
  const Dataset edited = read_fer2013_csv(csv, o);
  ASSERT_EQ(edited.samples.size(), 1u);
  EXPECT_EQ(edited.samples[0].expression, 1);
  EXPECT_NE(fs::path(edited.samples[0].path).parent_path().parent_path(),
            fs::path(ds.samples[0].path).parent_path().parent_path());
}

TEST(Fer2013Csv, MalformedRowsNameTheLine) {
  ScratchDir tmp;
  const Root d{tmp.path() / "d"};
  const Root cache{tmp.path() / "cache"};
  DatasetOptions o;
  o.cache_dir = cache.path().string();
  o.progress = false;
  const std::string csv = d / "fer.csv";
  write_bytes(csv, "emotion,pixels,Usage\n" + fer_row(0, 1, "Training") + "3,1 2 3,Training\n");
  expect_throw_with<InputError>([&] { read_fer2013_csv(csv, o); },
                                "fer.csv line 3: expected 2304 pixels (48 x 48), got 3");
  write_bytes(csv, "emotion,pixels,Usage\n" + fer_row(7, 1, "Training"));
  expect_throw_with<InputError>([&] { read_fer2013_csv(csv, o); }, "line 2: emotion must be 0..6, got '7'");
  write_bytes(csv, "emotion,pixels,Usage\n" + fer_row(1, 256, "Training"));
  expect_throw_with<InputError>([&] { read_fer2013_csv(csv, o); },
                                "line 2: pixel 2 is not a grey value 0..255");
  write_bytes(csv, "emotion,pixels,Usage\n" + fer_row(1, 1, "Testing"));
  expect_throw_with<InputError>([&] { read_fer2013_csv(csv, o); },
                                "line 2: Usage must be Training, PublicTest or PrivateTest, got 'Testing'");
  write_bytes(csv, "emotion,pixels,Usage\n1,2\n");
  expect_throw_with<InputError>([&] { read_fer2013_csv(csv, o); }, "line 2: expected 3 fields, got 2");
  write_bytes(csv, "label,pixels\n");
  expect_throw_with<InputError>([&] { read_fer2013_csv(csv, o); }, "fer.csv line 1: header lacks");
  expect_throw_with<InputError>([&] { read_fer2013_csv(d / "none.csv", o); }, "none.csv: cannot open");
  o.cache_dir = "";
  expect_throw_with<ConfigError>([&] { read_fer2013_csv(csv, o); }, "needs a cache folder");
}

}  // namespace
}  // namespace posefer
