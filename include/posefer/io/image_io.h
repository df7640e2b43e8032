// Image files <-> tensors, and atomic file writes.
//
// Model tensors are float CHW (or NCHW) in [-1, 1]; cached images are uint8 CHW in [0, 255].
#pragma once

#include <torch/torch.h>

#include <string>

namespace posefer {

// How a non-square image becomes N x N.
enum class CropMode {
  kResize,  // squash the whole image to N x N (CMU, FER2013: already face crops)
  kCenter,  // take the centred square of side min(h, w) * crop_fraction, then resize
};

// Reads an image file (any format OpenCV decodes: PGM, PNG, JPEG, ...; 8- or 16-bit; grey,
// colour or with alpha) as uint8 [C, H, W] with C = channels (1 = grey, 3 = RGB order). A JPEG's
// EXIF orientation is applied (the image comes out as a viewer shows it).
// Throws InputError "<path>: cannot read image (missing file)" / "(not an image or corrupt)" /
// "(zero-size image)".
torch::Tensor read_image(const std::string& path, int channels);

// Reads, crops and resizes to uint8 [channels, size, size] (area interpolation when shrinking).
torch::Tensor load_face_image(const std::string& path, int channels, int size,
                              CropMode crop = CropMode::kResize, double crop_fraction = 1.0);

// The same preparation for an image already decoded (a video frame, an aligned crop): uint8
// [1 or 3, H, W] (RGB) -> uint8 [channels, size, size], channel conversion, crop and resize as
// load_face_image does them, so load_face_image(path, c, n, crop, f) equals
// prepare_face_image(read_image(path, 3), c, n, crop, f). Throws ShapeError on a bad image,
// ConfigError on bad channels, size or fraction.
torch::Tensor prepare_face_image(const torch::Tensor& image, int channels, int size,
                                 CropMode crop = CropMode::kResize, double crop_fraction = 1.0);

// uint8 [.., C, H, W] in [0,255] -> float in [-1, 1] (same shape).
torch::Tensor to_model_range(const torch::Tensor& u8);
// float in [-1, 1] -> uint8 in [0, 255] (values clamped; same shape).
torch::Tensor to_uint8(const torch::Tensor& model_range);

// Writes a [C, H, W] image (C = 1 or 3, uint8 or float in [-1,1]) as PNG, atomically
// (temp file + rename). Throws Error naming the path on failure.
void write_png(const std::string& path, const torch::Tensor& image);

// Tiles [M, C, H, W] images into one [C, rows*H + (rows-1)*pad, cols*W + (cols-1)*pad] grid
// (row-major, `pad` pixels of value `pad_value` (model range) between tiles; empty cells are
// filled with pad_value too). Keeps the dtype: a uint8 grid gets to_uint8(pad_value).
// Throws ShapeError if M > rows*cols.
torch::Tensor tile_images(const torch::Tensor& images, int rows, int cols, int pad = 2,
                          float pad_value = 1.f);

// Writes `content` to `path` atomically: write `path.tmp.<pid>`, flush, rename over `path`.
// Creates missing parent directories. Throws Error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& content);

// Reads a whole text file. Throws InputError "<path>: cannot open" when missing.
std::string read_text_file(const std::string& path);

}  // namespace posefer
