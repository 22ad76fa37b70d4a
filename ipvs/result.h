// SPDX-License-Identifier: GPL-2.0-or-later
// Errors as data: every backend call returns a Result, never throws. An Error
// carries one line for logs and status, and the kernel's errno when there is one.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hd::ipvs {

struct Error {
  std::string message;  // one line, no trailing newline
  int code = 0;         // positive errno from the kernel, 0 when not from a syscall
  friend bool operator==(const Error&, const Error&) = default;
};

// A value or an Error (std::expected is C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace hd::ipvs
