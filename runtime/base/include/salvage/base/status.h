// salvage::base — errors as values.
//
// Every failure in salvage is a value that names what failed. `Status` carries an
// `Error` code plus a static message (a string literal, never owned); `Result<T>`
// carries either a value or a `Status`. No exceptions, no heap.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace salvage {

/// What went wrong, in kinds that callers act on differently.
enum class Error : uint8_t {
  kOk = 0,
  kInvalidArgument,  ///< The caller passed something that cannot be right.
  kNotFound,         ///< A node, property or device does not exist.
  kMalformed,        ///< Input (DTB, ELF header, stream) is corrupt or truncated.
  kOutOfRange,       ///< An address or size is outside what is allowed.
  kUnsupported,      ///< Valid, but salvage does not handle it.
  kResourceExhausted,///< A fixed-size table or buffer is full.
  kTimeout,          ///< A device did not answer in time.
  kIo,               ///< A device reported an error.
};

/// Short name of an error kind, for reports.
constexpr const char* ErrorName(Error e) {
  switch (e) {
    case Error::kOk: return "ok";
    case Error::kInvalidArgument: return "invalid argument";
    case Error::kNotFound: return "not found";
    case Error::kMalformed: return "malformed";
    case Error::kOutOfRange: return "out of range";
    case Error::kUnsupported: return "unsupported";
    case Error::kResourceExhausted: return "resource exhausted";
    case Error::kTimeout: return "timeout";
    case Error::kIo: return "I/O error";
  }
  return "?";
}

/// An error kind plus a message naming the thing that failed. `what` must be a string
/// with static storage duration (a literal).
class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  constexpr Status(Error error, const char* what) : error_(error), what_(what) {}
  static constexpr Status Ok() { return Status(); }

  constexpr bool ok() const { return error_ == Error::kOk; }
  constexpr Error error() const { return error_; }
  /// Names what failed ("dtb: /memory has no reg"); "" when ok.
  constexpr const char* what() const { return what_; }

 private:
  Error error_ = Error::kOk;
  const char* what_ = "";
};

/// A value or the Status that says why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) : value_(std::move(value)), status_() {}  // NOLINT: implicit by design
  constexpr Result(Status status) : value_(), status_(status) {}      // NOLINT: implicit by design

  constexpr bool ok() const { return status_.ok(); }
  constexpr const Status& status() const { return status_; }
  /// Precondition: ok().
  constexpr T& value() { return value_; }
  constexpr const T& value() const { return value_; }
  constexpr T* operator->() { return &value_; }
  constexpr const T* operator->() const { return &value_; }
  constexpr T& operator*() { return value_; }
  constexpr const T& operator*() const { return value_; }

 private:
  static_assert(std::is_default_constructible_v<T>, "Result<T> needs a default-constructible T");
  T value_;
  Status status_;
};

namespace internal {
constexpr Status ToStatus(const Status& s) { return s; }
template <class T>
constexpr Status ToStatus(const Result<T>& r) { return r.status(); }
}  // namespace internal

}  // namespace salvage

#define SALVAGE_CONCAT_INNER(a, b) a##b
#define SALVAGE_CONCAT(a, b) SALVAGE_CONCAT_INNER(a, b)

/// Returns the Status of `expr` from the enclosing function if it is not ok.
#define SALVAGE_TRY(expr)                                                  \
  do {                                                                     \
    if (auto _salvage_s = ::salvage::internal::ToStatus(expr); !_salvage_s.ok()) \
      return _salvage_s;                                                   \
  } while (0)

/// `SALVAGE_ASSIGN_OR_RETURN(auto x, ResultExpr())`: unwraps or returns the Status.
#define SALVAGE_ASSIGN_OR_RETURN(lhs, expr) \
  SALVAGE_ASSIGN_OR_RETURN_IMPL(SALVAGE_CONCAT(_salvage_r, __LINE__), lhs, expr)
#define SALVAGE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp.value())
