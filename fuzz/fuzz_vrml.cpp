// libFuzzer target: the VRML 2.0 parser (vrml.h) behind the BU-3DFE reader.
#include <cstdint>
#include <string>

#include "posefer/core/check.h"
#include "posefer/render/vrml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    posefer::parse_vrml(std::string(reinterpret_cast<const char*>(data), size), "fuzz.wrl");
  } catch (const posefer::Error&) {
  }
  return 0;
}
