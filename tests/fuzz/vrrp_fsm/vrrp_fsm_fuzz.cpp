// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for vrrp::Fsm: random sequences of events, with the timers simulated the way
// Instance carries out the actions (one-shot, re-armed by Arm*, stopped by Cancel*, fired at
// their deadline), and the state machine's invariants checked after every step (abort() on a
// breach, so libFuzzer keeps the reproducer):
//   - the state is one of the four, and StateChanged tells every change (from = the old state);
//   - MASTER: the advert timer runs, the master down timer does not; BACKUP: the master down
//     timer runs, the advert timer does not; INITIALIZE and FAULT: neither runs;
//   - AddVips only when entering MASTER, RemoveVips only when leaving it or when a linger
//     ends, KeepVips only when leaving MASTER (never twice in a row), so the VIPs are held
//     exactly while MASTER or lingering (Params::linger; lingering only in BACKUP, its timer
//     armed only while lingering); gratuitous ARP only as MASTER;
//   - adverts only from a MASTER (priority 0 only when leaving it), at the effective priority;
//   - a master down timer firing in BACKUP makes it MASTER; a timer firing in a state that does
//     not run it, our own advert looped back, another VRID or version: no actions;
//   - after Shutdown, nothing but Startup brings any action (checked at the end of every input
//     with each event kind);
//   - armed durations are positive and bounded; the effective priority stays 1..254 (255 only
//     for the address owner).
// Input: 4 header bytes, then operations (each an opcode byte and its operands; missing bytes
// read as 0):
//   h0: bit 0 version 3 (else 2), bit 1 IPv6 (v3 only), bit 2 preempt,
//       bits 3-4 preempt_delay {0, 1 s, 5 s, 30 s}, bits 5-7 adopt_interval_ratio
//       {10, 0, 1, 2, 3, 10, 100, 65535}
//   h1: priority (0 -> 1)     h2 h3: advert interval (v2: 1 + h2 % 255 s; v3: 1 + u16 % 4095 cs)
//   h4: bits 0-1 linger {0, 1 s, 3 s, 60 s}
//   op % 10: 0 Startup, 1 Shutdown,
//           2 advert: priority, source (% 4: ours, lower, higher, 10.0.0.x / fe80::x with x
//             the next byte), Max Adver Int (2 bytes, 12 bits; v3), flags (bit 0 other VRID,
//             bit 1 other version),
//           3 fire the earliest running timer at its deadline,
//           4 advance the clock by a 2-byte count of milliseconds, firing due timers,
//           5 FaultOn, 6 FaultOff, 7 PriorityChanged (1 byte),
//           8 fire a timer that is not running (byte: bit 1 linger, else bit 0 master down,
//             else advert),
//           9 Hold (byte: bit 0 on, else release; bit 1 failover).
//   A held instance is never MASTER (a failover that nobody took lifts the hold first).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <variant>

#include "vrrp/fsm.h"

namespace {

using namespace hd;
using namespace hd::vrrp;
using std::chrono::milliseconds;
using std::chrono::seconds;

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "vrrp_fsm_fuzz: invariant broken at line %d: %s\n", line, what);
  std::abort();
}
#define check(ok) ((ok) ? void() : fail(#ok, __LINE__))

