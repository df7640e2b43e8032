#include "posefer/data/dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "data_test_util.h"
#include "posefer/core/check.h"
#include "posefer/data/dataset_util.h"

namespace posefer {
namespace {

using testing_util::expect_throw_with;
using testing_util::grey;
using testing_util::ScratchDir;
using testing_util::write_bytes;
using testing_util::write_image;
namespace fs = std::filesystem;

using testing_util::any_contains;
using testing_util::ends_with;

// ---- data spec ----------------------------------------------------------------------------

TEST(DataSpec, ParsesKindAndPath) {
  const DataSpec s = parse_data_spec("manifest:/x/y:z.csv");
  EXPECT_EQ(s.kind, "manifest");
  EXPECT_EQ(s.path, "/x/y:z.csv");  // only the first ':' separates
  EXPECT_EQ(parse_data_spec("cmu:data/cmu").kind, "cmu");
}

TEST(DataSpec, RejectsMalformed) {
  expect_throw_with<InputError>([] { parse_data_spec("cmu-faces"); }, "expected <kind>:<path>");
  expect_throw_with<InputError>([] { parse_data_spec("mnist:/d"); }, "unknown kind 'mnist'");
  expect_throw_with<InputError>([] { parse_data_spec("genki:"); }, "empty path");
}

// ---- CMU ----------------------------------------------------------------------------------

// Three subjects; one corrupt .bad file, one badly named file, one stray text file.
void make_cmu_tree(const ScratchDir& d) {
  write_image(d / "faces/alice/alice_straight_neutral_open_2.pgm", grey(60, 64, 10));
  write_image(d / "faces/alice/alice_left_happy_sunglasses_2.pgm", grey(60, 64, 20));
  write_image(d / "faces/alice/alice_up_angry_open.pgm", grey(120, 128, 30));
  write_image(d / "faces/alice/alice_up_angry_open_4.pgm", grey(30, 32, 40));
  write_image(d / "faces/bob/bob_right_sad_open_2.pgm", grey(60, 64, 50));
  write_image(d / "faces/bob/bob_sideways_happy_open_2.pgm", grey(60, 64, 60));
  write_bytes(d / "faces/bob/bob_straight_angry_open.bad", "garbage");
  write_image(d / "faces/carl/carl_up_happy_open_2.pgm", grey(60, 64, 70));
  write_bytes(d / "faces/carl/notes.txt", "hello");
  write_bytes(d / "README.md", "not a subject");
}

TEST(CmuFaces, LabelsOrderAndSkipped) {
  ScratchDir d;
  make_cmu_tree(d);
  const Dataset ds = read_cmu_faces(d.path().string());  // finds faces/ itself
  EXPECT_EQ(ds.name, "cmu");
  EXPECT_EQ(ds.native_channels, 1);
  EXPECT_EQ(ds.pose_names, (std::vector<std::string>{"straight", "left", "right", "up"}));
  EXPECT_EQ(ds.expression_names, (std::vector<std::string>{"neutral", "happy", "sad", "angry"}));
  ASSERT_EQ(ds.samples.size(), 4u);
  // Sorted by subject, then file name.
  struct Want {
    const char* file;
    const char* subject;
    int pose, expression;
  };
  const Want want[] = {{"alice_left_happy_sunglasses_2.pgm", "alice", 1, 1},
                       {"alice_straight_neutral_open_2.pgm", "alice", 0, 0},
                       {"bob_right_sad_open_2.pgm", "bob", 2, 2},
                       {"carl_up_happy_open_2.pgm", "carl", 3, 1}};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(want[i].file);
    EXPECT_TRUE(ends_with(ds.samples[i].path, want[i].file)) << ds.samples[i].path;
    EXPECT_EQ(ds.samples[i].subject, want[i].subject);
    EXPECT_EQ(ds.samples[i].pose, want[i].pose);
    EXPECT_EQ(ds.samples[i].expression, want[i].expression);
    EXPECT_EQ(ds.samples[i].yaw_deg, 0.f);
    EXPECT_EQ(ds.samples[i].group, "");
  }
  ASSERT_EQ(ds.skipped.size(), 3u);
  EXPECT_TRUE(any_contains(ds.skipped, "bob_sideways_happy_open_2.pgm", "unknown pose 'sideways'"));
  EXPECT_TRUE(any_contains(ds.skipped, "bob_straight_angry_open.bad", "corrupt image (.bad)"));
  EXPECT_TRUE(any_contains(ds.skipped, "notes.txt", "not a .pgm image"));
}

TEST(CmuFaces, ScalesSelectFiles) {
  ScratchDir d;
  make_cmu_tree(d);
  DatasetOptions o;
  o.cmu_scale = 1;
  const Dataset s1 = read_cmu_faces(d / "faces", o);
  ASSERT_EQ(s1.samples.size(), 1u);
  EXPECT_TRUE(ends_with(s1.samples[0].path, "alice_up_angry_open.pgm"));
  EXPECT_EQ(s1.samples[0].pose, 3);
  EXPECT_EQ(s1.samples[0].expression, 3);
  EXPECT_TRUE(any_contains(s1.skipped, ".bad", "corrupt"));  // reported at every scale
  o.cmu_scale = 4;
  const Dataset s4 = read_cmu_faces(d / "faces", o);
  ASSERT_EQ(s4.samples.size(), 1u);
  EXPECT_TRUE(ends_with(s4.samples[0].path, "alice_up_angry_open_4.pgm"));
  o.cmu_scale = 3;
  expect_throw_with<ConfigError>([&] { read_cmu_faces(d / "faces", o); }, "1, 2 or 4");
}

TEST(CmuFaces, EyesKeepOneState) {
  ScratchDir d;
  make_cmu_tree(d);
  DatasetOptions o;
  o.cmu_eyes = "sunglasses";
  const Dataset sg = read_cmu_faces(d / "faces", o);
  ASSERT_EQ(sg.samples.size(), 1u);
  EXPECT_TRUE(ends_with(sg.samples[0].path, "alice_left_happy_sunglasses_2.pgm"));
  ASSERT_EQ(sg.filtered.size(), 1u);
  EXPECT_EQ(sg.filtered.begin()->first, "eyes open (--cmu-eyes sunglasses)");
  EXPECT_EQ(sg.filtered.begin()->second, 3);  // alice straight, bob right, carl up (scale 2 only)
  o.cmu_eyes = "open";
  const Dataset op = read_cmu_faces(d / "faces", o);
  ASSERT_EQ(op.samples.size(), 3u);
  for (const auto& s : op.samples) EXPECT_NE(s.path.find("_open_2.pgm"), std::string::npos) << s.path;
  EXPECT_EQ(op.filtered.at("eyes sunglasses (--cmu-eyes open)"), 1);
  o.cmu_scale = 1;
  o.cmu_eyes = "sunglasses";  // the one 128x120 file has open eyes
  expect_throw_with<InputError>([&] { read_cmu_faces(d / "faces", o); },
                                "no CMU face images at scale 1 with eyes sunglasses");
  o.cmu_eyes = "closed";
  expect_throw_with<ConfigError>([&] { read_cmu_faces(d / "faces", o); }, "CMU eyes must be all, open or sunglasses");
}

TEST(CmuFaces, MissingOrEmptyDirectory) {
  ScratchDir d;
  expect_throw_with<InputError>([&] { read_cmu_faces(d / "nope"); }, "nope: no such directory");
  fs::create_directories(d / "empty/x");
  expect_throw_with<InputError>([&] { read_cmu_faces(d / "empty"); }, "no CMU face images");
}

TEST(CmuFaces, SubjectMustMatchFolder) {
  ScratchDir d;
  write_image(d / "a/a_up_sad_open_2.pgm", grey(4, 4, 1));
  write_image(d / "a/b_up_sad_open_2.pgm", grey(4, 4, 1));
  const Dataset ds = read_cmu_faces(d / "");
  EXPECT_EQ(ds.samples.size(), 1u);
  EXPECT_TRUE(any_contains(ds.skipped, "b_up_sad_open_2.pgm", "does not match folder 'a'"));
}

// ---- GENKI --------------------------------------------------------------------------------

constexpr double kRad = 3.14159265358979323846 / 180.0;

std::string genki_line(int smile, double yaw_deg, double pitch_deg) {
  std::ostringstream os;
  os.precision(9);
  os << smile << ' ' << yaw_deg * kRad << ' ' << pitch_deg * kRad << " 0.05";
  return os.str();
}

void make_genki(const ScratchDir& d, const std::string& labels, int files) {
  write_bytes(d / "labels.txt", labels);
  for (int i = 1; i <= files; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "files/file%04d.jpg", i);
    write_image(d / name, cv::Mat(8, 8, CV_8UC3, cv::Scalar(i, 2 * i, 3 * i)));
  }
}

