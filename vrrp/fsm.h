// SPDX-License-Identifier: GPL-2.0-or-later
// The VRRP state machine of RFC 3768 section 6.4 / RFC 5798 section 6.4, as a pure function of
// (state, event, now) -> actions. It owns no socket and no timer: the caller feeds it events (a
// decoded advert, "master down timer fired", ...) and carries out the returned actions in order
// (send an advert, arm or cancel a timer, add or remove the virtual addresses, send gratuitous
// ARP / unsolicited NA). Names follow the RFCs: Skew_Time, Master_Down_Interval,
// Master_Adver_Interval.
#pragma once
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "vrrp/packet.h"

namespace hd::vrrp {

enum class State : uint8_t { initialize, backup, master, fault };
std::string_view to_string(State s);
std::ostream& operator<<(std::ostream& os, State s);

inline constexpr uint8_t kPriorityOwner = 255;  // the router that owns the virtual addresses
inline constexpr uint8_t kPriorityStop = 0;     // "the current Master has stopped participating"

struct Params {
  Version version = Version::v3;
  uint8_t vrid = 1;
  uint8_t priority = 100;  // 1..255; 255 only for the address owner
  // Advertisement_Interval: v2 whole seconds (1..255 s), v3 whole centiseconds (10 ms..40.95 s).
  Duration advert_interval = std::chrono::seconds(1);
  bool preempt = true;  // Preempt_Mode
  // After Startup (and FaultOff), a Backup does not preempt a lower-priority master until this
  // long has passed (keepalived's preempt_delay); 0 = preempt at once. See Fsm::handle. The
  // address owner (priority 255) still becomes Master at once on Startup.
  Duration preempt_delay{0};
  // v3: a Backup adopts the Master's Max Adver Int (RFC 5798 6.4.2) only when it lies within
  // this factor of advert_interval, both ways (advert_interval / ratio .. advert_interval *
  // ratio); an advert outside that is still accepted, but Master_Adver_Interval keeps its value.
  // Not in the RFC: any on-link host can claim 40.95 s and stretch the next failover to two
  // minutes. 0 = no bound (the RFC's behaviour).
  uint16_t adopt_interval_ratio = 10;
  IpAddress primary_ip;  // this router's primary address on the interface, for the tie-break
  // Not in the RFC: how long a Master that hands over keeps its VIPs (and so keeps forwarding
  // what still reaches it: clients and real servers whose ARP cache has not moved yet, packets
  // in flight) after the new Master holds them. 0 = the RFC's behaviour (they go at once).
  // Applies to a planned handover (Hold: ctl failover / hold, a stopping daemon) and to a
  // Master preempted by a better one; never to a fault or a Shutdown. See Fsm::handle.
  // The daemon's default (handover_linger) too.
  Duration linger = std::chrono::seconds(3);
  friend bool operator==(const Params&, const Params&) = default;
};

// A description of what is wrong with `p`, or nullopt when it is usable.
std::optional<std::string> validate(const Params& p);

// Events.
struct Startup {};
struct Shutdown {};
struct AdvertReceived {
  Advert advert;     // as returned by decode()
  IpAddress source;  // the IP source address: the sender's primary address
};
struct MasterDownTimerFired {};
struct AdvertTimerFired {};
struct FaultOn {
  std::string reason;  // e.g. "interface eth0 down"; travels into StateChanged
};
struct FaultOff {};
// Tracking moved the effective priority (clamped to 1..254, or 1..255 for an owner).
struct PriorityChanged {
  uint8_t priority;
};
// An operator's hold (hadirector ctl hold / failover / release). Held, the instance never
// becomes Master: a Master hands over at once (priority-0 advert, VIPs removed) and stays
// Backup, accepting any Master's adverts, until released. `failover`: a Master that sees no
// other router take over within Master_Down_Interval takes the VIPs back (the hold is
// lifted: handing over to nobody would be an outage).
struct Hold {
  bool on = true;
  bool failover = false;
};
struct LingerTimerFired {};
using Event = std::variant<Startup, Shutdown, AdvertReceived, MasterDownTimerFired,
                           AdvertTimerFired, FaultOn, FaultOff, PriorityChanged, Hold,
                           LingerTimerFired>;

// Actions, to be carried out in the order returned. "Arm" (re)starts a one-shot timer, replacing
// any earlier deadline of the same timer.
struct SendAdvert {
  uint8_t priority;  // effective priority, or 0 when leaving Master
  friend bool operator==(const SendAdvert&, const SendAdvert&) = default;
};
struct ArmAdvertTimer {
  Duration after;
  friend bool operator==(const ArmAdvertTimer&, const ArmAdvertTimer&) = default;
};
struct ArmMasterDownTimer {
  Duration after;
  friend bool operator==(const ArmMasterDownTimer&, const ArmMasterDownTimer&) = default;
};
struct CancelAdvertTimer {
  friend bool operator==(const CancelAdvertTimer&, const CancelAdvertTimer&) = default;
};
struct CancelMasterDownTimer {
  friend bool operator==(const CancelMasterDownTimer&, const CancelMasterDownTimer&) = default;
};
struct AddVips {
  friend bool operator==(const AddVips&, const AddVips&) = default;
};
struct RemoveVips {
  friend bool operator==(const RemoveVips&, const RemoveVips&) = default;
};
// Leaving Master with Params::linger: the VIPs stay (RemoveVips comes when the linger ends),
// but are no longer announced (pending gratuitous ARP bursts and refreshes stop).
struct KeepVips {
  friend bool operator==(const KeepVips&, const KeepVips&) = default;
};
struct ArmLingerTimer {
  Duration after;
  friend bool operator==(const ArmLingerTimer&, const ArmLingerTimer&) = default;
};
struct CancelLingerTimer {
  friend bool operator==(const CancelLingerTimer&, const CancelLingerTimer&) = default;
};
// Gratuitous ARP (IPv4) / unsolicited Neighbor Advertisement with the R flag (IPv6) burst.
struct SendGratuitous {
  friend bool operator==(const SendGratuitous&, const SendGratuitous&) = default;
};
// v3: Master_Adver_Interval took the Master's Max Adver Int, and it differs from before.
struct IntervalAdopted {
  Duration from;
  Duration to;
  friend bool operator==(const IntervalAdopted&, const IntervalAdopted&) = default;
};
// v3: an accepted advert's Max Adver Int is outside Params::adopt_interval_ratio, so it was not
// adopted.
enum class IntervalRefusal : uint8_t { too_long, too_short };
std::string_view to_string(IntervalRefusal r);
struct IntervalRefused {
  Duration advertised;
  IntervalRefusal reason;
  friend bool operator==(const IntervalRefused&, const IntervalRefused&) = default;
};
struct StateChanged {
  State from;
  State to;
  std::string reason;
  bool failover_aborted = false;  // a failover nobody took: the hold was lifted (Hold)
  // Becoming Master from a Master that is alive (it handed over with priority 0, or we
  // preempted it): its address. It keeps forwarding for its handover_linger.
  std::optional<IpAddress> taken_from;
  friend bool operator==(const StateChanged&, const StateChanged&) = default;
};
using Action =
    std::variant<SendAdvert, ArmAdvertTimer, ArmMasterDownTimer, CancelAdvertTimer,
                 CancelMasterDownTimer, AddVips, RemoveVips, KeepVips, ArmLingerTimer,
                 CancelLingerTimer, SendGratuitous, IntervalAdopted, IntervalRefused,
                 StateChanged>;
using Actions = std::vector<Action>;

// Printing, for logs and test failure messages.
std::ostream& operator<<(std::ostream& os, const SendAdvert& a);
std::ostream& operator<<(std::ostream& os, const ArmAdvertTimer& a);
std::ostream& operator<<(std::ostream& os, const ArmMasterDownTimer& a);
std::ostream& operator<<(std::ostream& os, const CancelAdvertTimer& a);
std::ostream& operator<<(std::ostream& os, const CancelMasterDownTimer& a);
std::ostream& operator<<(std::ostream& os, const AddVips& a);
std::ostream& operator<<(std::ostream& os, const RemoveVips& a);
std::ostream& operator<<(std::ostream& os, const KeepVips& a);
std::ostream& operator<<(std::ostream& os, const ArmLingerTimer& a);
std::ostream& operator<<(std::ostream& os, const CancelLingerTimer& a);
std::ostream& operator<<(std::ostream& os, const SendGratuitous& a);
std::ostream& operator<<(std::ostream& os, const IntervalAdopted& a);
std::ostream& operator<<(std::ostream& os, const IntervalRefused& a);
std::ostream& operator<<(std::ostream& os, const StateChanged& a);
std::ostream& operator<<(std::ostream& os, const Action& a);

class Fsm {
 public:
  // Throws std::invalid_argument when validate(params) fails: configuration time only.
  explicit Fsm(Params params);

