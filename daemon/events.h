// SPDX-License-Identifier: GPL-2.0-or-later
// The event stream (`hadirector ctl events`, docs/ctl.md): one JSON object per line, each
// with its Unix time `ts`, a sequence number `seq` (gaps: the subscriber missed events) and
// a `type` (vrrp, check, ipvs, reload, override), published on the main loop by whoever saw
// it happen. The bus only formats; the control server writes the lines to its subscribers
// and cuts off one that does not keep up, so publishing never waits.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/json.h"

namespace hd {

class EventBus {
 public:
  using Sink = std::function<void(const std::string& line)>;
  // `wanted`: whether anyone listens (no subscriber: nothing is formatted).
  void set_sink(Sink sink, std::function<bool()> wanted) {
    sink_ = std::move(sink);
    wanted_ = std::move(wanted);
  }
  bool wanted() const { return sink_ && (!wanted_ || wanted_()); }
  // `fields` writes the event's own fields into the open object.
  void publish(std::string_view type, const std::function<void(JsonWriter&)>& fields);
  uint64_t published() const { return seq_; }

 private:
  uint64_t seq_ = 0;
  Sink sink_;
  std::function<bool()> wanted_;
};

}  // namespace hd
