// Helpers shared by the data-set readers (dataset*.cpp) and the folders they cache: text and
// number parsing, sorted directory listings, the basic expression vocabulary, and keyed cache
// folders (a folder named after a hash of its settings, with a JSON marker holding the full key).
// Internal to the library; nothing here is part of the command-line contract.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace posefer::data_util {

// The seven basic expressions in FER2013's folder order (alphabetical): angry, disgust, fear,
// happy, neutral, sad, surprise. Readers of other sets map their codes onto these names so
// vocabularies match across data sets.
const std::vector<std::string>& basic7_expressions();

// Position of `name` in `names`, or -1.
int index_of(const std::vector<std::string>& names, const std::string& name);
// v[0] + sep + v[1] + ...
std::string join(const std::vector<std::string>& v, const char* sep);
// Splits on every `sep` (empty fields kept; "" gives one empty field).
std::vector<std::string> split(const std::string& s, char sep);
// Without leading/trailing spaces, tabs, CR and LF.
std::string trim(const std::string& s);
// ASCII lower case.
std::string to_lower(std::string s);
// Whole-string number parse (surrounding blanks allowed); false for "", "1x", inf, nan.
bool parse_double(const std::string& text, double* out);
// Whole-string decimal integer parse with an optional sign; false otherwise or on overflow.
bool parse_int(const std::string& text, int* out);
// True when s is exactly `n` ASCII digits.
bool is_digits(const std::string& s, size_t n);
// Sorted unique copy.
std::vector<std::string> sorted_unique(std::vector<std::string> v);
// Warnings for labels (one entry per image) that look like typos: a label with at most 2 images
// when half the labels have 10 or more, naming the closest frequent label within 2 edits. One
// line each, starting with `source`; none for small data sets.
std::vector<std::string> rare_label_warnings(const std::string& source, const std::string& kind,
                                             const std::vector<std::string>& labels);

// Throws InputError "<dir>: no such directory".
void require_directory(const std::string& dir);
// Entries of `dir` sorted by name (hidden ones dropped): sub-folders when want_dirs, else
// regular files. Throws InputError naming the folder when it cannot be listed.
std::vector<std::filesystem::path> sorted_entries(const std::filesystem::path& dir, bool want_dirs);
// Every regular file below `root` (hidden files and folders dropped), sorted by relative path.
std::vector<std::filesystem::path> sorted_files_recursive(const std::filesystem::path& root);
// True for the image endings the readers accept: .png .jpg .jpeg .bmp .tif .tiff .pgm .ppm
// (any case).
bool has_image_extension(const std::filesystem::path& p);

// 64-bit FNV-1a: the same hash on every platform and standard library.
uint64_t fnv1a64(const std::string& s);
// fnv1a64 as 16 lower-case hex digits.
std::string hash_hex(const std::string& s);

// Keyed cache folder <root>/<kind>_<hash_hex(key)>. Throws ConfigError when root is empty
// (callers check first with a message naming their flag).
std::string keyed_cache_dir(const std::string& root, const std::string& kind,
                            const std::string& key);
// True when `marker` is a JSON file whose "key" field equals `key` (false when missing or
// damaged).
bool marker_has_key(const std::string& marker, const std::string& key);
// Absolute, normalised form of a path that may not exist yet (for cache keys).
std::string canonical_path(const std::string& path);

}  // namespace posefer::data_util