TEST(Genki, LabelsAndYawBins) {
  ScratchDir d;
  make_genki(d,
             genki_line(1, -30, 10) + "\n" + genki_line(0, 0, -20) + "\r\n" +
                 genki_line(1, 50, 0) + "\n\n",
             3);
  const Dataset ds = read_genki4k(d.path().string());
  EXPECT_EQ(ds.name, "genki");
  EXPECT_EQ(ds.native_channels, 3);
  EXPECT_EQ(ds.expression_names, (std::vector<std::string>{"non_smile", "smile"}));
  EXPECT_EQ(ds.pose_names,
            (std::vector<std::string>{"yaw[-45,-15)", "yaw[-15,15)", "yaw[15,45]"}));
  ASSERT_EQ(ds.samples.size(), 3u);
  EXPECT_TRUE(ds.skipped.empty());
  const int want_pose[] = {0, 1, 2};  // -30 deg, 0 deg, 50 deg (clamped into the last bin)
  const int want_expr[] = {1, 0, 1};
  const float want_yaw[] = {-30.f, 0.f, 50.f};
  const float want_pitch[] = {10.f, -20.f, 0.f};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    char file[32], subject[32];
    std::snprintf(file, sizeof file, "files/file%04d.jpg", i + 1);
    std::snprintf(subject, sizeof subject, "genki_%04d", i + 1);
    EXPECT_TRUE(ends_with(ds.samples[i].path, file)) << ds.samples[i].path;
    EXPECT_EQ(ds.samples[i].subject, subject);
    EXPECT_EQ(ds.samples[i].pose, want_pose[i]);
    EXPECT_EQ(ds.samples[i].expression, want_expr[i]);
    EXPECT_NEAR(ds.samples[i].yaw_deg, want_yaw[i], 1e-3);
    EXPECT_NEAR(ds.samples[i].pitch_deg, want_pitch[i], 1e-3);
  }
}