// HD_FUZZ_TRACE=1: print every event and its actions (to read a reproducer).
bool trace() {
  static const bool on = std::getenv("HD_FUZZ_TRACE") != nullptr;
  return on;
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  uint8_t byte() { return p_ == end_ ? 0 : *p_++; }
  uint16_t u16() {
    uint16_t hi = byte();
    return static_cast<uint16_t>(hi << 8 | byte());
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

struct SimTimer {
  bool armed = false;
  TimePoint deadline{};
};

class Harness {
 public:
  explicit Harness(const Params& p) : fsm_(p), params_(p) {
    check(fsm_.state() == State::initialize);
  }

  // stale: a timer event for a timer that is not running.
  void feed(const Event& ev, bool stale = false) {
    const State before = fsm_.state();
    check(before == tracked_);
    const bool held_before = fsm_.held();
    lingering_before_ = fsm_.lingering();
    Actions out = fsm_.handle(ev, now_);
    if (trace()) {
      std::fprintf(stderr, "  event %zu in %s:", ev.index(),
                   std::string(to_string(before)).c_str());
      for (auto& a : out) {
        std::ostringstream os;
        os << a;
        std::fprintf(stderr, " %s", os.str().c_str());
      }
      std::fprintf(stderr, "\n");
    }
    apply(ev, before, out);

    // Event-specific rules.
    if (before == State::initialize && !std::holds_alternative<Startup>(ev))
      check(out.empty());  // nothing happens after Shutdown (or before Startup) but Startup
    if (std::holds_alternative<Startup>(ev) && before != State::initialize) check(out.empty());
    if (stale) check(out.empty());
    if (std::holds_alternative<MasterDownTimerFired>(ev) && !stale && before == State::backup) {
      // Held: stays Backup, unless a failover nobody took is aborted (the hold lifted).
      if (held_before)
        check(fsm_.state() == State::backup ? fsm_.held() : !fsm_.held());
      else
        check(fsm_.state() == State::master);
    }
    if (std::holds_alternative<Shutdown>(ev)) check(fsm_.state() == State::initialize);
  }

  // Fires the running timer with the earliest deadline, if any is due by `limit`.
  bool fire_due(TimePoint limit) {
    SimTimer* t = nullptr;
    if (advert_.armed && advert_.deadline <= limit) t = &advert_;
    if (down_.armed && down_.deadline <= limit && (!t || down_.deadline < t->deadline)) t = &down_;
    if (linger_.armed && linger_.deadline <= limit && (!t || linger_.deadline < t->deadline))
      t = &linger_;
    if (!t) return false;
    now_ = std::max(now_, t->deadline);
    t->armed = false;  // one-shot: it fired
    if (t == &advert_)
      feed(AdvertTimerFired{});
    else if (t == &down_)
      feed(MasterDownTimerFired{});
    else
      feed(LingerTimerFired{});
    return true;
  }
  void fire_next() {
    TimePoint far = TimePoint::max();
    fire_due(far);
  }
  void advance(Duration d) {
    const TimePoint target = now_ + d;
    // Bounded work per step: a 10 ms advert timer over a minute would be 6000 fires. Timers
    // still due stay due and fire (late) on a later step.
    for (int i = 0; i < 64 && fire_due(target); ++i) {
    }
    now_ = std::max(now_, target);
  }
  void stale_fire(uint8_t which) {
    if (which & 2) {
      if (!linger_.armed) feed(LingerTimerFired{}, true);
      return;
    }
    const bool master_down = which & 1;
    if (master_down && !down_.armed) feed(MasterDownTimerFired{}, true);
    if (!master_down && !advert_.armed) feed(AdvertTimerFired{}, true);
  }

  void advert(uint8_t priority, const IpAddress& source, uint16_t max_advert_int_cs,
              uint8_t flags) {
    AdvertReceived ev;
    ev.advert.version = params_.version;
    ev.advert.vrid = params_.vrid;
    ev.advert.priority = priority;
    ev.advert.max_advert_int_cs = static_cast<uint16_t>(max_advert_int_cs & 0x0fff);
    ev.advert.advert_int_s =
        static_cast<uint8_t>(std::chrono::duration_cast<seconds>(params_.advert_interval).count());
    ev.source = source;
    const bool foreign = (flags & 3) != 0 || source == params_.primary_ip;
    if (flags & 1) ev.advert.vrid = static_cast<uint8_t>(params_.vrid + 1);
    if (flags & 2) ev.advert.version = params_.version == Version::v3 ? Version::v2 : Version::v3;
    const State before = fsm_.state();
    const size_t changes = state_changes_;
    feed(ev);
    if (foreign) check(fsm_.state() == before && state_changes_ == changes && last_empty_);
  }

  // Shutdown, then every event but Startup: none may do anything.
  void finish() {
    feed(Shutdown{});
    check(!advert_.armed && !down_.armed && !linger_.armed && !vips_ && !fsm_.lingering());
    IpAddress other =
        params_.primary_ip.is_v4() ? IpAddress::of(10, 0, 0, 200) : *IpAddress::parse("fe80::200");
    feed(Shutdown{});
    AdvertReceived a;
    a.advert.version = params_.version;
    a.advert.vrid = params_.vrid;
    a.advert.priority = 255;
    a.source = other;
    feed(a);
    a.advert.priority = 0;
    feed(a);
    feed(MasterDownTimerFired{}, true);
    feed(AdvertTimerFired{}, true);
    feed(LingerTimerFired{}, true);
    feed(Hold{true, true});
    feed(FaultOn{"fuzz"});
    feed(FaultOff{});
    feed(PriorityChanged{200});
    check(fsm_.state() == State::initialize);
  }

  Fsm& fsm() { return fsm_; }

 private:
  void apply(const Event& ev, State before, const Actions& out) {
    last_empty_ = out.empty();
    int changes = 0;
    bool added = false, removed = false, kept = false, sent_zero = false;
    State state = before;
    for (const Action& a : out) {
      if (auto* x = std::get_if<ArmAdvertTimer>(&a)) {
        check(x->after > Duration::zero() && x->after <= max_interval());
        advert_ = {true, now_ + x->after};
      } else if (auto* y = std::get_if<ArmMasterDownTimer>(&a)) {
        check(y->after > Duration::zero() && y->after <= 4 * max_interval());
        down_ = {true, now_ + y->after};
      } else if (std::holds_alternative<CancelAdvertTimer>(a)) {
        advert_.armed = false;
      } else if (std::holds_alternative<CancelMasterDownTimer>(a)) {
        down_.armed = false;
      } else if (auto* l = std::get_if<ArmLingerTimer>(&a)) {
        check(l->after == params_.linger && l->after > Duration::zero());
        linger_ = {true, now_ + l->after};
      } else if (std::holds_alternative<CancelLingerTimer>(a)) {
        linger_.armed = false;
      } else if (std::holds_alternative<AddVips>(a)) {
        check(!vips_ || lingering_before_);  // never added twice (a linger still holds them)
        vips_ = true;
        added = true;
      } else if (std::holds_alternative<RemoveVips>(a)) {
        check(vips_);  // never removed when not held
        vips_ = false;
        removed = true;
      } else if (std::holds_alternative<KeepVips>(a)) {
        check(vips_ && before == State::master && params_.linger > Duration::zero());
        kept = true;
      } else if (auto* s = std::get_if<SendAdvert>(&a)) {
        if (s->priority == kPriorityStop)
          sent_zero = true;
        else
          check(s->priority == fsm_.effective_priority());
      } else if (auto* c = std::get_if<StateChanged>(&a)) {
        check(static_cast<uint8_t>(c->to) <= static_cast<uint8_t>(State::fault));
        check(c->from == state && c->to != c->from);
        state = c->to;
        ++changes;
      } else if (std::holds_alternative<IntervalAdopted>(a) ||
                 std::holds_alternative<IntervalRefused>(a)) {
        check(params_.version == Version::v3 && std::holds_alternative<AdvertReceived>(ev));
        if (auto* i = std::get_if<IntervalAdopted>(&a)) {
          check(i->to == fsm_.master_adver_interval() && i->from != i->to);
          if (params_.adopt_interval_ratio != 0)
            check(i->to <= params_.advert_interval * params_.adopt_interval_ratio &&
                  i->to * params_.adopt_interval_ratio >= params_.advert_interval);
        }
      }
    }
    const State after = fsm_.state();
    check(static_cast<uint8_t>(after) <= static_cast<uint8_t>(State::fault));
    check(changes <= 1);
    check(state == after);  // every change was told
    state_changes_ += static_cast<size_t>(changes);
    tracked_ = after;

    // VIPs: held exactly while MASTER or lingering, added on entering MASTER, removed on
    // leaving it or when the linger ends, kept only when leaving MASTER.
    const bool lingering = fsm_.lingering();
    check(vips_ == (after == State::master || lingering));
    if (lingering) check(after == State::backup && params_.linger > Duration::zero());
    if (linger_.armed) check(lingering);
    if (added) check(before != State::master && after == State::master);
    if (removed)
      check((before == State::master && after != State::master) ||
            (lingering_before_ && !lingering));
    if (kept) check(lingering && !removed);
    // Adverts only from a MASTER; priority 0 only when it leaves.
    const bool sends = std::any_of(out.begin(), out.end(), [](const Action& a) {
      return std::holds_alternative<SendAdvert>(a);
    });
    if (sends) check(before == State::master || after == State::master);
    if (sent_zero) check(before == State::master && after != State::master);
    const bool garp = std::any_of(out.begin(), out.end(), [](const Action& a) {
      return std::holds_alternative<SendGratuitous>(a);
    });
    if (garp) check(after == State::master);

    // Timers.
    switch (after) {
      case State::master:
        check(advert_.armed && !down_.armed);
        break;
      case State::backup:
        check(down_.armed && !advert_.armed);
        break;
      case State::initialize:
      case State::fault:
        check(!advert_.armed && !down_.armed);
        break;
    }

    if (fsm_.held()) check(after != State::master);

    const uint8_t prio = fsm_.effective_priority();
    check(prio >= 1 && (prio < kPriorityOwner || params_.priority == kPriorityOwner));
    check(fsm_.master_down_interval() > Duration::zero());
  }

  Duration max_interval() const {
    Duration longest =
        params_.version == Version::v2 ? Duration(seconds(255)) : Duration(milliseconds(10) * 4095);
    return std::max(longest, params_.advert_interval);
  }

  Fsm fsm_;
  Params params_;
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
  SimTimer advert_, down_, linger_;
  bool lingering_before_ = false;
  bool vips_ = false;
  bool last_empty_ = true;
  size_t state_changes_ = 0;
  State tracked_ = State::initialize;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const uint8_t h0 = in.byte();
  Params p;
  p.version = (h0 & 1) ? Version::v3 : Version::v2;
  const bool v6 = p.version == Version::v3 && (h0 & 2);
  p.preempt = (h0 & 4) != 0;
  static constexpr Duration kDelays[] = {Duration::zero(), seconds(1), seconds(5), seconds(30)};
  p.preempt_delay = kDelays[(h0 >> 3) & 3];
  static constexpr uint16_t kRatios[] = {10, 0, 1, 2, 3, 10, 100, 65535};
  p.adopt_interval_ratio = kRatios[h0 >> 5];
  p.priority = std::max<uint8_t>(in.byte(), 1);
  const uint16_t interval = in.u16();
  p.advert_interval = p.version == Version::v2 ? Duration(seconds(1 + (interval >> 8) % 255))
                                               : Duration(milliseconds(10) * (1 + interval % 4095));
  static constexpr Duration kLingers[] = {Duration::zero(), seconds(1), seconds(3), seconds(60)};
  p.linger = kLingers[in.byte() & 3];
  p.primary_ip = v6 ? *IpAddress::parse("fe80::10") : IpAddress::of(10, 0, 0, 10);
  check(!validate(p));
  const IpAddress lower = v6 ? *IpAddress::parse("fe80::5") : IpAddress::of(10, 0, 0, 5);
  const IpAddress higher = v6 ? *IpAddress::parse("fe80::20") : IpAddress::of(10, 0, 0, 20);

  Harness h(p);
  for (int ops = 0; !in.empty() && ops < 4096; ++ops) {
    switch (in.byte() % 10) {
      case 0:
        h.feed(Startup{});
        break;
      case 1:
        h.feed(Shutdown{});
        break;
      case 2: {
        const uint8_t prio = in.byte();
        const uint8_t which = in.byte();
        IpAddress source = p.primary_ip;
        switch (which % 4) {
          case 0:
            break;
          case 1:
            source = lower;
            break;
          case 2:
            source = higher;
            break;
          default: {
            const uint8_t x = in.byte();
            if (v6) {
              auto bytes = p.primary_ip.bytes();
              std::array<uint8_t, 16> b{};
              std::copy(bytes.begin(), bytes.end(), b.begin());
              b[15] = x;
              source = *IpAddress::from_bytes(Family::v6, b);
            } else {
              source = IpAddress::of(10, 0, 0, x);
            }
          }
        }
        const uint16_t cs = in.u16();
        h.advert(prio, source, cs, in.byte());
        break;
      }
      case 3:
        h.fire_next();
        break;
      case 4:
        h.advance(milliseconds(in.u16()));
        break;
      case 5:
        h.feed(FaultOn{"fuzz"});
        break;
      case 6:
        h.feed(FaultOff{});
        break;
      case 7:
        h.feed(PriorityChanged{in.byte()});
        break;
      case 8:
        h.stale_fire(in.byte());
        break;
      case 9: {
        const uint8_t b = in.byte();
        h.feed(Hold{static_cast<bool>(b & 1), static_cast<bool>(b & 2)});
        break;
      }
    }
  }
  h.finish();
  return 0;
}
