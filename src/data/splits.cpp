#include "posefer/data/splits.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>

#include "posefer/core/check.h"
#include "posefer/core/shuffle.h"

namespace posefer {
namespace {

// A split must be reproducible from its seed everywhere (core/shuffle.h).
template <class T>
void seeded_shuffle(std::vector<T>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  posefer::seeded_shuffle(v, rng);
}

// Whole-string non-negative integer; false on anything else.
bool parse_int(const std::string& s, long* out) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; })) return false;
  *out = std::strtol(s.c_str(), nullptr, 10);
  return true;
}

std::vector<std::string> sorted_subjects(const Dataset& dataset) {
  std::vector<std::string> subjects;
  subjects.reserve(dataset.samples.size());
  for (const Sample& s : dataset.samples) subjects.push_back(s.subject);
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  return subjects;
}

// Train = samples whose subject is not in `test_subjects`; test = the rest. Ascending indices.
Split split_by_subject(const Dataset& dataset, const std::map<std::string, bool>& is_test) {
  Split out;
  for (size_t i = 0; i < dataset.samples.size(); ++i) {
    (is_test.at(dataset.samples[i].subject) ? out.test : out.train).push_back(i);
  }
  return out;
}

const char* const kSpecHelp = "expected 'k/K' (e.g. 0/5), 'official' or 'subjects:F' (e.g. subjects:0.8)";

}  // namespace

Split make_split(const Dataset& dataset, const std::string& spec, uint64_t seed) {
  const std::string where = "fold spec '" + spec + "': ";

  if (spec == "official") {
    Split out;
    for (size_t i = 0; i < dataset.samples.size(); ++i) {
      const std::string& g = dataset.samples[i].group;
      if (g.empty()) {
        throw InputError(where + "data set '" + dataset.name +
                         "' has no official partition (samples carry no group)");
      }
      std::string key;
      for (char ch : g) {
        if (ch != '_' && ch != ' ' && ch != '-') key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      // SFEW: SFEW 1.0 SPI trains on Set 1 and tests on Set 2 (as the paper); SFEW 2.0's Val is
      // its labelled test part (the Test labels are not public).
      if (dataset.name == "sfew" && (key == "set1" || key == "train")) out.train.push_back(i);
      else if (dataset.name == "sfew" && (key == "set2" || key == "val")) out.test.push_back(i);
      else if (key == "training" || key == "train") out.train.push_back(i);
      else if (key == "publictest" || key == "val") out.val.push_back(i);
      else if (key == "privatetest" || key == "test") out.test.push_back(i);
      else throw InputError(where + dataset.samples[i].path + ": unknown group '" + g + "'");
    }
    return out;
  }

  const auto slash = spec.find('/');
  if (slash != std::string::npos) {
    long k = 0, folds = 0;
    if (!parse_int(spec.substr(0, slash), &k) || !parse_int(spec.substr(slash + 1), &folds)) {
      throw ConfigError(where + kSpecHelp);
    }
    POSEFER_CHECK_CONFIG(folds >= 2, where, "need at least 2 folds, got ", folds);
    POSEFER_CHECK_CONFIG(k < folds, where, "fold index ", k, " must be < ", folds,
                         " (folds are 0-based)");
    auto subjects = sorted_subjects(dataset);
    POSEFER_CHECK_CONFIG(static_cast<size_t>(folds) <= subjects.size(), where, folds,
                         " folds but only ", subjects.size(), " subjects");
    seeded_shuffle(subjects, seed);
    std::map<std::string, bool> is_test;
    for (size_t p = 0; p < subjects.size(); ++p) {
      is_test[subjects[p]] = static_cast<long>(p % static_cast<size_t>(folds)) == k;
    }
    return split_by_subject(dataset, is_test);
  }

  const std::string prefix = "subjects:";
  if (spec.compare(0, prefix.size(), prefix) == 0) {
    const std::string num = spec.substr(prefix.size());
    errno = 0;
    char* end = nullptr;
    const double frac = std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || errno == ERANGE) {
      throw ConfigError(where + kSpecHelp);
    }
    POSEFER_CHECK_CONFIG(frac > 0.0 && frac < 1.0, where, "train fraction must be in (0, 1), got ",
                         num);
    auto subjects = sorted_subjects(dataset);
    POSEFER_CHECK_CONFIG(subjects.size() >= 2, where, "need at least 2 subjects, got ",
                         subjects.size());
    seeded_shuffle(subjects, seed);
    // At least one subject on each side, whatever the fraction.
    const auto n_train = std::clamp<size_t>(
        static_cast<size_t>(std::llround(frac * static_cast<double>(subjects.size()))), 1,
        subjects.size() - 1);
    std::map<std::string, bool> is_test;
    for (size_t p = 0; p < subjects.size(); ++p) is_test[subjects[p]] = p >= n_train;
    return split_by_subject(dataset, is_test);
  }

  throw ConfigError(where + kSpecHelp);
}

void carve_validation(Split& split, const Dataset& dataset, double fraction, uint64_t seed) {
  POSEFER_CHECK_CONFIG(fraction > 0 && fraction < 1, "validation fraction must be in (0, 1), got ", fraction);
  POSEFER_CHECK_CONFIG(split.val.empty(), "the split has a validation part already (", split.val.size(),
                       " images); --val-fraction applies to k/K and subjects:F splits");
  std::vector<std::string> subjects;
  for (size_t i : split.train) subjects.push_back(dataset.samples.at(i).subject);
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  POSEFER_CHECK_INPUT(subjects.size() >= 2, "the training part has ", subjects.size(),
                      " subject(s): no validation subjects can be set aside");
  seeded_shuffle(subjects, seed);
  const auto n_val = std::clamp<size_t>(
      static_cast<size_t>(std::llround(fraction * static_cast<double>(subjects.size()))), 1, subjects.size() - 1);
  std::map<std::string, bool> is_val;
  for (size_t p = 0; p < subjects.size(); ++p) is_val[subjects[p]] = p < n_val;
  std::vector<size_t> train;
  for (size_t i : split.train) (is_val.at(dataset.samples[i].subject) ? split.val : train).push_back(i);
  split.train = std::move(train);
}

std::vector<size_t> subsample(const std::vector<size_t>& indices, int64_t max_count,
                              uint64_t seed) {
  if (max_count <= 0 || static_cast<size_t>(max_count) >= indices.size()) return indices;
  // Partial Fisher-Yates over positions, then sort the chosen positions to keep the order.
  std::vector<size_t> pos(indices.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = i;
  std::mt19937_64 rng(seed);
  const auto count = static_cast<size_t>(max_count);
  for (size_t i = 0; i < count; ++i) {
    const size_t j = i + static_cast<size_t>(rng() % (pos.size() - i));
    std::swap(pos[i], pos[j]);
  }
  pos.resize(count);
  std::sort(pos.begin(), pos.end());
  std::vector<size_t> out;
  out.reserve(count);
  for (size_t p : pos) out.push_back(indices[p]);
  return out;
}

}  // namespace posefer
