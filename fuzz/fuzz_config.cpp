// libFuzzer target: a checkpoint's / config.json's stored config (config.h): JSON -> TrainConfig
// -> validate(). Bad input must end in a JSON type error or ConfigError, never a crash.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "posefer/core/check.h"
#include "posefer/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const auto c = j.get<posefer::TrainConfig>();
    c.validate();
    // A valid config survives its own JSON round trip.
    if (nlohmann::json(nlohmann::json(c).get<posefer::TrainConfig>()) != nlohmann::json(c)) __builtin_trap();
  } catch (const nlohmann::json::exception&) {
  } catch (const posefer::Error&) {
  }
  return 0;
}
