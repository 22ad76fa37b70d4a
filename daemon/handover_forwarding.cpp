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

std::string HandoverForwarding::remove_leftovers() {
  std::string script = nft::render_handover({}, services_);
  auto err = apply_(script);
  if (err.empty()) {
    written_ = true;
    applied_script_ = std::move(script);
  }
  return err;
}

void HandoverForwarding::set_services(nft::HandoverServicesByInstance s) {
  if (s == services_) return;
  services_ = std::move(s);
  for (auto it = active_.begin(); it != active_.end();)
    it = services_.count(it->first) ? std::next(it) : active_.erase(it);  // instance gone
  if (written_) apply();
}

void HandoverForwarding::notice(const TakeoverNotice& n) {
  using P = TakeoverNotice::Phase;
  if (n.phase == P::ended || (n.phase == P::master && n.window <= Duration::zero())) {
    auto it = active_.find(n.instance);
    if (it == active_.end()) return;
    HD_LOG(info, "ipvs") << n.instance << ": no longer forwarding stray TCP packets to "
                         << it->second.peer.address.str();
    active_.erase(it);
  } else {
    Entry e{nft::HandoverPeer{n.instance, n.interface, n.to, n.phase == P::master || n.input},
            std::nullopt};
    if (n.phase == P::master) e.until = timers_.clock().now() + n.window;
    auto it = active_.find(n.instance);
    const bool same_peer = it != active_.end() && it->second.peer == e.peer;
    active_[n.instance] = e;
    if (!same_peer)
      HD_LOG(info, "ipvs") << n.instance << ": forwarding stray TCP packets (those IPVS does not know"
                           << (e.peer.input ? "" : ", from the real servers") << ") to "
                           << n.to.str() << " on " << n.interface
                           << (n.phase == P::master ? " (the old Master, while it lingers)"
                                                    : " (the Master this Backup follows)");
  }
  apply();
}

void HandoverForwarding::expire() {
  const TimePoint now = timers_.clock().now();
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->second.until && *it->second.until <= now) {
      HD_LOG(info, "ipvs") << it->first << ": forwarding to the old Master "
                           << it->second.peer.address.str() << " over";
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
    if (e.until) next = next ? std::min(*next, *e.until) : *e.until;
  }
  if (next)
    timer_->start(std::max<Duration>(*next - timers_.clock().now(), Duration::zero()));
  else
    timer_->stop();
  // Nothing to forward and nothing ever written: there are no tables to remove.
  if (peers.empty() && !written_) return;
  const std::string script = nft::render_handover(peers, services_);
  if (script == applied_script_) return;
  if (auto err = apply_(script); !err.empty()) {
    ++failed_;
    if (err != last_error_)
      HD_LOG(warning, "ipvs") << "handover forwarding not in place (" << err
                              << "): handshakes that cross a switchover may be lost";
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
    w.field("interface", e.peer.interface).field("input", e.peer.input).key("seconds_left");
    if (e.until)
      w.value(std::round(std::chrono::duration<double>(*e.until - now).count() * 1000) / 1000);
    else
      w.null();
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
