// Errors and the always-on check macros.
//
// The library reports every failure by throwing a posefer::Error (or a subclass); it never
// asserts and never exits. Front-ends catch once, print e.what() as one line and exit non-zero.
// Messages name the input (file, flag, tensor) and the problem; the check macros append the
// failing condition so a bug report carries it.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace posefer {

// Base of every error posefer throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad user input: a missing or corrupt file, malformed CSV/JSON, an unknown data set layout.
class InputError : public Error {
 public:
  using Error::Error;
};

// Invalid configuration: an out-of-range flag, a checkpoint from another model config.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A tensor of the wrong shape or type reached a public function.
class ShapeError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <class T, class... Rest>
void append_all(std::ostringstream& os, T&& v, Rest&&... rest) {
  os << std::forward<T>(v);
  append_all(os, std::forward<Rest>(rest)...);
}
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  append_all(os, std::forward<Args>(args)...);
  return os.str();
}
template <class E>
[[noreturn]] void fail(const char* cond, const std::string& msg) {
  throw E(msg.empty() ? std::string("check failed: ") + cond
                      : msg + " (check failed: " + cond + ")");
}
}  // namespace detail

// First line of a message: c10 errors carry a multi-line backtrace that must not reach users.
inline std::string first_line_of(const std::string& s) {
  const auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

// Runs f(); any exception escaping it is rethrown with "context: " prefixed, keeping the
// posefer error type (other exceptions, c10::Error included, become posefer::Error).
template <class F>
auto with_context(const std::string& context, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InputError& e) {
    throw InputError(context + ": " + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(context + ": " + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(context + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(context + ": " + first_line_of(e.what()));
  }
}

}  // namespace posefer

// POSEFER_CHECK(cond, "message parts", value, ...): throws posefer::Error when cond is false.
#define POSEFER_CHECK(cond, ...) \
  do { if (!(cond)) ::posefer::detail::fail<::posefer::Error>(#cond, ::posefer::detail::concat(__VA_ARGS__)); } while (0)
#define POSEFER_CHECK_INPUT(cond, ...) \
  do { if (!(cond)) ::posefer::detail::fail<::posefer::InputError>(#cond, ::posefer::detail::concat(__VA_ARGS__)); } while (0)
#define POSEFER_CHECK_CONFIG(cond, ...) \
  do { if (!(cond)) ::posefer::detail::fail<::posefer::ConfigError>(#cond, ::posefer::detail::concat(__VA_ARGS__)); } while (0)
#define POSEFER_CHECK_SHAPE(cond, ...) \
  do { if (!(cond)) ::posefer::detail::fail<::posefer::ShapeError>(#cond, ::posefer::detail::concat(__VA_ARGS__)); } while (0)