  // Feeds one event at time `now` and returns what to do, in order. Events that make no sense in
  // the current state (a stale timer, an advert while Initialize or Fault, our own advert looped
  // back, another VRID) return no actions. Beyond RFC 5798 6.4:
  //  - preempt_delay: from Startup/FaultOff until now + preempt_delay, a Backup accepts adverts
  //    of lower priority as if Preempt_Mode were off; afterwards it discards them and takes over
  //    when the master down timer expires (so at most preempt_delay + Master_Down_Interval).
  //  - A Master that hears an advert it outranks (lower priority, or equal priority and lower
  //    primary address) answers with an advert at once, without moving its Adver_Timer.
  //  - Fault: FaultOn leaves Master (priority-0 advert, VIPs removed) or Backup for Fault;
  //    FaultOff acts as Startup. A fault raised in Initialize is remembered: Startup then enters
  //    Fault. Shutdown from any state goes to Initialize.
  //  - v3 Max Adver Int is adopted only within Params::adopt_interval_ratio of our own
  //    interval (IntervalAdopted when it changes, IntervalRefused when outside the bound).
  //  - Linger (Params::linger > 0): a Master that hands over (Hold) or is preempted leaves
  //    for Backup without RemoveVips (KeepVips instead). A preempted Master's linger starts
  //    at once (its preemptor already holds the VIPs); a held one's starts at the first
  //    advert of the Master that took over. When it runs out, RemoveVips. A held Backup that
  //    hears no Master within Master_Down_Interval ends it at once (a plain hold) or takes
  //    the VIPs back (failover aborted). Becoming Master again cancels it; FaultOn and
  //    Shutdown end it at once (the VIPs go).
  //  - The address-owner rule of RFC 5798 7.1 (an owner drops all adverts) is not applied: an
  //    owner as Master outranks every advert but another owner's with a greater address.
  Actions handle(const Event& event, TimePoint now);

