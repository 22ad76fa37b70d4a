// SPDX-License-Identifier: GPL-2.0-or-later
// The LVS side's handover forwarding (nftables/handover.h): which old Masters the new one
// forwards unknown TCP packets to, and for how long. The VRRP side tells it, as typed
// notices (TakeoverNotice), when a live Master is about to hand over (a priority-0
// advert, or an advert this router is about to preempt), when the takeover happened, and
// when it is over; the rules are in place before the VIPs arrive and gone before the old
// Master lets its VIPs go (its handover_linger).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/json.h"
#include "core/timers.h"
#include "nftables/handover.h"

namespace hd {

struct TakeoverNotice {
  enum class Phase {
    ahead,   // a live Master is about to hand over to this instance: forward to it from now
    master,  // this instance took over from it: forward for `window`, then stop
    ended,   // anything else (no takeover, or this instance left MASTER): stop now
  };
  Phase phase = Phase::ended;
  std::string instance;
  std::string interface;
  IpAddress from;           // ahead, master
  Duration window{};        // ahead, master: how long from now
};

class HandoverForwarding {
 public:
  // Applies an nft script: "" on success, else the error.
  using Apply = std::function<std::string(const std::string& script)>;
  HandoverForwarding(TimerSource& timers, Apply apply);
  ~HandoverForwarding();  // removes the tables when it ever wrote them

  void set_services(nft::HandoverServices s);
  void notice(const TakeoverNotice& n);
  // Stops every forwarding now (the subsystem stops, or leaves IPVS).
  void clear();

  // status "handover_forwarding": {"active": [{instance, to, interface, seconds_left}],
  // "applied": N, "failed": N, "last_error": "..."|null}
  void status(JsonWriter& w) const;
  size_t active() const { return active_.size(); }

 private:
  struct Entry {
    nft::HandoverPeer peer;
    TimePoint until;
  };
  void apply();
  void expire();
  TimerSource& timers_;
  Apply apply_;
  std::unique_ptr<TimerSource::Handle> timer_;
  nft::HandoverServices services_;
  std::map<std::string, Entry> active_;  // by instance
  std::string applied_script_;           // what the kernel holds ("" before the first write)
  bool written_ = false;
  uint64_t applied_ = 0, failed_ = 0;
  std::string last_error_;
};

}  // namespace hd
