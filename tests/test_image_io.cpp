#include "posefer/io/image_io.h"

#include <gtest/gtest.h>

#include "data_test_util.h"
#include "posefer/core/check.h"

namespace posefer {
namespace {

using testing_util::expect_throw_with;
using testing_util::ScratchDir;
using testing_util::slurp;
using testing_util::write_bytes;
using testing_util::write_image;
namespace fs = std::filesystem;

std::vector<std::string> dir_listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ReadImage, DistinguishesFailures) {
  ScratchDir d;
  expect_throw_with<InputError>([&] { read_image(d / "none.png", 3); },
                                "none.png: cannot read image (missing file)");
  write_bytes(d / "x.png", "this is definitely not a PNG file, just some bytes");
  expect_throw_with<InputError>([&] { read_image(d / "x.png", 3); },
                                "x.png: cannot read image (not an image or corrupt)");
  write_bytes(d / "empty.png", "");
  expect_throw_with<InputError>([&] { read_image(d / "empty.png", 1); },
                                "empty.png: cannot read image (zero-size image)");
  write_image(d / "ok.png", cv::Mat(2, 2, CV_8UC1, cv::Scalar(1)));
  expect_throw_with<ConfigError>([&] { read_image(d / "ok.png", 2); }, "channels must be 1 or 3");
}

TEST(ReadImage, TruncatedJpegIsNamedNotDecodedHalfGrey) {
  ScratchDir d;
  cv::Mat img(64, 64, CV_8UC3);
  cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
  std::vector<uchar> bytes;
  cv::imencode(".jpg", img, bytes);
  const std::string whole(bytes.begin(), bytes.end());
  write_bytes(d / "whole.jpg", whole);
  EXPECT_EQ(read_image(d / "whole.jpg", 3).sizes(), (std::vector<int64_t>{3, 64, 64}));
  write_bytes(d / "padded.jpg", whole + std::string(20, '\0'));  // trailing padding is fine
  EXPECT_EQ(read_image(d / "padded.jpg", 1).size(1), 64);
  write_bytes(d / "cut.jpg", whole.substr(0, whole.size() * 2 / 3));
  expect_throw_with<InputError>([&] { read_image(d / "cut.jpg", 3); },
                                "cut.jpg: cannot read image (truncated JPEG: no end-of-image marker)");
}

TEST(ReadImage, SixteenBitScalesToEightBit) {
  ScratchDir d;
  cv::Mat img(1, 3, CV_16UC1);
  img.at<uint16_t>(0, 0) = 0;
  img.at<uint16_t>(0, 1) = 100 * 257;
  img.at<uint16_t>(0, 2) = 65535;
  write_image(d / "deep.png", img);
  const torch::Tensor t = read_image(d / "deep.png", 1);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 1, 3}));
  EXPECT_EQ(t.scalar_type(), torch::kUInt8);
  EXPECT_EQ(t[0][0][0].item<int>(), 0);
  EXPECT_EQ(t[0][0][1].item<int>(), 100);
  EXPECT_EQ(t[0][0][2].item<int>(), 255);
}

