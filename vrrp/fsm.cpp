// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/fsm.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "vrrp/rules.h"

namespace hd::vrrp {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Duration kCentisecond = milliseconds(10);

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// Skew_Time = ((256 - Priority) * interval) / 256, with interval 1 s for v2 (RFC 3768 6.1) and
// Master_Adver_Interval for v3 (RFC 5798 6.1). Computed in nanoseconds rather than truncated to
// centiseconds so that different priorities never get equal skews.
Duration skew(uint8_t priority, Duration interval) {
  return Duration((256 - priority) * interval.count() / 256);
}

std::string describe(const Advert& a, const IpAddress& source) {
  std::ostringstream os;
  os << "advert from " << source << " with priority " << static_cast<int>(a.priority);
  return os.str();
}

}  // namespace

std::string_view to_string(State s) {
  switch (s) {
    case State::initialize:
      return "INITIALIZE";
    case State::backup:
      return "BACKUP";
    case State::master:
      return "MASTER";
    case State::fault:
      return "FAULT";
  }
  return "UNKNOWN";
}

std::ostream& operator<<(std::ostream& os, State s) {
  return os << to_string(s);
}

std::string_view to_string(IntervalRefusal r) {
  return r == IntervalRefusal::too_long ? "too_long" : "too_short";
}

std::optional<std::string> validate(const Params& p) {
  if (p.version != Version::v2 && p.version != Version::v3) return "version must be 2 or 3";
  if (p.vrid == 0) return "vrid must be 1..255";
  if (p.priority == kPriorityStop) return "priority must be 1..255";
  if (p.preempt_delay < Duration::zero()) return "preempt_delay must not be negative";
  if (p.linger < Duration::zero()) return "linger must not be negative";
  if (p.version == Version::v2) {
    if (!p.primary_ip.is_v4()) return "VRRP version 2 is IPv4 only";
    if (!valid_advert_interval(p.version, p.advert_interval)) {
      return "version 2 advert_interval must be 1..255 whole seconds";
    }
  } else if (!valid_advert_interval(p.version, p.advert_interval)) {
    return "version 3 advert_interval must be 10..40950 ms in whole centiseconds";
  }
  return std::nullopt;
}

Fsm::Fsm(Params params)
    : params_(std::move(params)),
      priority_(params_.priority),
      master_adver_interval_(params_.advert_interval) {
  if (auto error = validate(params_)) throw std::invalid_argument("vrrp: " + *error);
}

std::optional<IpAddress> Fsm::master_address() const {
  if (state_ == State::master) return params_.primary_ip;
  if (state_ == State::backup) return master_;
  return std::nullopt;
}

std::optional<IpAddress> Fsm::followed() const {
  if (state_ != State::backup) return std::nullopt;
  return master_ ? master_ : handing_over_;
}

Duration Fsm::skew_time() const {
  return skew(priority_,
              params_.version == Version::v2 ? Duration(seconds(1)) : master_adver_interval_);
}

// RFC 3768 6.1: 3 * Advertisement_Interval + Skew_Time (master_adver_interval_ stays equal to
// Advertisement_Interval for v2); RFC 5798 6.1: 3 * Master_Adver_Interval + Skew_Time.
Duration Fsm::master_down_interval() const {
  return 3 * master_adver_interval_ + skew_time();
}

Actions Fsm::handle(const Event& event, TimePoint now) {
  Actions out;
  std::visit(Overloaded{
                 [&](const Startup&) {
                   if (state_ == State::initialize) on_startup(out, now, "startup");
                 },
                 [&](const Shutdown&) { on_shutdown(out, now); },
                 [&](const AdvertReceived& ev) { on_advert(out, ev, now); },
                 [&](const MasterDownTimerFired&) { on_master_down(out, now); },
                 [&](const AdvertTimerFired&) { on_advert_timer(out, now); },
                 [&](const FaultOn& ev) { on_fault_on(out, now, ev.reason); },
                 [&](const FaultOff&) { on_fault_off(out, now); },
                 [&](const PriorityChanged& ev) { on_priority_changed(ev.priority); },
                 [&](const Hold& ev) { on_hold(out, ev, now); },
                 [&](const LingerTimerFired&) {
                   if (!linger_armed_) return;  // stale
                   linger_armed_ = false;       // it fired: nothing to cancel
                   end_linger(out);
                 },
             },
             event);
  return out;
}