  State state() const { return state_; }
  bool held() const { return held_; }
  // Backup, still holding the VIPs of a handover (Params::linger).
  bool lingering() const { return lingering_; }
  // A failover (Hold with failover) waiting for another router to take over.
  bool handover_pending() const { return held_ && handover_pending_; }
  const Params& params() const { return params_; }
  uint8_t effective_priority() const { return priority_; }
  // Immediate answers not sent because of the rate limit (answer_allowed).
  uint64_t answers_suppressed() const { return answers_suppressed_; }
  // Backup: the sender of the last accepted advert, if any; Master: our own primary_ip.
  std::optional<IpAddress> master_address() const;
  // Backup: the live Master it follows: the sender of the last accepted advert, or the one
  // that handed over (priority 0) or that it is about to preempt. nullopt otherwise. What
  // the LVS side forwards stray packets to (daemon/handover_forwarding.h), so that the
  // forwarding is in place before a takeover.
  std::optional<IpAddress> followed() const;
  // Backup: the Master it followed has handed over (priority 0) and nobody took over yet.
  bool master_leaving() const {
    return state_ == State::backup && !master_ && handing_over_.has_value();
  }
  Duration master_adver_interval() const { return master_adver_interval_; }
  // Skew_Time and Master_Down_Interval for the current priority and Master_Adver_Interval.
  Duration skew_time() const;
  Duration master_down_interval() const;
  const std::string& last_transition_reason() const { return last_reason_; }
  TimePoint last_transition_time() const { return last_transition_; }
  // Until when a Backup refrains from preempting (preempt_delay); meaningless when not Backup.
  TimePoint preempt_allowed_at() const { return preempt_allowed_at_; }
  // How late the Master's advert timer fired against its absolute due time: the worst seen,
  // and how many adverts left more than one interval late (a gap of over two intervals at
  // the Backup; three make it fail over). What an operator reads to see a loaded host.
  struct AdvertTiming {
    Duration late_max{};
    uint64_t late = 0;
  };
  const AdvertTiming& advert_timing() const { return timing_; }