TEST(ReadImage, ColourOrderAlphaAndGrey) {
  ScratchDir d;
  // OpenCV stores BGR(A); posefer tensors are RGB.
  write_image(d / "rgba.png", cv::Mat(2, 3, CV_8UC4, cv::Scalar(10, 20, 30, 40)));
  const torch::Tensor rgb = read_image(d / "rgba.png", 3);
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 2, 3}));
  EXPECT_TRUE(rgb[0].eq(30).all().item<bool>());
  EXPECT_TRUE(rgb[1].eq(20).all().item<bool>());
  EXPECT_TRUE(rgb[2].eq(10).all().item<bool>());
  const torch::Tensor g = read_image(d / "rgba.png", 1);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(g.eq(22).all().item<bool>()) << g;  // 0.299*30 + 0.587*20 + 0.114*10 = 21.85

  write_image(d / "bgr.png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)));
  const torch::Tensor c = read_image(d / "bgr.png", 3);
  EXPECT_TRUE(c.flatten().equal(torch::tensor({3, 2, 1}, torch::kUInt8))) << c;

  write_image(d / "grey.pgm", cv::Mat(4, 5, CV_8UC1, cv::Scalar(77)));
  const torch::Tensor g3 = read_image(d / "grey.pgm", 3);
  ASSERT_EQ(g3.sizes(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_TRUE(g3.eq(77).all().item<bool>());
}

TEST(ReadImage, SixteenBitColourScalesToEightBit) {
  ScratchDir d;
  write_image(d / "deep.png", cv::Mat(2, 2, CV_16UC3, cv::Scalar(0, 200 * 257, 65535)));
  const torch::Tensor t = read_image(d / "deep.png", 3);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_TRUE(t[0].eq(255).all().item<bool>());  // R (OpenCV's third channel)
  EXPECT_TRUE(t[1].eq(200).all().item<bool>());
  EXPECT_TRUE(t[2].eq(0).all().item<bool>());
}

TEST(ReadImage, ExifOrientationIsApplied) {
  ScratchDir d;
  // 40 wide x 20 tall, white top-left quarter (rows 0-9, columns 0-19), black elsewhere.
  cv::Mat img(20, 40, CV_8UC1, cv::Scalar(0));
  img(cv::Rect(0, 0, 20, 10)).setTo(255);
  auto region_mean = [](const torch::Tensor& t, int y0, int y1, int x0, int x1) {
    return t[0].slice(0, y0, y1).slice(1, x0, x1).to(torch::kFloat32).mean().item<double>();
  };
  write_bytes(d / "as_is.jpg", testing_util::jpeg_with_exif_orientation(img, 1));
  const auto as_is = read_image(d / "as_is.jpg", 1);
  ASSERT_EQ(as_is.sizes(), (std::vector<int64_t>{1, 20, 40}));
  EXPECT_GT(region_mean(as_is, 1, 9, 1, 19), 240);
  EXPECT_LT(region_mean(as_is, 11, 19, 21, 39), 15);
  // 6: turned 90 degrees clockwise -> 20 wide x 40 tall, the white quarter at the top right.
  write_bytes(d / "cw.jpg", testing_util::jpeg_with_exif_orientation(img, 6));
  const auto cw = read_image(d / "cw.jpg", 3);
  ASSERT_EQ(cw.sizes(), (std::vector<int64_t>{3, 40, 20}));
  EXPECT_GT(region_mean(cw, 1, 19, 11, 19), 240);
  EXPECT_LT(region_mean(cw, 1, 19, 1, 9), 15);
  EXPECT_LT(region_mean(cw, 21, 39, 1, 19), 15);
  // 3: turned 180 degrees -> the white quarter at the bottom right.
  write_bytes(d / "flip.jpg", testing_util::jpeg_with_exif_orientation(img, 3));
  const auto flip = load_face_image(d / "flip.jpg", 1, 40);  // the face loader decodes the same way
  EXPECT_GT(region_mean(flip, 21, 39, 21, 39), 240);
  EXPECT_LT(region_mean(flip, 1, 19, 1, 19), 15);
}

TEST(LoadFaceImage, ResizeAndCenterCrop) {
  ScratchDir d;
  cv::Mat img(10, 20, CV_8UC1, cv::Scalar(0));
  img(cv::Rect(5, 0, 10, 10)).setTo(200);  // the centred 10x10 square
  img(cv::Rect(8, 3, 4, 4)).setTo(100);    // its centred 4x4 core
  write_image(d / "wide.png", img);

  const torch::Tensor squash = load_face_image(d / "wide.png", 1, 5);
  ASSERT_EQ(squash.sizes(), (std::vector<int64_t>{1, 5, 5}));
  EXPECT_EQ(squash[0][0][0].item<int>(), 0);  // area average of the black left columns

  const torch::Tensor centre = load_face_image(d / "wide.png", 1, 10, CropMode::kCenter);
  ASSERT_EQ(centre.sizes(), (std::vector<int64_t>{1, 10, 10}));
  EXPECT_EQ(centre[0][0][0].item<int>(), 200);
  EXPECT_EQ(centre[0][5][5].item<int>(), 100);

  const torch::Tensor core = load_face_image(d / "wide.png", 3, 2, CropMode::kCenter, 0.4);
  ASSERT_EQ(core.sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_TRUE(core.eq(100).all().item<bool>()) << core;

  const torch::Tensor big = load_face_image(d / "wide.png", 1, 40);  // enlarging works too
  ASSERT_EQ(big.sizes(), (std::vector<int64_t>{1, 40, 40}));
  expect_throw_with<ConfigError>([&] { load_face_image(d / "wide.png", 1, 8, CropMode::kCenter, 0); },
                                 "crop fraction");
}

TEST(Range, ModelRangeRoundTrip) {
  const torch::Tensor all = torch::arange(256, torch::kInt32).to(torch::kUInt8);
  const torch::Tensor f = to_model_range(all);
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(f[0].item<float>(), -1.f);
  EXPECT_FLOAT_EQ(f[255].item<float>(), 1.f);
  EXPECT_NEAR(f[51].item<float>(), 51 / 127.5 - 1, 1e-6);
  EXPECT_TRUE(to_uint8(f).equal(all));
  const torch::Tensor clamped = to_uint8(torch::tensor({-3.f, 2.f, 0.f, -0.5f}));
  EXPECT_EQ(clamped.scalar_type(), torch::kUInt8);
  EXPECT_EQ(clamped[0].item<int>(), 0);
  EXPECT_EQ(clamped[1].item<int>(), 255);
  EXPECT_EQ(clamped[2].item<int>(), 128);  // 127.5 rounds to even
  EXPECT_EQ(clamped[3].item<int>(), 64);   // 63.75
}

TEST(WritePng, RoundTripExactPixels) {
  ScratchDir d;
  torch::manual_seed(3);
  const torch::Tensor rgb = torch::randint(0, 256, {3, 5, 7}, torch::kInt32).to(torch::kUInt8);
  const std::string path = d / "sub/dir/rgb.png";  // parents are created
  write_png(path, rgb);
  EXPECT_TRUE(read_image(path, 3).equal(rgb));
  EXPECT_EQ(dir_listing(d.path() / "sub/dir"), (std::vector<std::string>{"rgb.png"}));

  const torch::Tensor grey = torch::randint(0, 256, {1, 4, 3}, torch::kInt32).to(torch::kUInt8);
  write_png(d / "g.png", grey);
  EXPECT_TRUE(read_image(d / "g.png", 1).equal(grey));

  const torch::Tensor model = torch::rand({3, 6, 6}) * 2 - 1;
  write_png(d / "f.png", model);
  EXPECT_TRUE(read_image(d / "f.png", 3).equal(to_uint8(model)));

  expect_throw_with<ShapeError>([&] { write_png(d / "bad.png", torch::zeros({2, 4, 4})); },
                                "bad.png: write_png expects a [C, H, W] image");
  EXPECT_FALSE(fs::exists(d / "bad.png"));
}

TEST(TileImages, ShapeLayoutAndPad) {
  const torch::Tensor imgs = torch::stack({torch::full({1, 2, 3}, 0.1f), torch::full({1, 2, 3}, 0.2f),
                                           torch::full({1, 2, 3}, 0.3f)});
  const torch::Tensor grid = tile_images(imgs, 2, 2, 1, -1.f);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{1, 2 * 2 + 1, 2 * 3 + 1}));
  EXPECT_TRUE(grid.slice(1, 0, 2).slice(2, 0, 3).eq(0.1f).all().item<bool>());
  EXPECT_TRUE(grid.slice(1, 0, 2).slice(2, 4, 7).eq(0.2f).all().item<bool>());
  EXPECT_TRUE(grid.slice(1, 3, 5).slice(2, 0, 3).eq(0.3f).all().item<bool>());
  EXPECT_TRUE(grid.slice(1, 3, 5).slice(2, 4, 7).eq(-1.f).all().item<bool>());  // empty cell
  EXPECT_TRUE(grid.select(1, 2).eq(-1.f).all().item<bool>());  // horizontal gap row
  EXPECT_TRUE(grid.select(2, 3).eq(-1.f).all().item<bool>());  // vertical gap column
  EXPECT_NEAR(grid.sum().item<double>(), 6 * (0.1 + 0.2 + 0.3) - (35 - 18) * 1.0,
              1e-4);  // 35 pixels, 18 of them images

  const torch::Tensor u8 = tile_images(torch::zeros({2, 3, 4, 4}, torch::kUInt8), 1, 2);
  ASSERT_EQ(u8.sizes(), (std::vector<int64_t>{3, 4, 10}));
  EXPECT_EQ(u8.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(u8.select(2, 4).eq(255).all().item<bool>());  // pad_value 1 -> 255
  EXPECT_EQ(u8.sum().item<int64_t>(), 3 * 4 * 2 * 255);

  expect_throw_with<ShapeError>([&] { tile_images(torch::zeros({5, 1, 2, 2}), 2, 2); },
                                "5 images do not fit a 2x2 grid");
  expect_throw_with<ShapeError>([&] { tile_images(torch::zeros({1, 2, 2}), 1, 1); },
                                "[M, C, H, W]");
}

TEST(WriteFileAtomic, ReplacesContentWithoutLeftovers) {
  ScratchDir d;
  const std::string path = d / "out/state.json";
  write_file_atomic(path, "first version, longer than the second");
  EXPECT_EQ(slurp(path), "first version, longer than the second");
  write_file_atomic(path, std::string("second\0x", 8));
  EXPECT_EQ(slurp(path), std::string("second\0x", 8));
  EXPECT_EQ(dir_listing(d.path() / "out"), (std::vector<std::string>{"state.json"}));

  write_bytes(d / "plainfile", "x");  // a file where a directory is needed
  expect_throw_with<Error>([&] { write_file_atomic(d / "plainfile/y.txt", "z"); },
                           "plainfile/y.txt: cannot");
}

TEST(ReadTextFile, ReadsAndReportsMissing) {
  ScratchDir d;
  write_bytes(d / "t.txt", "a\nb\n");
  EXPECT_EQ(read_text_file(d / "t.txt"), "a\nb\n");
  expect_throw_with<InputError>([&] { read_text_file(d / "nope.txt"); }, "nope.txt: cannot open");
}

}  // namespace
}  // namespace posefer