// RFC 5798 6.4.1 (Initialize, on Startup). A fault reported before Startup is remembered, so
// the instance starts straight into Fault.
void Fsm::on_startup(Actions& out, TimePoint now, std::string reason) {
  if (faulted_) {
    transition(out, State::fault, now, reason + " while faulted: " + fault_reason_);
    return;
  }
  if (priority_ == kPriorityOwner && !held_) {
    become_master(out, now, reason + " as address owner (priority 255)");
    return;
  }
  // "Set Master_Adver_Interval to Advertisement_Interval"; the preempt_delay window opens here.
  master_adver_interval_ = params_.advert_interval;
  preempt_allowed_at_ = now + params_.preempt_delay;
  master_.reset();
  out.emplace_back(ArmMasterDownTimer{master_down_interval()});
  transition(out, State::backup, now, std::move(reason));
}

void Fsm::on_shutdown(Actions& out, TimePoint now) {
  switch (state_) {
    case State::initialize:
      return;
    case State::master:
      // RFC 5798 6.4.3: cancel Adver_Timer, send an ADVERTISEMENT with Priority = 0.
      leave_master(out);
      break;
    case State::backup:
      out.emplace_back(CancelMasterDownTimer{});
      end_linger(out);
      break;
    case State::fault:
      break;
  }
  transition(out, State::initialize, now, "shutdown");
}

void Fsm::on_advert(Actions& out, const AdvertReceived& ev, TimePoint now) {
  const Advert& a = ev.advert;
  if (state_ != State::backup && state_ != State::master) return;
  // Defensive: decode() already checked these, and our own adverts looped back are not news.
  if (a.vrid != params_.vrid || a.version != params_.version) return;
  if (ev.source == params_.primary_ip) return;

  if (state_ == State::backup) {
    if (a.priority == kPriorityStop) {
      // RFC 5798 6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
      // Master_Down_Timer to Skew_Time".
      master_.reset();
      if (!held_) handing_over_ = ev.source;  // alive, and lingering once we take over
      out.emplace_back(ArmMasterDownTimer{skew_time()});
      return;
    }
    const bool preempt_now = params_.preempt && now >= preempt_allowed_at_ && !held_;
    if (!preempt_now || a.priority >= priority_) {
      handing_over_.reset();      // a Master goes on: it hands over nothing
      handover_pending_ = false;  // someone took over
      if (lingering_ && !linger_armed_) {
        // The new Master holds the VIPs now (it advertises only as Master): let go after
        // the linger.
        linger_armed_ = true;
        out.emplace_back(ArmLingerTimer{params_.linger});
      }
      adopt_interval(out, a);
      master_ = ev.source;
      out.emplace_back(ArmMasterDownTimer{master_down_interval()});
    } else {
      // Lower priority and Preempt_Mode: discard, and let the timer run out; the Master
      // is alive and will linger once preempted.
      handing_over_ = ev.source;
    }
    return;
  }

  // Master, RFC 5798 6.4.3.
  if (a.priority == kPriorityStop) {
    // Answered at once, but rate-limited (answer_allowed): a flood of priority-0 adverts from
    // any on-link host must not turn into a flood of ours.
    if (!answer_allowed(now)) return;
    out.emplace_back(SendAdvert{priority_});
    advert_due_ = now + params_.advert_interval;
    out.emplace_back(ArmAdvertTimer{params_.advert_interval});
    return;
  }
  const bool they_win =
      a.priority > priority_ || (a.priority == priority_ && ev.source > params_.primary_ip);
  if (they_win) {
    out.emplace_back(CancelAdvertTimer{});
    // Not in the RFC: one last advert at our own priority before yielding. If we were a
    // second Master (a partition just healed), the winner may never have heard us, and
    // neighbours may still hold our MAC from our gratuitous ARP; this advert makes the winner
    // answer and re-announce (see the lower-priority case below). Harmless otherwise: any
    // other Backup just restarts its timer on it.
    out.emplace_back(SendAdvert{priority_});
    if (params_.linger > Duration::zero()) {
      // The preemptor is Master (it holds the VIPs): keep forwarding what still reaches us.
      out.emplace_back(KeepVips{});
      lingering_ = linger_armed_ = true;
      out.emplace_back(ArmLingerTimer{params_.linger});
    } else {
      out.emplace_back(RemoveVips{});
    }
    adopt_interval(out, a);
    become_backup(out, now, describe(a, ev.source) + " preempts us");
    master_ = ev.source;
    return;
  }
  // The RFC discards a losing advert. Answering at once (without moving the advert timer) ends
  // a split brain after one round trip instead of waiting for the next Adver_Timer. Another
  // Master means neighbours may have followed its gratuitous ARP: announce ours again so they
  // come back (keepalived's vrrp_garp_lower_prio_repeat, on by default here). Rate-limited
  // (answer_allowed): a flood of valid lower-priority adverts must not stall the VRRP thread
  // with adverts and gratuitous ARP bursts (#13); the advert timer keeps running.
  if (!answer_allowed(now)) return;
  out.emplace_back(SendAdvert{priority_});
  out.emplace_back(SendGratuitous{});
}