TEST(Genki, OtherBinCounts) {
  ScratchDir d;
  make_genki(d, genki_line(1, -30, 0) + "\n" + genki_line(0, 0, 0) + "\n" +
                    genki_line(1, 50, 0) + "\n" + genki_line(1, -60, 0) + "\n",
             4);
  DatasetOptions o;
  o.yaw_bins = 5;  // edges -45 -27 -9 9 27 45
  const Dataset d5 = read_genki4k(d.path().string(), o);
  EXPECT_EQ(d5.pose_names, (std::vector<std::string>{"yaw[-45,-27)", "yaw[-27,-9)", "yaw[-9,9)",
                                                     "yaw[9,27)", "yaw[27,45]"}));
  ASSERT_EQ(d5.samples.size(), 4u);
  EXPECT_EQ(d5.samples[0].pose, 0);
  EXPECT_EQ(d5.samples[1].pose, 2);
  EXPECT_EQ(d5.samples[2].pose, 4);
  EXPECT_EQ(d5.samples[3].pose, 0);  // -60 clamps into the first bin
  o.yaw_bins = 7;
  const Dataset d7 = read_genki4k(d.path().string(), o);
  ASSERT_EQ(d7.pose_names.size(), 7u);
  EXPECT_EQ(d7.pose_names[0], "yaw[-45,-32.1)");
  EXPECT_EQ(d7.pose_names[3], "yaw[-6.4,6.4)");
  o.yaw_bins = 1;
  const Dataset d1 = read_genki4k(d.path().string(), o);
  EXPECT_EQ(d1.pose_names, (std::vector<std::string>{"yaw[-45,45]"}));
  EXPECT_EQ(d1.samples[2].pose, 0);
  o.yaw_bins = 0;
  expect_throw_with<ConfigError>([&] { read_genki4k(d.path().string(), o); }, "1..9");
}

