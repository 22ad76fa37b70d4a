// SPDX-License-Identifier: GPL-2.0-or-later
// A small streaming JSON writer for status output (no parser needed here).
//   JsonWriter w; w.begin_object(); w.key("state").value("MASTER"); w.end_object();
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hd {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(bool v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(unsigned v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(long long v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(unsigned long long v) { return value(static_cast<uint64_t>(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(double v);
  // A number with exactly `decimals` digits after the point (Unix times to the microsecond,
  // which value(double)'s 15 significant digits would round to 10 us).
  JsonWriter& value_fixed(double v, int decimals);
  JsonWriter& null();
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  const std::string& str() const { return out_; }
  // The text so far, moved out (the writer is empty afterwards, and goes on where it was:
  // a document can be taken a part at a time).
  std::string take() {
    std::string s;
    s.reserve(out_.capacity());  // the next part is written into as much room
    s.swap(out_);
    return s;
  }
  void reserve(size_t bytes) { out_.reserve(bytes); }

  static std::string escape(std::string_view s);

 private:
  void before_value();
  JsonWriter& close(char c);
  void newline();
  bool pretty_;
  std::string out_;
  // One entry per open container: true when it already holds an element.
  std::vector<bool> has_items_;
  bool after_key_ = false;
};

// A part of a document written on one main-loop turn (a status of 100,000 real servers is
// written over many turns, so checks are not held up): writes a bounded amount and returns
// true when finished, false to be called again on a later turn, going on where it stopped.
using JsonStep = std::function<bool(JsonWriter&)>;

// Runs every step to the end at once.
inline void run_all(const std::vector<JsonStep>& steps, JsonWriter& w) {
  for (auto& step : steps)
    while (!step(w)) {
    }
}

}  // namespace hd