bool Fsm::answer_allowed(TimePoint now) {
  // A token bucket: two answers per Advertisement_Interval, bursts of three. A real peer
  // (one advert per interval, even one we answered while it could not hear us) never runs it
  // dry; a flood gets at most that many answers.
  constexpr double kBurst = 3, kPerInterval = 2;
  if (!tokens_at_) {
    answer_tokens_ = kBurst;
  } else {
    double intervals = std::chrono::duration<double>(now - *tokens_at_) /
                       std::chrono::duration<double>(params_.advert_interval);
    answer_tokens_ = std::min(kBurst, answer_tokens_ + std::max(0.0, intervals) * kPerInterval);
  }
  tokens_at_ = now;
  if (answer_tokens_ < 1) {
    ++answers_suppressed_;
    return false;
  }
  answer_tokens_ -= 1;
  return true;
}

void Fsm::on_master_down(Actions& out, TimePoint now) {
  if (state_ != State::backup) return;  // stale timer
  if (held_ && handover_pending_) {
    held_ = handover_pending_ = false;
    become_master(out, now, "failover aborted: no other router took over within "
                            "Master_Down_Interval");
    std::get<StateChanged>(out.back()).failover_aborted = true;
    return;
  }
  if (held_) {
    // Held: no Master is heard, and we may not become one. Keep watching; a handover's VIPs
    // have nobody to go to, but the operator asked for the hold: they go.
    end_linger(out);
    master_.reset();
    handing_over_.reset();
    out.emplace_back(ArmMasterDownTimer{master_down_interval()});
    return;
  }
  become_master(out, now, "master down timer expired");
}

void Fsm::on_hold(Actions& out, const Hold& h, TimePoint now) {
  if (!h.on) {
    if (!held_) return;
    held_ = handover_pending_ = false;
    // Released: back in the election. A Backup that hears no Master takes over after
    // Master_Down_Interval; one that outranks the Master preempts on its next advert.
    if (state_ == State::backup) out.emplace_back(ArmMasterDownTimer{master_down_interval()});
    return;
  }
  if (held_) {
    if (!h.failover) handover_pending_ = false;  // a plain hold is never aborted
    return;
  }
  held_ = true;
  handing_over_.reset();  // held: it takes nothing over
  if (state_ != State::master) return;  // Initialize, Backup, Fault: it just never becomes Master
  handover_pending_ = h.failover;
  leave_master(out, /*linger=*/true);
  become_backup(out, now, h.failover ? "failover: handing over to another router"
                                     : "held by an operator");
}