TEST(Genki, MissingImageIsSkipped) {
  ScratchDir d;
  make_genki(d, genki_line(1, 0, 0) + "\n" + genki_line(0, 0, 0) + "\n" + genki_line(1, 0, 0), 2);
  const Dataset ds = read_genki4k(d.path().string());
  EXPECT_EQ(ds.samples.size(), 2u);
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_NE(ds.skipped[0].find("file0003.jpg: missing image file"), std::string::npos)
      << ds.skipped[0];
}

TEST(Genki, MalformedLinesThrowWithLineNumber) {
  ScratchDir d;
  make_genki(d, genki_line(1, 0, 0) + "\n1 0.2\n", 2);
  expect_throw_with<InputError>(
      [&] { read_genki4k(d.path().string()); },
      "labels.txt line 2: expected 4 numbers 'smile yaw pitch roll', got '1 0.2'");
  write_bytes(d / "labels.txt", "1 0 0 0\n1 0 x 0\n");
  expect_throw_with<InputError>([&] { read_genki4k(d.path().string()); },
                                "line 2: expected 4 numbers");
  write_bytes(d / "labels.txt", "1 0 0 0\n\n2 0 0 0\n");
  expect_throw_with<InputError>([&] { read_genki4k(d.path().string()); },
                                "line 2: expected 4 numbers");  // blank line shifts numbering
  write_bytes(d / "labels.txt", "2 0 0 0\n");
  expect_throw_with<InputError>([&] { read_genki4k(d.path().string()); },
                                "line 1: smile must be 0 or 1, got '2'");
  fs::remove(d / "labels.txt");
  expect_throw_with<InputError>([&] { read_genki4k(d.path().string()); },
                                "labels.txt: cannot open");
  expect_throw_with<InputError>([&] { read_genki4k(d / "nope"); }, "no such directory");
}

// ---- FER2013 ------------------------------------------------------------------------------

TEST(Fer2013, GroupsAndClasses) {
  ScratchDir d;
  write_image(d / "train/happy/Training_1.jpg", grey(48, 48, 1));
  write_image(d / "train/angry/Training_2.jpg", grey(48, 48, 2));
  write_image(d / "test/sad/PublicTest_3.jpg", grey(48, 48, 3));
  write_image(d / "test/sad/PrivateTest_4.jpg", grey(48, 48, 4));
  write_image(d / "test/surprise/Other_5.jpg", grey(48, 48, 5));
  const Dataset ds = load_dataset(parse_data_spec("fer2013:" + d.path().string()));
  EXPECT_EQ(ds.name, "fer2013");
  EXPECT_EQ(ds.native_channels, 1);
  EXPECT_EQ(ds.expression_names, (std::vector<std::string>{"angry", "disgust", "fear", "happy",
                                                           "neutral", "sad", "surprise"}));
  EXPECT_EQ(ds.pose_names, (std::vector<std::string>{"all"}));
  ASSERT_EQ(ds.samples.size(), 4u);
  // train before test, classes and files sorted.
  EXPECT_EQ(ds.samples[0].subject, "Training_2");
  EXPECT_EQ(ds.samples[0].expression, 0);
  EXPECT_EQ(ds.samples[0].group, "Training");
  EXPECT_EQ(ds.samples[1].subject, "Training_1");
  EXPECT_EQ(ds.samples[1].expression, 3);
  EXPECT_EQ(ds.samples[2].subject, "PrivateTest_4");
  EXPECT_EQ(ds.samples[2].group, "PrivateTest");
  EXPECT_EQ(ds.samples[2].expression, 5);
  EXPECT_EQ(ds.samples[3].group, "PublicTest");
  for (const auto& s : ds.samples) EXPECT_EQ(s.pose, 0);
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_NE(ds.skipped[0].find("Other_5.jpg: unrecognised file name"), std::string::npos);
}

