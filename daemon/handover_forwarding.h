// SPDX-License-Identifier: GPL-2.0-or-later
// The LVS side's handover forwarding (nftables/handover.h): which live Master each VRRP
// instance forwards stray TCP packets to, and until when. The VRRP side tells it, as typed
// notices (TakeoverNotice):
//  - follow: a Backup follows a live Master: forward to it. So the rules are in place long
//    before a takeover (writing them when the takeover comes would race the new Master's
//    gratuitous ARP). Inert while the Backup holds no VIP, except for what the real
//    servers send it through a stale gateway entry. A Backup still holding a handover's
//    VIPs (lingering) forwards only what comes from the real servers: the handshakes the
//    new Master began whose SYN-ACK still reached the old gateway.
//  - master: the instance took over from a live Master (it handed over, or was preempted)
//    that now lingers: forward to it for `window`, which ends before its linger does.
//  - ended: anything else (the Master died, this instance faulted or stopped): nothing.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/json.h"
#include "core/timers.h"
#include "nftables/handover.h"

namespace hd {

struct TakeoverNotice {
  enum class Phase { follow, master, ended };
  Phase phase = Phase::ended;
  std::string instance;
  std::string interface;
  IpAddress to;           // follow, master: the live Master to forward to
  bool input = true;      // follow: false while lingering (see above)
  Duration window{};      // master: how long from now
};

class HandoverForwarding {
 public:
  // Applies an nft script: "" on success, else the error.
  using Apply = std::function<std::string(const std::string& script)>;
  HandoverForwarding(TimerSource& timers, Apply apply);
  ~HandoverForwarding();  // removes the tables when it wrote them

  // By VRRP instance (every configured one, with or without services): entries of
  // instances no longer there are dropped.
  void set_services(nft::HandoverServicesByInstance s);
  void notice(const TakeoverNotice& n);
  // Removes tables a previous run left (a daemon killed as Backup); "" or why it cannot
  // (no nf_tables: the forwarding is off, said once).
  std::string remove_leftovers();

  // status "handover_forwarding": {"active": [{instance, to, interface, input,
  // seconds_left (null: while following)}], "applied": N, "failed": N, "last_error"}
  void status(JsonWriter& w) const;
  size_t active() const { return active_.size(); }

 private:
  struct Entry {
    nft::HandoverPeer peer;
    std::optional<TimePoint> until;  // master: the window's end; follow: none
  };
  void apply();
  void expire();
  TimerSource& timers_;
  Apply apply_;
  std::unique_ptr<TimerSource::Handle> timer_;
  nft::HandoverServicesByInstance services_;
  std::map<std::string, Entry> active_;  // by instance
  std::string applied_script_;           // what the kernel holds ("" before the first write)
  bool written_ = false;
  uint64_t applied_ = 0, failed_ = 0;
  std::string last_error_;
};

}  // namespace hd