 private:
  void on_startup(Actions& out, TimePoint now, std::string reason);
  void on_shutdown(Actions& out, TimePoint now);
  void on_advert(Actions& out, const AdvertReceived& ev, TimePoint now);
  // A Master's immediate answer (to a lower-priority or priority-0 advert) is rate-limited:
  // two per Advertisement_Interval, bursts of three. Returns false (and counts it) when none
  // is left.
  bool answer_allowed(TimePoint now);
  std::optional<TimePoint> tokens_at_;
  double answer_tokens_ = 0;
  uint64_t answers_suppressed_ = 0;
  void on_master_down(Actions& out, TimePoint now);
  void on_advert_timer(Actions& out, TimePoint now);
  void on_fault_on(Actions& out, TimePoint now, const std::string& reason);
  void on_fault_off(Actions& out, TimePoint now);
  void on_priority_changed(uint8_t priority);
  void on_hold(Actions& out, const Hold& h, TimePoint now);

  void become_master(Actions& out, TimePoint now, std::string reason);
  void become_backup(Actions& out, TimePoint now, std::string reason);
  // RFC: Adver_Timer cancelled, priority-0 advert, VIPs removed; with `linger` (and
  // Params::linger > 0) the VIPs are kept instead (KeepVips, lingering_).
  void leave_master(Actions& out, bool linger = false);
  // Ends a linger: the VIPs go now (no-op when not lingering).
  void end_linger(Actions& out);
  void transition(Actions& out, State to, TimePoint now, std::string reason);
  void adopt_interval(Actions& out, const Advert& a);

  Params params_;
  State state_ = State::initialize;
  uint8_t priority_;
  bool faulted_ = false;  // FaultOn seen and not yet FaultOff, in any state
  bool held_ = false;
  bool handover_pending_ = false;  // failover: no other Master heard since we let go
  bool lingering_ = false;         // Backup holding a handover's VIPs (Params::linger)
  bool linger_armed_ = false;      // its timer runs (it starts at the taker's first advert)
  std::string fault_reason_;
  Duration master_adver_interval_;
  std::optional<IpAddress> master_;
  // Backup: a live Master about to lose its role to us: it sent priority 0 (a handover),
  // or it advertises a priority we are about to preempt. It lingers once we are Master.
  std::optional<IpAddress> handing_over_;
  TimePoint preempt_allowed_at_{};
  TimePoint advert_due_{};  // when the advert timer last armed was due (absolute cadence)
  AdvertTiming timing_;
  TimePoint last_transition_{};
  std::string last_reason_;
};

}  // namespace hd::vrrp