TEST(Fer2013, UnknownClassFolderThrows) {
  ScratchDir d;
  write_image(d / "train/happy/Training_1.jpg", grey(48, 48, 1));
  write_image(d / "train/contempt/Training_2.jpg", grey(48, 48, 1));
  expect_throw_with<InputError>([&] { read_fer2013(d.path().string()); },
                                "unknown FER2013 class folder 'contempt'");
  ScratchDir e;
  expect_throw_with<InputError>([&] { read_fer2013(e.path().string()); },
                                "expected train/ and test/");
}

// ---- manifest -----------------------------------------------------------------------------

TEST(Manifest, QuotedFieldsRelativePathsAndExtras) {
  ScratchDir d;
  write_image(d / "img/a.png", grey(4, 4, 1));
  write_image(d / "img/b, c.png", grey(4, 4, 2));
  write_image(d / "abs.png", grey(4, 4, 3));
  const std::string csv = "subject,pose,path,expression,yaw,pitch,note\r\n"
                          "s2,left,img/a.png,sad,10.5,-3,\"hello, \"\"world\"\"\"\r\n"
                          "\r\n"
                          "s1,frontal,\"img/b, c.png\",\"happy\",,,plain\n"
                          "s1,left," + (d.path() / "abs.png").string() + ",sad,-20,4,x\n"
                          "s3,left,img/missing.png,angry,0,0,x\n";
  write_bytes(d / "m.csv", csv);
  const Dataset ds = load_dataset(parse_data_spec("manifest:" + (d / "m.csv")));
  EXPECT_EQ(ds.name, "manifest");
  EXPECT_EQ(ds.native_channels, 3);
  // The row with a missing image is skipped, so 'angry' is not in the vocabulary.
  EXPECT_EQ(ds.expression_names, (std::vector<std::string>{"happy", "sad"}));
  EXPECT_EQ(ds.pose_names, (std::vector<std::string>{"frontal", "left"}));
  ASSERT_EQ(ds.samples.size(), 3u);
  EXPECT_EQ(ds.samples[0].path, (d.path() / "img/a.png").string());
  EXPECT_EQ(ds.samples[0].subject, "s2");
  EXPECT_EQ(ds.samples[0].expression, 1);
  EXPECT_EQ(ds.samples[0].pose, 1);
  EXPECT_FLOAT_EQ(ds.samples[0].yaw_deg, 10.5f);
  EXPECT_FLOAT_EQ(ds.samples[0].pitch_deg, -3.f);
  EXPECT_EQ(ds.samples[1].path, (d.path() / "img/b, c.png").string());
  EXPECT_EQ(ds.samples[1].expression, 0);
  EXPECT_EQ(ds.samples[1].pose, 0);
  EXPECT_EQ(ds.samples[1].yaw_deg, 0.f);
  EXPECT_EQ(ds.samples[2].path, (d.path() / "abs.png").string());
  EXPECT_FLOAT_EQ(ds.samples[2].yaw_deg, -20.f);
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_NE(ds.skipped[0].find("missing.png: missing image file"), std::string::npos);
  EXPECT_NE(ds.skipped[0].find("m.csv line 6"), std::string::npos) << ds.skipped[0];
}

