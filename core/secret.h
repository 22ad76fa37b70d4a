// SPDX-License-Identifier: GPL-2.0-or-later
// Key material: bytes that are zeroed when they go (explicit_bzero, which the compiler may not
// drop), compared in constant time, and never printed (there is no operator<<, and a config
// writer or status line that wants to show a Secret can only show its size).
#pragma once
#include <string.h>  // explicit_bzero (glibc)

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hd {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  Secret(const Secret& o) : bytes_(o.bytes_) {}
  Secret(Secret&& o) noexcept : bytes_(std::move(o.bytes_)) {}
  Secret& operator=(const Secret& o) {
    if (this != &o) {
      wipe();
      bytes_ = o.bytes_;  // a fresh allocation of the exact size (the old one was wiped)
    }
    return *this;
  }
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      wipe();
      bytes_ = std::move(o.bytes_);
    }
    return *this;
  }
  ~Secret() { wipe(); }

  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  // Constant time in the contents (the sizes are not secret).
  friend bool operator==(const Secret& a, const Secret& b) {
    if (a.bytes_.size() != b.bytes_.size()) return false;
    uint8_t diff = 0;
    for (size_t i = 0; i < a.bytes_.size(); ++i) diff |= a.bytes_[i] ^ b.bytes_[i];
    return diff == 0;
  }

 private:
  void wipe() {
    if (!bytes_.empty()) explicit_bzero(bytes_.data(), bytes_.size());
    bytes_.clear();
    bytes_.shrink_to_fit();
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace hd