// Adverts keep an absolute cadence: the next is due one interval after the last was due,
// not after the timer fired, so a thread that wakes late does not push every later advert
// back (drift). More than an interval behind, the cadence restarts from now (no burst).
void Fsm::on_advert_timer(Actions& out, TimePoint now) {
  if (state_ != State::master) return;  // stale timer
  out.emplace_back(SendAdvert{priority_});
  const Duration late = now - advert_due_;
  timing_.late_max = std::max(timing_.late_max, late);
  if (late > params_.advert_interval) ++timing_.late;
  // (A timer that fires early, which libev does not do, never lengthens the gap either.)
  advert_due_ += params_.advert_interval;
  if (advert_due_ <= now || advert_due_ > now + params_.advert_interval)
    advert_due_ = now + params_.advert_interval;
  out.emplace_back(ArmAdvertTimer{advert_due_ - now});
}

void Fsm::on_fault_on(Actions& out, TimePoint now, const std::string& reason) {
  faulted_ = true;
  fault_reason_ = reason;
  switch (state_) {
    case State::initialize:
    case State::fault:
      return;
    case State::master:
      leave_master(out);
      break;
    case State::backup:
      out.emplace_back(CancelMasterDownTimer{});
      end_linger(out);
      break;
  }
  transition(out, State::fault, now, "fault: " + reason);
}

void Fsm::on_fault_off(Actions& out, TimePoint now) {
  faulted_ = false;
  if (state_ == State::fault) on_startup(out, now, "fault cleared");
}

void Fsm::on_priority_changed(uint8_t priority) {
  const uint8_t top = params_.priority == kPriorityOwner ? kPriorityOwner : kPriorityOwner - 1;
  priority_ = std::clamp<uint8_t>(priority, 1, top);
}

// RFC 5798 6.4.1 / 6.4.2: send an ADVERTISEMENT, gratuitous ARP / unsolicited NA, set the
// Adver_Timer, transition to Master. The advert goes first (the other router stops being
// Master sooner, and it does not wait behind the kernel's address changes); the addresses go
// up before the gratuitous ARP so that what it announces is true.
void Fsm::become_master(Actions& out, TimePoint now, std::string reason) {
  master_.reset();
  if (lingering_) {
    // Still holding them from a handover: AddVips below finds them there.
    lingering_ = linger_armed_ = false;
    out.emplace_back(CancelLingerTimer{});
  }
  out.emplace_back(SendAdvert{priority_});
  out.emplace_back(AddVips{});
  out.emplace_back(SendGratuitous{});
  advert_due_ = now + params_.advert_interval;
  out.emplace_back(ArmAdvertTimer{params_.advert_interval});
  transition(out, State::master, now, std::move(reason));
}

void Fsm::become_backup(Actions& out, TimePoint now, std::string reason) {
  out.emplace_back(ArmMasterDownTimer{master_down_interval()});
  transition(out, State::backup, now, std::move(reason));
}

void Fsm::leave_master(Actions& out, bool linger) {
  out.emplace_back(CancelAdvertTimer{});
  out.emplace_back(SendAdvert{kPriorityStop});
  if (linger && params_.linger > Duration::zero()) {
    out.emplace_back(KeepVips{});
    lingering_ = true;
    linger_armed_ = false;  // armed by the taker's first advert
  } else {
    out.emplace_back(RemoveVips{});
  }
}

void Fsm::end_linger(Actions& out) {
  if (!lingering_) return;
  if (linger_armed_) out.emplace_back(CancelLingerTimer{});
  lingering_ = linger_armed_ = false;
  out.emplace_back(RemoveVips{});
}

