// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/handover_forwarding.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/log.h"

namespace hd {

HandoverForwarding::HandoverForwarding(TimerSource& timers, Apply apply)
    : timers_(timers), apply_(std::move(apply)), timer_(timers.make([this] { expire(); })) {}

HandoverForwarding::~HandoverForwarding() {
  if (!written_ || active_.empty()) return;
  active_.clear();
  apply();
}

void HandoverForwarding::set_services(nft::HandoverServices s) {
  if (s == services_) return;
  services_ = std::move(s);
  if (!active_.empty()) apply();
}

void HandoverForwarding::notice(const TakeoverNotice& n) {
  using P = TakeoverNotice::Phase;
  const TimePoint now = timers_.clock().now();
  if (n.phase == P::ended || n.window <= Duration::zero()) {
    if (!active_.erase(n.instance)) return;
    HD_LOG(info, "ipvs") << n.instance << ": handover forwarding to the old Master ends";
  } else {
    nft::HandoverPeer peer{n.instance, n.interface, n.from};
    auto it = active_.find(n.instance);
    const bool same = it != active_.end() && it->second.peer == peer;
    active_[n.instance] = Entry{peer, now + n.window};
    if (!same)
      HD_LOG(info, "ipvs") << n.instance << ": forwarding TCP packets IPVS does not know to "
                           << n.from.str() << " on " << n.interface << " (the old Master, "
                           << (n.phase == P::ahead ? "handing over" : "lingering") << ") for "
                           << std::chrono::duration<double>(n.window).count() << " s";
  }
  apply();
}

void HandoverForwarding::clear() {
  if (active_.empty()) return;
  active_.clear();
  apply();
}

void HandoverForwarding::expire() {
  const TimePoint now = timers_.clock().now();
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->second.until <= now) {
      HD_LOG(info, "ipvs") << it->first << ": handover forwarding to " << it->second.peer.address.str()
                           << " over";
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  apply();  // writes what changed, re-arms the timer for the next end
}

void HandoverForwarding::apply() {
  std::vector<nft::HandoverPeer> peers;
  std::optional<TimePoint> next;
  for (auto& [name, e] : active_) {
    peers.push_back(e.peer);
    next = next ? std::min(*next, e.until) : e.until;
  }
  if (next) {
    const Duration left = *next - timers_.clock().now();
    timer_->start(std::max(left, Duration::zero()));
  } else {
    timer_->stop();
  }
  // Nothing to forward and nothing ever written: the tables were never made.
  if (peers.empty() && !written_) return;
  const std::string script = nft::render_handover(peers, services_);
  if (script == applied_script_) return;
  if (auto err = apply_(script); !err.empty()) {
    ++failed_;
    if (err != last_error_)
      HD_LOG(warning, "ipvs") << "handover forwarding not in place (" << err
                              << "): handshakes that cross this switchover may be lost";
    last_error_ = err;
    return;
  }
  ++applied_;
  written_ = true;
  applied_script_ = script;
}

void HandoverForwarding::status(JsonWriter& w) const {
  const TimePoint now = timers_.clock().now();
  w.begin_object().key("active").begin_array();
  for (auto& [name, e] : active_) {
    w.begin_object().field("instance", name).field("to", e.peer.address.str());
    w.field("interface", e.peer.interface);
    w.field("seconds_left",
            std::round(std::chrono::duration<double>(e.until - now).count() * 1000) / 1000);
    w.end_object();
  }
  w.end_array().field("applied", applied_).field("failed", failed_).key("last_error");
  if (last_error_.empty())
    w.null();
  else
    w.value(last_error_);
  w.end_object();
}

}  // namespace hd