TEST(Manifest, PosesOrderedByYawWhenEveryRowHasOne) {
  ScratchDir d;
  write_image(d / "a.png", grey(4, 4, 1));
  // Text order would be p+0, p+30, p-30, p-30_up; yaw order is left to right, pitch breaks ties.
  write_bytes(d / "m.csv", "path,subject,expression,pose,yaw,pitch\n"
                           "a.png,s,happy,p+30,30,0\n"
                           "a.png,s,happy,p-30_up,-30,15\n"
                           "a.png,s,sad,p+0,0,0\n"
                           "a.png,s,sad,p-30,-30,0\n");
  const Dataset ds = read_manifest(d / "m.csv");
  EXPECT_EQ(ds.pose_names, (std::vector<std::string>{"p-30", "p-30_up", "p+0", "p+30"}));
  EXPECT_EQ(ds.samples[0].pose, 3);
  EXPECT_EQ(ds.samples[3].pose, 0);
  // One row without a yaw: back to text order.
  write_bytes(d / "n.csv", "path,subject,expression,pose,yaw\n"
                           "a.png,s,happy,p+30,30\n"
                           "a.png,s,happy,p-30,\n");
  EXPECT_EQ(read_manifest(d / "n.csv").pose_names, (std::vector<std::string>{"p+30", "p-30"}));
}

TEST(Manifest, DuplicateRowsAreLeftOutAndNamed) {
  ScratchDir d;
  write_image(d / "a.png", grey(4, 4, 1));
  write_image(d / "b.png", grey(4, 4, 2));
  write_bytes(d / "m.csv", "path,subject,expression,pose\n"
                           "a.png,s,happy,front\n"
                           "b.png,s,sad,front\n"
                           "a.png,s,happy,front\n"    // the same row again: left out
                           "a.png,s,sad,front\n");    // the same image, other labels: kept
  const Dataset ds = read_manifest(d / "m.csv");
  ASSERT_EQ(ds.samples.size(), 3u);
  ASSERT_EQ(ds.skipped.size(), 1u);
  EXPECT_NE(ds.skipped[0].find("a.png: duplicate row ("), std::string::npos) << ds.skipped[0];
  EXPECT_NE(ds.skipped[0].find("m.csv line 4 repeats line 2), left out"), std::string::npos) << ds.skipped[0];
}

TEST(Manifest, RareLabelsLookLikeTypos) {
  std::vector<std::string> labels(12, "happy");
  labels.insert(labels.end(), 15, "sad");
  labels.push_back("hapy");
  const auto w = data_util::rare_label_warnings("m.csv", "expression", labels);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "m.csv: expression 'hapy' has 1 image(s) while half the expressions have 12 or more: "
                  "a typo of 'happy'? It is kept as a class of its own.");
  labels.push_back("zzzzzz");  // far from every name: no guess
  EXPECT_NE(data_util::rare_label_warnings("m.csv", "expression", labels)[1].find("a typo? It is kept"), std::string::npos);
  // Small data sets (half the classes under 10 images) say nothing.
  EXPECT_TRUE(data_util::rare_label_warnings("m.csv", "pose", {"a", "a", "b"}).empty());
}

TEST(Manifest, ErrorsNameFileAndLine) {
  ScratchDir d;
  write_image(d / "a.png", grey(4, 4, 1));
  const std::string csv = d / "m.csv";
  write_bytes(csv, "path,subject,expression,pose\na.png,s,happy,front\na.png,s,happy\n");
  expect_throw_with<InputError>([&] { read_manifest(csv); },
                                "m.csv line 3: expected 4 fields, got 3");
  write_bytes(csv, "path,subject,expression,pose\n\"a.png,s,happy,front\n");
  expect_throw_with<InputError>([&] { read_manifest(csv); }, "line 2: unterminated quoted field");
  write_bytes(csv, "path,subject,expression\na.png,s,happy\n");
  expect_throw_with<InputError>([&] { read_manifest(csv); }, "header lacks column 'pose'");
  write_bytes(csv, "path,subject,expression,pose,yaw\na.png,s,happy,front,left\n");
  expect_throw_with<InputError>([&] { read_manifest(csv); },
                                "line 2: 'yaw' must be a number, got 'left'");
  write_bytes(csv, "path,subject,expression,pose\na.png,,happy,front\n");
  expect_throw_with<InputError>([&] { read_manifest(csv); }, "line 2: empty 'subject' field");
  expect_throw_with<InputError>([&] { read_manifest(d / "none.csv"); }, "none.csv: cannot open");
}