void Fsm::transition(Actions& out, State to, TimePoint now, std::string reason) {
  const State from = state_;
  state_ = to;
  last_transition_ = now;
  last_reason_ = reason;
  StateChanged c{from, to, std::move(reason)};
  if (to == State::master) c.taken_from = handing_over_;
  handing_over_.reset();
  out.emplace_back(std::move(c));
}

// RFC 5798: "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT", within
// adopt_interval_ratio of our own interval (see Params). VRRPv2 has no such adoption: Adver Int
// must equal ours, and decode() drops it otherwise.
void Fsm::adopt_interval(Actions& out, const Advert& a) {
  if (params_.version != Version::v3 || a.max_advert_int_cs == 0) return;
  const Duration theirs = kCentisecond * a.max_advert_int_cs;
  if (const uint16_t ratio = params_.adopt_interval_ratio; ratio != 0) {
    const Duration ours = params_.advert_interval;
    if (theirs > ours * ratio) {
      out.emplace_back(IntervalRefused{theirs, IntervalRefusal::too_long});
      return;
    }
    if (theirs * ratio < ours) {
      out.emplace_back(IntervalRefused{theirs, IntervalRefusal::too_short});
      return;
    }
  }
  if (theirs == master_adver_interval_) return;
  out.emplace_back(IntervalAdopted{master_adver_interval_, theirs});
  master_adver_interval_ = theirs;
}

namespace {
std::ostream& print_duration(std::ostream& os, Duration d) {
  return os << std::chrono::duration<double, std::milli>(d).count() << "ms";
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const SendAdvert& a) {
  return os << "SendAdvert{priority=" << static_cast<int>(a.priority) << "}";
}
std::ostream& operator<<(std::ostream& os, const ArmAdvertTimer& a) {
  return print_duration(os << "ArmAdvertTimer{", a.after) << "}";
}
std::ostream& operator<<(std::ostream& os, const ArmMasterDownTimer& a) {
  return print_duration(os << "ArmMasterDownTimer{", a.after) << "}";
}
std::ostream& operator<<(std::ostream& os, const CancelAdvertTimer&) {
  return os << "CancelAdvertTimer";
}
std::ostream& operator<<(std::ostream& os, const CancelMasterDownTimer&) {
  return os << "CancelMasterDownTimer";
}
std::ostream& operator<<(std::ostream& os, const AddVips&) {
  return os << "AddVips";
}
std::ostream& operator<<(std::ostream& os, const RemoveVips&) {
  return os << "RemoveVips";
}
std::ostream& operator<<(std::ostream& os, const KeepVips&) { return os << "KeepVips"; }
std::ostream& operator<<(std::ostream& os, const ArmLingerTimer& a) {
  return print_duration(os << "ArmLingerTimer{", a.after) << "}";
}
std::ostream& operator<<(std::ostream& os, const CancelLingerTimer&) {
  return os << "CancelLingerTimer";
}
std::ostream& operator<<(std::ostream& os, const SendGratuitous&) {
  return os << "SendGratuitous";
}
std::ostream& operator<<(std::ostream& os, const IntervalAdopted& a) {
  print_duration(os << "IntervalAdopted{", a.from) << "->";
  return print_duration(os, a.to) << "}";
}
std::ostream& operator<<(std::ostream& os, const IntervalRefused& a) {
  return print_duration(os << "IntervalRefused{", a.advertised) << ", " << to_string(a.reason)
                                                                 << "}";
}
std::ostream& operator<<(std::ostream& os, const StateChanged& a) {
  os << "StateChanged{" << a.from << "->" << a.to << ", " << a.reason;
  if (a.taken_from) os << ", from " << a.taken_from->str();
  return os << "}";
}
std::ostream& operator<<(std::ostream& os, const Action& a) {
  std::visit([&](const auto& x) { os << x; }, a);
  return os;
}

}  // namespace hd::vrrp
