// libFuzzer target: the CSV reader (csv.h) on arbitrary bytes. Errors must be InputError.
#include <cstdint>
#include <string>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto records = posefer::csv::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    for (const auto& r : records) {
      if (r.fields.empty()) __builtin_trap();  // every record has at least one field
      // What escape writes must read back as the same fields.
      const auto back = posefer::csv::parse(posefer::csv::join_row(r.fields) + "\n", "rt.csv");
      if (back.size() != 1 || back[0].fields != r.fields) __builtin_trap();
    }
  } catch (const posefer::InputError&) {
  }
  return 0;
}