// ---- real data (skipped when ../shared is absent) ------------------------------------------

std::string real_dir(const std::string& rel) {
  return testing_util::shared_dir() + "/datasets/" + rel;
}

#define REQUIRE_REAL(dir)                                                          \
  do {                                                                             \
    if (!fs::is_directory(dir)) GTEST_SKIP() << "real data set not present: " << (dir); \
  } while (0)

TEST(RealData, CmuFacesScale2) {
  const std::string dir = real_dir("cmu-faces");
  REQUIRE_REAL(dir);
  const Dataset ds = read_cmu_faces(dir);
  EXPECT_EQ(ds.samples.size(), 624u);  // README: 624 files at scale 2
  std::set<std::string> subjects;
  std::set<std::tuple<std::string, int, int>> combos;
  for (const auto& s : ds.samples) {
    subjects.insert(s.subject);
    combos.insert({s.subject, s.pose, s.expression});
  }
  EXPECT_EQ(subjects.size(), 20u);
  EXPECT_EQ(combos.size(), 20u * 4u * 4u);  // every subject in every pose x expression
  ASSERT_EQ(ds.skipped.size(), 7u);  // the 7 corrupt originals, nothing else
  for (const auto& s : ds.skipped) EXPECT_TRUE(ends_with(s, ".bad: corrupt image (.bad)")) << s;
  DatasetOptions o;
  o.cmu_scale = 1;
  EXPECT_EQ(read_cmu_faces(dir, o).samples.size(), 313u);
  o.cmu_scale = 4;
  EXPECT_EQ(read_cmu_faces(dir, o).samples.size(), 624u);
}

TEST(RealData, Genki4k) {
  const std::string dir = real_dir("genki4k");
  REQUIRE_REAL(dir);
  const Dataset ds = read_genki4k(dir);
  ASSERT_EQ(ds.samples.size(), 4000u);
  EXPECT_TRUE(ds.skipped.empty());
  EXPECT_EQ(ds.samples[0].subject, "genki_0001");
  EXPECT_EQ(ds.samples[0].expression, 1);  // line 1: "1 -0.021162 0.059530 -0.039662"
  EXPECT_NEAR(ds.samples[0].yaw_deg, -0.021162 * 180 / 3.14159265358979, 1e-3);
  EXPECT_TRUE(ends_with(ds.samples[3999].path, "files/file4000.jpg"));
  std::vector<int> per_pose(3, 0);
  int smiles = 0;
  for (const auto& s : ds.samples) {
    per_pose[s.pose]++;
    smiles += s.expression;
  }
  EXPECT_EQ(per_pose, (std::vector<int>{544, 3003, 453}));  // yaw <-15, [-15,15), >=15 degrees
  EXPECT_EQ(smiles, 2162);
}

TEST(RealData, Fer2013Groups) {
  const std::string dir = real_dir("fer2013");
  REQUIRE_REAL(dir);
  const Dataset ds = read_fer2013(dir);
  EXPECT_EQ(ds.samples.size(), 35887u);
  EXPECT_TRUE(ds.skipped.empty());
  std::map<std::string, int> groups;
  std::vector<int> train_per_class(7, 0);
  for (const auto& s : ds.samples) {
    groups[s.group]++;
    if (s.group == "Training") train_per_class[s.expression]++;
  }
  EXPECT_EQ(groups["Training"], 28709);
  EXPECT_EQ(groups["PublicTest"], 3589);
  EXPECT_EQ(groups["PrivateTest"], 3589);
  EXPECT_EQ(train_per_class, (std::vector<int>{3995, 436, 4097, 7215, 4965, 4830, 3171}));
}

}  // namespace
}  // namespace posefer
