// salvage::loader — the host side's one error convention: a value, or a message that
// says what went wrong. Every part of the salvage command returns Expected<T> (or
// Expected<void> when there is no value) from what can fail; the commands turn the
// message into "salvage CMD: error: ..." and an exit code (common/exit-codes.h).
//
// The image uses salvage::Status with static messages; the loader runs under Linux and
// its messages name files, lines and values ("/proc/iomem line 12: ..."), so they are
// built at run time. The message is for the user: it says what failed and, where there
// is one, what to do ("run salvage as root").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace salvage::loader {

/// Why an Expected holds no value: a complete sentence for the user.
struct Failure {
  std::string message;
};

/// `return Fail("...")` from a function returning Expected<T>.
inline Failure Fail(std::string message) { return Failure{std::move(message)}; }

/// A T, or the Failure that says why there is none.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Expected(Failure failure) : v_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  /// Precondition: ok().
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  /// The message; "" when ok().
  const std::string& error() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(v_).message;
  }
  /// The Failure, to pass on from a function with another T. Precondition: !ok().
  Failure failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

/// Success (`return {};`), or the Failure that says what went wrong.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Failure failure) : failure_(std::move(failure)) {}  // NOLINT: implicit by design

  bool ok() const { return !failure_.has_value(); }
  /// The message; "" when ok().
  const std::string& error() const {
    static const std::string kNone;
    return ok() ? kNone : failure_->message;
  }
  /// The Failure, to pass on from a function with another T. Precondition: !ok().
  Failure failure() const { return *failure_; }

 private:
  std::optional<Failure> failure_;
};

}  // namespace salvage::loader
