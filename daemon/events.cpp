// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/events.h"

#include "core/clock.h"

namespace hd {

void EventBus::publish(std::string_view type, const std::function<void(JsonWriter&)>& fields) {
  ++seq_;  // counted even with nobody listening: a subscriber sees the gaps it missed
  if (!wanted()) return;
  JsonWriter w;
  w.begin_object();
  w.key("ts").value_fixed(wall_seconds(), 6);
  w.field("seq", seq_);
  w.field("type", type);
  if (fields) fields(w);
  w.end_object();
  sink_(w.str() + "\n");
}

}  // namespace hd
