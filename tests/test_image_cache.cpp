#include "posefer/data/image_cache.h"

#include <gtest/gtest.h>

#include "data_test_util.h"
#include "posefer/core/check.h"

namespace posefer {
namespace {

using testing_util::expect_throw_with;
using testing_util::grey;
using testing_util::ScratchDir;
using testing_util::write_bytes;
using testing_util::write_image;

// n grey 8x8 images with pixel value 10*i (sample i: expression i%3, pose i%2); `corrupt`
// lists samples whose file holds garbage bytes instead.
Dataset make_set(const ScratchDir& d, int n, const std::vector<int>& corrupt = {}) {
  Dataset ds;
  ds.name = "test";
  ds.expression_names = {"a", "b", "c"};
  ds.pose_names = {"p0", "p1"};
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.path = d / ("img" + std::to_string(i) + ".png");
    s.subject = "s" + std::to_string(i / 2);
    s.expression = i % 3;
    s.pose = i % 2;
    if (std::find(corrupt.begin(), corrupt.end(), i) != corrupt.end()) {
      write_bytes(s.path, "not a png");
    } else {
      write_image(s.path, grey(8, 8, 10 * i));
    }
    ds.samples.push_back(s);
  }
  return ds;
}

// The single pixel value of a constant image, or -1 if it is not constant.
int uniform_value(const torch::Tensor& t) {
  const int lo = t.min().item<int>(), hi = t.max().item<int>();
  return lo == hi ? lo : -1;
}

ImageCacheOptions quiet(int size, int channels, int threads = 3) {
  ImageCacheOptions o;
  o.size = size;
  o.channels = channels;
  o.threads = threads;
  o.progress = false;
  return o;
}

TEST(ImageCache, SkipsCorruptAndKeepsOrder) {
  ScratchDir d;
  const Dataset ds = make_set(d, 5, {2});
  const ImageSet set = build_image_set(ds, {4, 2, 0, 3}, quiet(4, 1));
  ASSERT_EQ(set.size(), 3);
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 1, 4, 4}));
  EXPECT_EQ(set.images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(set.sample_index, (std::vector<size_t>{4, 0, 3}));
  EXPECT_EQ(uniform_value(set.images[0]), 40);
  EXPECT_EQ(uniform_value(set.images[1]), 0);
  EXPECT_EQ(uniform_value(set.images[2]), 30);
  EXPECT_TRUE(set.expression.equal(torch::tensor({1, 0, 0}, torch::kInt64)));
  EXPECT_TRUE(set.pose.equal(torch::tensor({0, 0, 1}, torch::kInt64)));
  // Samples 4, 0, 3 are people s2, s0, s1: dense ids by first appearance.
  EXPECT_TRUE(set.subject.equal(torch::tensor({0, 1, 2}, torch::kInt64)));
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_NE(set.skipped[0].find("img2.png: cannot read image (not an image or corrupt)"),
            std::string::npos)
      << set.skipped[0];
}

TEST(ImageCache, BatchImagesExactModelRange) {
  ScratchDir d;
  const Dataset ds = make_set(d, 4);
  const ImageSet set = build_image_set(ds, {0, 1, 2, 3}, quiet(2, 3));
  const torch::Tensor b = set.batch_images(torch::tensor({3, 0}, torch::kInt64));
  ASSERT_EQ(b.sizes(), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(b.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(b[0].eq(30 / 127.5f - 1.f).all().item<bool>()) << b[0];
  EXPECT_TRUE(b[1].eq(-1.f).all().item<bool>());
  EXPECT_GE(b.min().item<float>(), -1.f);
  EXPECT_LE(b.max().item<float>(), 1.f);
  expect_throw_with<ShapeError>([&] { set.batch_images(torch::tensor({4}, torch::kInt64)); },
                                "row 4 out of range");
}

TEST(ImageCache, ManyImagesDeterministicRows) {
  ScratchDir d;
  const Dataset ds = make_set(d, 24, {5, 17});
  std::vector<size_t> idx;
  for (size_t i = 24; i-- > 0;) idx.push_back(i);  // reversed order
  const ImageSet set = build_image_set(ds, idx, quiet(8, 1, 4));
  ASSERT_EQ(set.size(), 22);
  for (int64_t r = 0; r < set.size(); ++r) {
    const size_t s = set.sample_index[static_cast<size_t>(r)];
    EXPECT_EQ(uniform_value(set.images[r]), static_cast<int>(10 * s)) << "row " << r;
    EXPECT_EQ(set.expression[r].item<int64_t>(), ds.samples[s].expression);
  }
  EXPECT_EQ(set.sample_index.front(), 23u);
  EXPECT_EQ(set.sample_index.back(), 0u);
  ASSERT_EQ(set.skipped.size(), 2u);
  EXPECT_NE(set.skipped[0].find("img17.png"), std::string::npos);  // order of `indices`
  EXPECT_NE(set.skipped[1].find("img5.png"), std::string::npos);
}

TEST(ImageCache, FailuresThrowWhenAsked) {
  ScratchDir d;
  const Dataset ds = make_set(d, 6, {3, 4});
  ImageCacheOptions o = quiet(4, 1, 2);
  o.skip_unreadable = false;
  expect_throw_with<InputError>([&] { build_image_set(ds, {0, 1, 2, 3, 4, 5}, o); },
                                "img3.png: cannot read image");
  expect_throw_with<InputError>([&] { build_image_set(ds, {3, 4}, quiet(4, 1)); },
                                "none of the 2 images could be read");
  expect_throw_with<ConfigError>([&] { build_image_set(ds, {9}, quiet(4, 1)); },
                                 "sample index 9 out of range");
  expect_throw_with<ConfigError>([&] { build_image_set(ds, {0}, quiet(4, 2)); },
                                 "channels must be 1 or 3");
}

TEST(ImageCache, EmptySelection) {
  ScratchDir d;
  const Dataset ds = make_set(d, 1);
  const ImageSet set = build_image_set(ds, {}, quiet(4, 3));
  EXPECT_EQ(set.size(), 0);
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{0, 3, 4, 4}));
  EXPECT_EQ(set.expression.numel(), 0);
}

}  // namespace
}  // namespace posefer
