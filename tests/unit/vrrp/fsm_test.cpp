// SPDX-License-Identifier: GPL-2.0-or-later
// State machine tests, each from a sentence of RFC 3768 / RFC 5798 section 6 (quoted or
// paraphrased above the test). Time only moves when a test says so.
#include "vrrp/fsm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <sstream>

namespace hd::vrrp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::_;
using ::testing::Contains;
using ::testing::Not;

IpAddress ip(std::string_view s) {
  return *IpAddress::parse(s);
}

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

Params params(uint8_t priority = 100, Version v = Version::v3) {
  Params p;
  p.version = v;
  p.vrid = 1;
  p.priority = priority;
  p.advert_interval = seconds(1);
  p.preempt = true;
  p.primary_ip = ip("10.0.0.2");
  p.linger = Duration::zero();  // the RFC's behaviour; the linger has its own tests below
  return p;
}

Params lingering(Duration linger = seconds(3)) {
  Params p = params();
  p.linger = linger;
  return p;
}

AdvertReceived advert(uint8_t priority, std::string_view from = "10.0.0.9",
                      uint16_t interval_cs = 100, Version v = Version::v3) {
  Advert a;
  a.version = v;
  a.vrid = 1;
  a.priority = priority;
  a.max_advert_int_cs = interval_cs;
  a.addresses = {ip("10.0.0.100")};
  return AdvertReceived{a, ip(from)};
}

// Matches a StateChanged action by its states, whatever the reason text.
MATCHER_P2(Changed, from, to, "") {
  const auto* c = std::get_if<StateChanged>(&arg);
  return c != nullptr && c->from == from && c->to == to;
}
// A StateChanged to MASTER from a live Master (taken_from).
MATCHER_P(TookOverFrom, address, "") {
  const auto* c = std::get_if<StateChanged>(&arg);
  return c != nullptr && c->to == State::master && c->taken_from == address;
}

// Durations in exact nanoseconds: (256 - 100) / 256 s = 0.609375 s.
constexpr Duration kSkew100 = milliseconds(609) + std::chrono::microseconds(375);
constexpr Duration kDown100 = seconds(3) + kSkew100;

class FsmTest : public ::testing::Test {
 protected:
  Fsm backup(Params p = params()) {
    Fsm f(p);
    f.handle(Startup{}, kT0);
    EXPECT_EQ(f.state(), State::backup);
    return f;
  }
  Fsm master(Params p = params()) {
    Fsm f = backup(p);
    f.handle(MasterDownTimerFired{}, kT0 + f.master_down_interval());
    EXPECT_EQ(f.state(), State::master);
    return f;
  }
};

// RFC 5798 6.4.1: "If the Priority = 255 (i.e., the router owns the IPvX address(es) associated
// with the virtual router), then: Send an ADVERTISEMENT; broadcast a gratuitous ARP request /
// send unsolicited ND NA; set the Adver_Timer to Advertisement_Interval; transition to Master".
TEST_F(FsmTest, StartupAsOwnerBecomesMasterAtOnce) {
  Fsm f(params(255));
  EXPECT_EQ(f.state(), State::initialize);
  EXPECT_THAT(f.handle(Startup{}, kT0),
              ElementsAre(SendAdvert{255}, AddVips{}, SendGratuitous{}, ArmAdvertTimer{seconds(1)},
                          Changed(State::initialize, State::master)));
  EXPECT_EQ(f.state(), State::master);
  EXPECT_EQ(f.master_address(), ip("10.0.0.2"));
  EXPECT_EQ(f.last_transition_time(), kT0);
  EXPECT_THAT(f.last_transition_reason(), ::testing::HasSubstr("owner"));
}

// RFC 5798 6.4.1: "else: Set Master_Adver_Interval to Advertisement_Interval; Set the
// Master_Down_Timer to Master_Down_Interval; Transition to the {Backup} state".
TEST_F(FsmTest, StartupBelowOwnerBecomesBackup) {
  Fsm f(params(100));
  EXPECT_THAT(f.handle(Startup{}, kT0),
              ElementsAre(ArmMasterDownTimer{kDown100}, Changed(State::initialize, State::backup)));
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_EQ(f.master_adver_interval(), seconds(1));
  EXPECT_EQ(f.master_address(), std::nullopt);  // not known until an advert arrives
  EXPECT_EQ(f.last_transition_reason(), "startup");
}

// RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 seconds; Master_Down_Interval =
// 3 * Advertisement_Interval + Skew_Time. RFC 5798 6.1: Skew_Time = ((256 - Priority) *
// Master_Adver_Interval) / 256; Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
TEST_F(FsmTest, TimerFormulas) {
  struct Case {
    Version version;
    uint8_t priority;
    Duration interval;
    Duration skew;
    Duration down;
  };
  const Case cases[] = {
      {Version::v2, 100, seconds(1), kSkew100, kDown100},
      // v2: the skew does not scale with the interval.
      {Version::v2, 100, seconds(2), kSkew100, seconds(6) + kSkew100},
      {Version::v2, 254, seconds(1),
       milliseconds(7) + std::chrono::microseconds(812) + std::chrono::nanoseconds(500),
       seconds(3) + milliseconds(7) + std::chrono::microseconds(812) +
           std::chrono::nanoseconds(500)},
      {Version::v2, 1, seconds(1),
       milliseconds(996) + std::chrono::microseconds(93) + std::chrono::nanoseconds(750),
       seconds(3) + milliseconds(996) + std::chrono::microseconds(93) +
           std::chrono::nanoseconds(750)},
      {Version::v3, 100, seconds(1), kSkew100, kDown100},
      // v3: the skew scales with Master_Adver_Interval.
      {Version::v3, 100, seconds(2), 2 * kSkew100, seconds(6) + 2 * kSkew100},
      {Version::v3, 200, milliseconds(100), std::chrono::microseconds(21875),
       milliseconds(300) + std::chrono::microseconds(21875)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "v" << static_cast<int>(c.version) << " prio " << static_cast<int>(c.priority));
    Params p = params(c.priority, c.version);
    p.advert_interval = c.interval;
    Fsm f = backup(p);
    EXPECT_EQ(f.skew_time(), c.skew);
    EXPECT_EQ(f.master_down_interval(), c.down);
  }
}

// Higher priority => shorter skew => "the highest priority Backup will transition to Master
// first" (RFC 5798 6.1, Skew_Time).
TEST_F(FsmTest, HigherPriorityHasShorterMasterDownInterval) {
  Duration previous = Duration::max();
  for (int prio = 1; prio <= 254; ++prio) {
    Fsm f(params(static_cast<uint8_t>(prio)));
    EXPECT_LT(f.master_down_interval(), previous) << prio;
    previous = f.master_down_interval();
  }
}

// RFC 5798 6.4.2: "If the Master_Down_Timer fires, then: Send an ADVERTISEMENT; broadcast a
// gratuitous ARP / send unsolicited ND NA; Set the Adver_Timer to Advertisement_Interval;
// Transition to the {Master} state".
TEST_F(FsmTest, BackupBecomesMasterWhenMasterDownTimerFires) {
  Fsm f = backup();
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, kT0 + kDown100),
              ElementsAre(SendAdvert{100}, AddVips{}, SendGratuitous{}, ArmAdvertTimer{seconds(1)},
                          Changed(State::backup, State::master)));
  EXPECT_EQ(f.last_transition_reason(), "master down timer expired");
  EXPECT_EQ(f.master_address(), ip("10.0.0.2"));
}

// RFC 5798 6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
// Master_Down_Timer to Skew_Time".
TEST_F(FsmTest, BackupHearingPriorityZeroWaitsOnlySkewTime) {
  Fsm f = backup();
  f.handle(advert(200), kT0);
  EXPECT_EQ(f.followed(), ip("10.0.0.9"));
  EXPECT_THAT(f.handle(advert(0), kT0 + seconds(1)), ElementsAre(ArmMasterDownTimer{kSkew100}));
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_EQ(f.master_address(), std::nullopt);
  // The Master is alive and hands over: still followed, and named when we take over (its
  // linger: the handover forwarding).
  EXPECT_EQ(f.followed(), ip("10.0.0.9"));
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, kT0 + seconds(1) + kSkew100),
              Contains(TookOverFrom(std::optional<IpAddress>(ip("10.0.0.9")))));
}

// A Master that just stops advertising is dead as far as anyone knows: no takeover ahead,
// nothing taken over from.
TEST_F(FsmTest, ATakeoverFromADeadMasterNamesNoOldMaster) {
  Fsm f = backup();
  f.handle(advert(200), kT0);
  EXPECT_EQ(f.followed(), ip("10.0.0.9"));
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, kT0 + kDown100),
              Contains(TookOverFrom(std::optional<IpAddress>())));
  EXPECT_EQ(f.followed(), std::nullopt) << "a Master follows nobody";
  // Nor after a handover that someone else took: the one we then follow died.
  Fsm g = backup();
  g.handle(advert(0, "10.0.0.9"), kT0);
  g.handle(advert(200, "10.0.0.7"), kT0 + milliseconds(100));
  EXPECT_THAT(g.handle(MasterDownTimerFired{}, kT0 + milliseconds(100) + kDown100),
              Contains(TookOverFrom(std::optional<IpAddress>())));
  // A held Backup takes nothing over: a Master that leaves is no longer followed.
  Fsm h = backup();
  h.handle(Hold{true, false}, kT0);
  h.handle(advert(200, "10.0.0.9"), kT0);
  EXPECT_EQ(h.followed(), ip("10.0.0.9"));
  h.handle(advert(0, "10.0.0.9"), kT0);
  EXPECT_EQ(h.followed(), std::nullopt);
  // Held between a handover's priority 0 and the takeover: that Master is forgotten, so a
  // release much later names nobody.
  Fsm k = backup();
  k.handle(advert(0, "10.0.0.9"), kT0);
  EXPECT_EQ(k.followed(), ip("10.0.0.9"));
  k.handle(Hold{true, false}, kT0 + milliseconds(10));
  EXPECT_EQ(k.followed(), std::nullopt);
  k.handle(Hold{false, false}, kT0 + seconds(60));
  EXPECT_THAT(k.handle(MasterDownTimerFired{}, kT0 + seconds(60) + kDown100),
              Contains(TookOverFrom(std::optional<IpAddress>())));
}

// RFC 5798 6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater
// than or equal to the local Priority, then: Set Master_Adver_Interval to Adver Interval
// contained in the ADVERTISEMENT; Recompute the Master_Down_Interval; Reset the
// Master_Down_Timer to Master_Down_Interval".
TEST_F(FsmTest, BackupAcceptsHigherOrEqualPriority) {
  for (uint8_t prio : {uint8_t{100}, uint8_t{101}, uint8_t{255}}) {
    Fsm f = backup();
    EXPECT_THAT(f.handle(advert(prio, "10.0.0.1"), kT0 + seconds(1)),
                ElementsAre(ArmMasterDownTimer{kDown100}))
        << int{prio};
    EXPECT_EQ(f.state(), State::backup);
    EXPECT_EQ(f.master_address(), ip("10.0.0.1"));
  }
}

TEST_F(FsmTest, BackupWithoutPreemptAcceptsLowerPriority) {
  Params p = params();
  p.preempt = false;
  Fsm f = backup(p);
  EXPECT_THAT(f.handle(advert(50), kT0 + seconds(1)), ElementsAre(ArmMasterDownTimer{kDown100}));
  EXPECT_EQ(f.master_address(), ip("10.0.0.9"));
}

// RFC 5798 6.4.2: "else (Priority in the ADVERTISEMENT is less than the local Priority and
// Preempt_Mode is True): Discard the ADVERTISEMENT" - and the timer runs out.
TEST_F(FsmTest, BackupWithPreemptDiscardsLowerPriorityAndTakesOver) {
  Fsm f = backup();
  EXPECT_THAT(f.handle(advert(50), kT0 + seconds(1)), IsEmpty());
  EXPECT_THAT(f.handle(advert(99), kT0 + seconds(2)), IsEmpty());
  // The Master we are about to preempt is alive (it will linger): followed, and named.
  EXPECT_EQ(f.followed(), ip("10.0.0.9"));
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, kT0 + kDown100),
              Contains(TookOverFrom(std::optional<IpAddress>(ip("10.0.0.9")))));
  EXPECT_EQ(f.state(), State::master);
}

// RFC 5798 6.4.2: "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT;
// Recompute the Master_Down_Interval".
TEST_F(FsmTest, V3BackupAdoptsTheMastersInterval) {
  Fsm f = backup();
  const Duration skew_half = kSkew100 / 2;  // (256-100) * 0.5 s / 256
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 50), kT0),
              ElementsAre(IntervalAdopted{seconds(1), milliseconds(500)},
                          ArmMasterDownTimer{milliseconds(1500) + skew_half}));
  // The same interval again is no news.
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 50), kT0 + milliseconds(500)),
              ElementsAre(ArmMasterDownTimer{milliseconds(1500) + skew_half}));
  EXPECT_EQ(f.master_adver_interval(), milliseconds(500));
  EXPECT_EQ(f.skew_time(), skew_half);
  // A discarded advert does not change it.
  f.handle(advert(10, "10.0.0.9", 300), kT0 + seconds(1));
  EXPECT_EQ(f.master_adver_interval(), milliseconds(500));
  // Priority 0: Skew_Time with the adopted interval.
  EXPECT_THAT(f.handle(advert(0, "10.0.0.9", 50), kT0 + seconds(2)),
              ElementsAre(ArmMasterDownTimer{skew_half}));
}

// Not in the RFC (#13): any on-link host can send an advert, so a Backup adopts the Master's
// Max Adver Int only within adopt_interval_ratio (default 10) of its own interval, both ways.
// A claimed 40.95 s would otherwise make the next failover take two minutes.
// The advert itself is still accepted (it restarts the master down timer, with the interval
// kept): dropping it would turn a misconfigured but real Master into a second Master at once.
TEST_F(FsmTest, V3BackupAdoptsOnlyAnIntervalWithinTheBound) {
  Fsm f = backup();  // 1 s
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 4095), kT0),
              ElementsAre(IntervalRefused{milliseconds(40950), IntervalRefusal::too_long},
                          ArmMasterDownTimer{kDown100}));
  EXPECT_EQ(f.master_adver_interval(), seconds(1));
  EXPECT_EQ(f.master_down_interval(), kDown100);
  EXPECT_EQ(f.master_address(), ip("10.0.0.9"));

  // The bounds themselves are inside: 1 s / 10 and 1 s * 10.
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 10), kT0),
              ElementsAre(IntervalAdopted{seconds(1), milliseconds(100)}, ::testing::_));
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 1000), kT0),
              ElementsAre(IntervalAdopted{milliseconds(100), seconds(10)}, ::testing::_));
  // Outside, the adopted value stays (not reset to our own).
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 1001), kT0),
              ElementsAre(IntervalRefused{milliseconds(10010), IntervalRefusal::too_long},
                          ArmMasterDownTimer{seconds(30) + 10 * kSkew100}));
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9", 9), kT0),
              ElementsAre(IntervalRefused{milliseconds(90), IntervalRefusal::too_short},
                          ::testing::_));
  EXPECT_EQ(f.master_adver_interval(), seconds(10));

  // A Master stepping down bounds it the same way.
  Fsm m = master();
  EXPECT_THAT(m.handle(advert(150, "10.0.0.1", 4095), kT0 + seconds(5)),
              ElementsAre(CancelAdvertTimer{}, SendAdvert{100}, RemoveVips{},
                          IntervalRefused{milliseconds(40950), IntervalRefusal::too_long},
                          ArmMasterDownTimer{kDown100}, Changed(State::master, State::backup)));
  EXPECT_EQ(m.master_adver_interval(), seconds(1));
}

// adopt_interval_ratio = 0 is the RFC: any interval is adopted; 1 adopts only our own.
TEST_F(FsmTest, AdoptIntervalRatioZeroIsUnbounded) {
  Params p = params();
  p.adopt_interval_ratio = 0;
  Fsm f = backup(p);
  f.handle(advert(200, "10.0.0.9", 4095), kT0);
  EXPECT_EQ(f.master_adver_interval(), milliseconds(40950));

  p.adopt_interval_ratio = 1;
  Fsm g = backup(p);
  EXPECT_THAT(g.handle(advert(200, "10.0.0.9", 99), kT0),
              ElementsAre(IntervalRefused{milliseconds(990), IntervalRefusal::too_short},
                          ArmMasterDownTimer{kDown100}));
  EXPECT_THAT(g.handle(advert(200, "10.0.0.9", 100), kT0), ElementsAre(ArmMasterDownTimer{kDown100}));
}

// RFC 3768 has no Master_Adver_Interval: Master_Down_Interval uses the local
// Advertisement_Interval (a different Adver Int is dropped by decode).
TEST_F(FsmTest, V2BackupKeepsItsOwnInterval) {
  Fsm f = backup(params(100, Version::v2));
  Advert a = advert(200, "10.0.0.9", 0, Version::v2).advert;
  a.advert_int_s = 1;
  EXPECT_THAT(f.handle(AdvertReceived{a, ip("10.0.0.9")}, kT0),
              ElementsAre(ArmMasterDownTimer{kDown100}));
  EXPECT_EQ(f.master_adver_interval(), seconds(1));
}

// Our choice (keepalived's preempt_delay): after Startup, a Backup that would preempt a
// lower-priority master keeps treating its adverts as valid until preempt_delay has passed;
// after that they are discarded and the master down timer runs out as usual.
TEST_F(FsmTest, PreemptDelayHoldsOffPreemptionAfterStartup) {
  Params p = params();
  p.preempt_delay = seconds(10);
  Fsm f = backup(p);
  EXPECT_EQ(f.preempt_allowed_at(), kT0 + seconds(10));
  for (int s = 1; s < 10; ++s) {
    EXPECT_THAT(f.handle(advert(50), kT0 + seconds(s)), ElementsAre(ArmMasterDownTimer{kDown100}))
        << s;
  }
  EXPECT_EQ(f.master_address(), ip("10.0.0.9"));
  EXPECT_THAT(f.handle(advert(50), kT0 + seconds(10)), IsEmpty());
  f.handle(MasterDownTimerFired{}, kT0 + seconds(9) + kDown100);
  EXPECT_EQ(f.state(), State::master);
}

TEST_F(FsmTest, PreemptDelayRestartsWhenAFaultClears) {
  Params p = params();
  p.preempt_delay = seconds(10);
  Fsm f = backup(p);
  f.handle(FaultOn{"link down"}, kT0 + seconds(20));
  f.handle(FaultOff{}, kT0 + seconds(30));
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_EQ(f.preempt_allowed_at(), kT0 + seconds(40));
  EXPECT_THAT(f.handle(advert(50), kT0 + seconds(35)), ElementsAre(ArmMasterDownTimer{kDown100}));
}

// RFC 5798 6.4.1: the owner becomes Master on Startup at once; preempt_delay does not apply.
TEST_F(FsmTest, PreemptDelayDoesNotDelayTheOwner) {
  Params p = params(255);
  p.preempt_delay = seconds(10);
  Fsm f(p);
  f.handle(Startup{}, kT0);
  EXPECT_EQ(f.state(), State::master);
}

// RFC 5798 6.4.3: "If the Adver_Timer fires, then: Send an ADVERTISEMENT; Reset the
// Adver_Timer to Advertisement_Interval".
TEST_F(FsmTest, MasterAdvertisesOnItsTimer) {
  Fsm f = master();
  const TimePoint became = kT0 + f.master_down_interval();
  EXPECT_THAT(f.handle(AdvertTimerFired{}, became + seconds(1)),
              ElementsAre(SendAdvert{100}, ArmAdvertTimer{seconds(1)}));
}

// #20: the advert cadence is absolute. A timer that fires 30 ms late arms the next one 30 ms
// sooner (no drift); one more than an interval late restarts the cadence (no burst).
TEST_F(FsmTest, AdvertsKeepTheirCadenceWhenTheTimerFiresLate) {
  Fsm f = master();
  const TimePoint became = kT0 + f.master_down_interval();
  EXPECT_THAT(f.handle(AdvertTimerFired{}, became + milliseconds(1030)),
              ElementsAre(SendAdvert{100}, ArmAdvertTimer{milliseconds(970)}));
  EXPECT_THAT(f.handle(AdvertTimerFired{}, became + milliseconds(2000)),
              ElementsAre(SendAdvert{100}, ArmAdvertTimer{seconds(1)}));
  EXPECT_THAT(f.handle(AdvertTimerFired{}, became + milliseconds(4500)),
              ElementsAre(SendAdvert{100}, ArmAdvertTimer{seconds(1)}));
  EXPECT_THAT(f.handle(AdvertTimerFired{}, became + milliseconds(5501)),
              ElementsAre(SendAdvert{100}, ArmAdvertTimer{milliseconds(999)}));
  // The lateness an operator sees: the worst (1.5 s, the advert due at 3 s sent at 4.5 s), and
  // one advert more than an interval late (30 ms and 1 ms are not).
  EXPECT_EQ(f.advert_timing().late_max, milliseconds(1500));
  EXPECT_EQ(f.advert_timing().late, 1u);
}

// RFC 5798 6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT;
// Reset the Adver_Timer to Advertisement_Interval".
TEST_F(FsmTest, MasterAnswersPriorityZeroAtOnce) {
  Fsm f = master();
  EXPECT_THAT(f.handle(advert(0), kT0 + seconds(5)),
              ElementsAre(SendAdvert{100}, ArmAdvertTimer{seconds(1)}));
  EXPECT_EQ(f.state(), State::master);
}

// RFC 5798 6.4.3: "If the Priority in the ADVERTISEMENT is greater than the local Priority ...
// then: Cancel Adver_Timer; Set Master_Adver_Interval to Adver Interval contained in the
// ADVERTISEMENT; Recompute the Skew_Time; Recompute the Master_Down_Interval; Set
// Master_Down_Timer to Master_Down_Interval; Transition to the {Backup} state". We also send one
// last advert at our priority first, so a winner that never heard us (split brain) re-announces.
TEST_F(FsmTest, MasterStepsDownForHigherPriority) {
  Fsm f = master();
  const Duration skew_2s = 2 * kSkew100;
  EXPECT_THAT(
      f.handle(advert(150, "10.0.0.1", 200), kT0 + seconds(5)),
      ElementsAre(CancelAdvertTimer{}, SendAdvert{100}, RemoveVips{},
                  IntervalAdopted{seconds(1), seconds(2)}, ArmMasterDownTimer{seconds(6) + skew_2s},
                  Changed(State::master, State::backup)));
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_EQ(f.master_address(), ip("10.0.0.1"));
  EXPECT_EQ(f.master_adver_interval(), seconds(2));
  EXPECT_THAT(f.last_transition_reason(), ::testing::HasSubstr("10.0.0.1"));
}

// RFC 5798 6.4.3: "... or the Priority in the ADVERTISEMENT is equal to the local Priority and
// the primary IPvX Address of the sender is greater than the local primary IPvX Address".
TEST_F(FsmTest, EqualPriorityTieBreakOnPrimaryAddress) {
  struct Case {
    const char* local;
    const char* sender;
    bool sender_wins;
  };
  const Case cases[] = {
      {"10.0.0.2", "10.0.0.3", true},   {"10.0.0.3", "10.0.0.2", false},
      {"10.0.0.9", "10.0.0.10", true},  // numeric, not text
      {"10.0.0.10", "10.0.0.9", false}, {"192.168.0.1", "10.255.255.255", false},
      {"fe80::9", "fe80::a", true},     {"fe80::1:0", "fe80::ffff", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.sender);
    Params p = params();
    p.primary_ip = ip(c.local);
    Fsm f = master(p);
    Actions out = f.handle(advert(100, c.sender), kT0 + seconds(5));
    EXPECT_EQ(f.state(), c.sender_wins ? State::backup : State::master);
    if (!c.sender_wins) {
      EXPECT_THAT(out, ElementsAre(SendAdvert{100}, SendGratuitous{}));
    }
  }
}

// RFC 5798 6.4.3 says "else ... Discard the ADVERTISEMENT"; we also answer at once, so a peer
// that wrongly believes itself Master (split brain) hears us within one round trip, and we
// re-announce the addresses so neighbours that followed the other Master's ARP come back.
TEST_F(FsmTest, MasterAnswersLowerPriorityAtOnce) {
  Fsm f = master();
  EXPECT_THAT(f.handle(advert(50), kT0 + seconds(5)),
              ElementsAre(SendAdvert{100}, SendGratuitous{}));
  EXPECT_EQ(f.state(), State::master);
}

// #13 defect 5: a flood of valid lower-priority (or priority-0) adverts gets its immediate
// answers rate-limited (two per Advertisement_Interval, bursts of three); the advert timer is
// left alone, and a higher priority is never held back.
TEST_F(FsmTest, MasterAnswersAFloodAtARateItChooses) {
  Fsm f = master();
  auto t = kT0 + seconds(5);
  EXPECT_THAT(f.handle(advert(50), t), ElementsAre(SendAdvert{100}, SendGratuitous{}));
  int answers = 1;
  for (int i = 1; i < 1000; ++i) {  // 100 adverts per interval for 10 intervals
    auto a = f.handle(advert(i % 2 ? 50 : 0), t + milliseconds(i * 10));
    answers += !a.empty();
  }
  EXPECT_LE(answers, 3 + 2 * 10);
  EXPECT_GE(answers, 2 * 10);
  EXPECT_EQ(f.answers_suppressed(), static_cast<uint64_t>(1000 - answers));
  EXPECT_THAT(f.handle(advert(200), t + seconds(10) + milliseconds(1)),
              testing::Contains(RemoveVips{}));
}

// A peer advertising once per interval is answered every time, even when our answers were lost.
TEST_F(FsmTest, MasterAnswersARealPeerEveryTime) {
  Fsm f = master();
  for (int i = 0; i < 20; ++i)
    EXPECT_THAT(f.handle(advert(50), kT0 + seconds(5 + i)),
                ElementsAre(SendAdvert{100}, SendGratuitous{}));
}

// RFC 5798 6.4.3: "If a Shutdown event is received, then: Cancel the Adver_Timer; Send an
// ADVERTISEMENT with Priority = 0; Transition to the {Initialize} state".
TEST_F(FsmTest, ShutdownFromMasterSendsPriorityZero) {
  Fsm f = master();
  EXPECT_THAT(f.handle(Shutdown{}, kT0 + seconds(5)),
              ElementsAre(CancelAdvertTimer{}, SendAdvert{0}, RemoveVips{},
                          Changed(State::master, State::initialize)));
  EXPECT_EQ(f.state(), State::initialize);
  EXPECT_EQ(f.last_transition_reason(), "shutdown");
}

// RFC 5798 6.4.2: "If a Shutdown event is received, then: Cancel the Master_Down_Timer;
// Transition to the {Initialize} state".
TEST_F(FsmTest, ShutdownFromBackupCancelsTheTimer) {
  Fsm f = backup();
  EXPECT_THAT(f.handle(Shutdown{}, kT0 + seconds(1)),
              ElementsAre(CancelMasterDownTimer{}, Changed(State::backup, State::initialize)));
  EXPECT_THAT(f.handle(Shutdown{}, kT0 + seconds(2)), IsEmpty());
  // And it can start again.
  f.handle(Startup{}, kT0 + seconds(3));
  EXPECT_EQ(f.state(), State::backup);
}

TEST_F(FsmTest, FaultOnFromMasterGivesUpLikeShutdown) {
  Fsm f = master();
  EXPECT_THAT(f.handle(FaultOn{"eth0 down"}, kT0 + seconds(5)),
              ElementsAre(CancelAdvertTimer{}, SendAdvert{0}, RemoveVips{},
                          Changed(State::master, State::fault)));
  EXPECT_EQ(f.last_transition_reason(), "fault: eth0 down");
}

TEST_F(FsmTest, FaultOnFromBackupCancelsTheTimer) {
  Fsm f = backup();
  EXPECT_THAT(f.handle(FaultOn{"check failed"}, kT0 + seconds(1)),
              ElementsAre(CancelMasterDownTimer{}, Changed(State::backup, State::fault)));
}

TEST_F(FsmTest, FaultIgnoresAdvertsAndTimers) {
  Fsm f = backup();
  f.handle(FaultOn{"x"}, kT0);
  EXPECT_THAT(f.handle(advert(0), kT0), IsEmpty());
  EXPECT_THAT(f.handle(advert(200), kT0), IsEmpty());
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, kT0), IsEmpty());
  EXPECT_THAT(f.handle(AdvertTimerFired{}, kT0), IsEmpty());
  EXPECT_THAT(f.handle(FaultOn{"y"}, kT0), IsEmpty());
  EXPECT_THAT(f.handle(Startup{}, kT0), IsEmpty());
  EXPECT_EQ(f.state(), State::fault);
}

// FaultOff behaves as Startup (RFC 5798 6.4.1).
TEST_F(FsmTest, FaultOffRestartsLikeStartup) {
  Fsm f = backup();
  f.handle(FaultOn{"x"}, kT0);
  EXPECT_THAT(f.handle(FaultOff{}, kT0 + seconds(1)),
              ElementsAre(ArmMasterDownTimer{kDown100}, Changed(State::fault, State::backup)));
  EXPECT_EQ(f.last_transition_reason(), "fault cleared");

  Fsm owner(params(255));
  owner.handle(Startup{}, kT0);
  owner.handle(FaultOn{"x"}, kT0);
  EXPECT_THAT(owner.handle(FaultOff{}, kT0 + seconds(1)),
              ElementsAre(SendAdvert{255}, AddVips{}, SendGratuitous{}, ArmAdvertTimer{seconds(1)},
                          Changed(State::fault, State::master)));
}

// A fault reported before Startup is remembered: the instance starts in Fault, and stays
// administratively down (Initialize) until Startup however the fault changes.
TEST_F(FsmTest, FaultBeforeStartup) {
  Fsm f(params());
  EXPECT_THAT(f.handle(FaultOn{"eth0 down"}, kT0), IsEmpty());
  EXPECT_EQ(f.state(), State::initialize);
  EXPECT_THAT(f.handle(Startup{}, kT0), ElementsAre(Changed(State::initialize, State::fault)));
  EXPECT_THAT(f.last_transition_reason(), ::testing::HasSubstr("eth0 down"));
  f.handle(FaultOff{}, kT0 + seconds(1));
  EXPECT_EQ(f.state(), State::backup);

  Fsm g(params());
  g.handle(FaultOn{"x"}, kT0);
  EXPECT_THAT(g.handle(FaultOff{}, kT0), IsEmpty());
  EXPECT_EQ(g.state(), State::initialize);
  g.handle(Startup{}, kT0);
  EXPECT_EQ(g.state(), State::backup);
}

TEST_F(FsmTest, ShutdownFromFault) {
  Fsm f = backup();
  f.handle(FaultOn{"x"}, kT0);
  EXPECT_THAT(f.handle(Shutdown{}, kT0), ElementsAre(Changed(State::fault, State::initialize)));
  // The fault is still on: Startup goes back to Fault.
  f.handle(Startup{}, kT0);
  EXPECT_EQ(f.state(), State::fault);
}

// Tracking changes the priority used in adverts and in elections.
TEST_F(FsmTest, PriorityChangedInMasterChangesAdverts) {
  Fsm f = master();
  EXPECT_THAT(f.handle(PriorityChanged{80}, kT0), IsEmpty());
  EXPECT_EQ(f.effective_priority(), 80);
  EXPECT_THAT(f.handle(AdvertTimerFired{}, kT0),
              ElementsAre(SendAdvert{80}, ArmAdvertTimer{seconds(1)}));
  // A peer at 90 now wins, where it lost at 100.
  f.handle(advert(90), kT0);
  EXPECT_EQ(f.state(), State::backup);
}

TEST_F(FsmTest, PriorityChangedInBackupChangesElectionAndSkew) {
  Fsm f = backup();
  f.handle(PriorityChanged{120}, kT0);
  EXPECT_EQ(f.skew_time(), Duration(seconds(136)) / 256);
  EXPECT_THAT(f.handle(advert(110), kT0), IsEmpty());  // now lower than us: discarded
  f.handle(PriorityChanged{110}, kT0);
  EXPECT_THAT(f.handle(advert(110), kT0), ElementsAre(ArmMasterDownTimer{f.master_down_interval()}));
}

// Effective priority stays in 1..254 (0 means "leaving", 255 "owner"); an owner may go back to
// 255.
TEST_F(FsmTest, PriorityChangedIsClamped) {
  Fsm f = backup();
  f.handle(PriorityChanged{0}, kT0);
  EXPECT_EQ(f.effective_priority(), 1);
  f.handle(PriorityChanged{255}, kT0);
  EXPECT_EQ(f.effective_priority(), 254);

  Fsm owner(params(255));
  owner.handle(PriorityChanged{200}, kT0);
  EXPECT_EQ(owner.effective_priority(), 200);
  owner.handle(PriorityChanged{255}, kT0);
  EXPECT_EQ(owner.effective_priority(), 255);
}

// A timer the adapter failed to cancel must not move the machine.
TEST_F(FsmTest, StaleTimersAreIgnored) {
  Fsm f = master();
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, kT0), IsEmpty());
  Fsm b = backup();
  EXPECT_THAT(b.handle(AdvertTimerFired{}, kT0), IsEmpty());
  Fsm i(params());
  EXPECT_THAT(i.handle(MasterDownTimerFired{}, kT0), IsEmpty());
  EXPECT_THAT(i.handle(advert(200), kT0), IsEmpty());
}

TEST_F(FsmTest, IgnoresOwnAdvertsAndOtherVrids) {
  Fsm f = master();
  EXPECT_THAT(f.handle(advert(200, "10.0.0.2"), kT0), IsEmpty());
  AdvertReceived other = advert(200);
  other.advert.vrid = 2;
  EXPECT_THAT(f.handle(other, kT0), IsEmpty());
  AdvertReceived v2 = advert(200);
  v2.advert.version = Version::v2;
  EXPECT_THAT(f.handle(v2, kT0), IsEmpty());
  EXPECT_EQ(f.state(), State::master);
}

// hadirector ctl hold: a Master hands over at once and stays Backup until released, whatever
// it hears or does not hear.
TEST_F(FsmTest, HoldHandsOverAndNeverBecomesMasterUntilReleased) {
  Fsm f = master();
  const TimePoint t = kT0 + seconds(10);
  EXPECT_THAT(f.handle(Hold{true, false}, t),
              ElementsAre(CancelAdvertTimer{}, SendAdvert{0}, RemoveVips{},
                          ArmMasterDownTimer{kDown100}, Changed(State::master, State::backup)));
  EXPECT_TRUE(f.held());
  EXPECT_EQ(f.last_transition_reason(), "held by an operator");
  // A lower-priority Master is followed, not preempted.
  EXPECT_THAT(f.handle(advert(50), t + seconds(1)), ElementsAre(::testing::VariantWith<ArmMasterDownTimer>(_)));
  // Nobody heard: still Backup, still watching.
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + seconds(10)),
              ElementsAre(ArmMasterDownTimer{kDown100}));
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_TRUE(f.handle(Hold{true, false}, t + seconds(11)).empty());  // already held
  // Released: back in the election.
  EXPECT_THAT(f.handle(Hold{false, false}, t + seconds(12)), ElementsAre(ArmMasterDownTimer{kDown100}));
  EXPECT_FALSE(f.held());
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + seconds(16)),
              Contains(Changed(State::backup, State::master)));
}

TEST_F(FsmTest, AHeldInstanceStartsAsBackupEvenAsOwnerAndAfterAFault) {
  Fsm owner(params(255));
  owner.handle(Hold{true, false}, kT0);
  EXPECT_THAT(owner.handle(Startup{}, kT0), Contains(Changed(State::initialize, State::backup)));
  owner.handle(FaultOn{"x"}, kT0 + seconds(1));
  EXPECT_THAT(owner.handle(FaultOff{}, kT0 + seconds(2)),
              Contains(Changed(State::fault, State::backup)));
  EXPECT_THAT(owner.handle(MasterDownTimerFired{}, kT0 + seconds(9)), Not(Contains(AddVips{})));
  EXPECT_EQ(owner.state(), State::backup);
}

TEST_F(FsmTest, FailoverStaysHeldOnceAnotherRouterTookOver) {
  Fsm f = master();
  const TimePoint t = kT0 + seconds(10);
  EXPECT_THAT(f.handle(Hold{true, true}, t), Contains(SendAdvert{0}));
  EXPECT_EQ(f.last_transition_reason(), "failover: handing over to another router");
  f.handle(advert(50), t + milliseconds(700));  // the peer took over
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + seconds(5)), ElementsAre(::testing::VariantWith<ArmMasterDownTimer>(_)));
  EXPECT_TRUE(f.held());
  EXPECT_EQ(f.state(), State::backup);
}

TEST_F(FsmTest, FailoverToNobodyTakesTheVipsBack) {
  Fsm f = master();
  const TimePoint t = kT0 + seconds(10);
  f.handle(Hold{true, true}, t);
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + kDown100),
              ElementsAre(SendAdvert{100}, AddVips{}, SendGratuitous{}, ArmAdvertTimer{seconds(1)},
                          Changed(State::backup, State::master)));
  EXPECT_FALSE(f.held());
  EXPECT_EQ(f.last_transition_reason(),
            "failover aborted: no other router took over within Master_Down_Interval");
  // On a Backup, failover is a hold.
  Fsm b = backup();
  EXPECT_TRUE(b.handle(Hold{true, true}, kT0).empty());
  EXPECT_TRUE(b.held());
  EXPECT_THAT(b.handle(MasterDownTimerFired{}, kT0 + seconds(5)), ElementsAre(::testing::VariantWith<ArmMasterDownTimer>(_)));
}

TEST(FsmParams, Validation) {
  struct Case {
    const char* what;
    Params p;
  };
  auto with = [](auto edit) {
    Params p = params();
    edit(p);
    return p;
  };
  const Case bad[] = {
      {"vrid 0", with([](Params& p) { p.vrid = 0; })},
      {"priority 0", with([](Params& p) { p.priority = 0; })},
      {"v3 interval 0", with([](Params& p) { p.advert_interval = Duration::zero(); })},
      {"v3 interval 5 ms", with([](Params& p) { p.advert_interval = milliseconds(5); })},
      {"v3 interval 15 ms", with([](Params& p) { p.advert_interval = milliseconds(15); })},
      {"v3 interval 41 s", with([](Params& p) { p.advert_interval = seconds(41); })},
      {"v2 interval 1.5 s", with([](Params& p) {
         p.version = Version::v2;
         p.advert_interval = milliseconds(1500);
       })},
      {"v2 interval 256 s", with([](Params& p) {
         p.version = Version::v2;
         p.advert_interval = seconds(256);
       })},
      {"v2 over IPv6", with([](Params& p) {
         p.version = Version::v2;
         p.primary_ip = ip("fe80::1");
       })},
      {"negative preempt delay", with([](Params& p) { p.preempt_delay = seconds(-1); })},
      {"version 4", with([](Params& p) { p.version = static_cast<Version>(4); })},
  };
  for (const auto& c : bad) {
    EXPECT_TRUE(validate(c.p).has_value()) << c.what;
    EXPECT_THROW(Fsm{c.p}, std::invalid_argument) << c.what;
  }
  EXPECT_EQ(validate(params()), std::nullopt);
  EXPECT_EQ(validate(with([](Params& p) { p.advert_interval = milliseconds(40950); })),
            std::nullopt);
  EXPECT_EQ(validate(with([](Params& p) { p.advert_interval = milliseconds(10); })), std::nullopt);
  EXPECT_EQ(validate(params(255, Version::v2)), std::nullopt);
}

TEST(FsmPrinting, ActionsAndStatesPrint) {
  std::ostringstream os;
  os << Action{SendAdvert{7}} << " " << Action{ArmMasterDownTimer{milliseconds(1500)}} << " "
     << Action{StateChanged{State::backup, State::master, "why"}} << " "
     << Action{IntervalAdopted{seconds(1), milliseconds(500)}} << " "
     << Action{IntervalRefused{milliseconds(40950), IntervalRefusal::too_long}};
  EXPECT_EQ(os.str(),
            "SendAdvert{priority=7} ArmMasterDownTimer{1500ms} "
            "StateChanged{BACKUP->MASTER, why} IntervalAdopted{1000ms->500ms} "
            "IntervalRefused{40950ms, too_long}");
}

// A small simulated LAN: an advert reaches every other router right after the sender's action
// list is carried out (as an event loop would deliver it), timers live in a schedule, and time
// jumps from deadline to deadline. Checks the RFC's end-to-end promises.
class Lan {
 public:
  size_t add(Params p) {
    routers_.push_back(Router{Fsm(p), {}, {}});
    return routers_.size() - 1;
  }
  // Delivers `e` to router i now, then every advert that results, until the LAN is quiet.
  void event(size_t i, const Event& e) {
    apply(i, routers_[i].fsm.handle(e, now_));
    while (!in_flight_.empty()) {
      auto [to, advert] = in_flight_.front();
      in_flight_.pop_front();
      apply(to, routers_[to].fsm.handle(advert, now_));
    }
  }
  // Fires timers in deadline order until `until`.
  void runUntil(TimePoint until) {
    for (;;) {
      std::optional<TimePoint> at;
      size_t who = 0;
      bool advert_timer = false;
      for (size_t i = 0; i < routers_.size(); ++i) {
        for (bool is_advert : {true, false}) {
          const auto& t = is_advert ? routers_[i].advert_at : routers_[i].down_at;
          if (t && *t <= until && (!at || *t < *at)) {
            at = *t;
            who = i;
            advert_timer = is_advert;
          }
        }
      }
      if (!at) break;
      now_ = *at;
      if (advert_timer) {
        routers_[who].advert_at.reset();
        event(who, AdvertTimerFired{});
      } else {
        routers_[who].down_at.reset();
        event(who, MasterDownTimerFired{});
      }
    }
    now_ = until;
  }
  // A partition: adverts from router i are lost until heal().
  void mute(size_t i) { muted_ = i; }
  void heal() { muted_.reset(); }

  const Fsm& fsm(size_t i) const { return routers_[i].fsm; }
  TimePoint now() const { return now_; }
  int masters() const {
    int n = 0;
    for (const auto& r : routers_) n += r.fsm.state() == State::master;
    return n;
  }
  std::map<size_t, TimePoint> became_master;  // when each router last became Master
  int adverts_sent = 0;

 private:
  struct Router {
    Fsm fsm;
    std::optional<TimePoint> advert_at;
    std::optional<TimePoint> down_at;
  };
  void apply(size_t i, const Actions& actions) {
    Router& r = routers_[i];
    for (const Action& a : actions) {
      if (auto* s = std::get_if<SendAdvert>(&a)) {
        ++adverts_sent;
        if (muted_ == i) continue;
        Advert adv;
        adv.vrid = r.fsm.params().vrid;
        adv.priority = s->priority;
        adv.max_advert_int_cs =
            static_cast<uint16_t>(r.fsm.params().advert_interval / milliseconds(10));
        for (size_t j = 0; j < routers_.size(); ++j) {
          if (j != i) in_flight_.emplace_back(j, AdvertReceived{adv, r.fsm.params().primary_ip});
        }
      } else if (auto* t = std::get_if<ArmAdvertTimer>(&a)) {
        r.advert_at = now_ + t->after;
      } else if (auto* d = std::get_if<ArmMasterDownTimer>(&a)) {
        r.down_at = now_ + d->after;
      } else if (std::holds_alternative<CancelAdvertTimer>(a)) {
        r.advert_at.reset();
      } else if (std::holds_alternative<CancelMasterDownTimer>(a)) {
        r.down_at.reset();
      } else if (auto* c = std::get_if<StateChanged>(&a); c && c->to == State::master) {
        became_master[i] = now_;
      }
    }
  }
  std::vector<Router> routers_;
  std::deque<std::pair<size_t, AdvertReceived>> in_flight_;
  std::optional<size_t> muted_;
  TimePoint now_ = kT0;
};

Params lanParams(uint8_t priority, std::string_view primary) {
  Params p = params(priority);
  p.primary_ip = ip(primary);
  return p;
}

// RFC 5798 1 / 3: the highest priority router becomes Master; when it stops, the next highest
// Backup takes over after Skew_Time (priority 0 advert), not Master_Down_Interval.
TEST(FsmScenario, HighestPriorityWinsAndFailoverTakesSkewTime) {
  Lan lan;
  const size_t a = lan.add(lanParams(200, "10.0.0.1"));
  const size_t b = lan.add(lanParams(150, "10.0.0.2"));
  const size_t c = lan.add(lanParams(100, "10.0.0.3"));
  lan.event(a, Startup{});
  lan.event(b, Startup{});
  lan.event(c, Startup{});
  lan.runUntil(kT0 + seconds(10));
  EXPECT_EQ(lan.fsm(a).state(), State::master);
  EXPECT_EQ(lan.fsm(b).state(), State::backup);
  EXPECT_EQ(lan.fsm(c).state(), State::backup);
  EXPECT_EQ(lan.fsm(b).master_address(), ip("10.0.0.1"));

  lan.event(a, Shutdown{});
  const TimePoint stopped = lan.now();
  lan.runUntil(kT0 + seconds(20));
  EXPECT_EQ(lan.fsm(b).state(), State::master);
  EXPECT_EQ(lan.fsm(c).state(), State::backup);
  EXPECT_EQ(lan.became_master.at(b) - stopped, Duration(seconds(106)) / 256);  // b's Skew_Time
  EXPECT_EQ(lan.masters(), 1);
}

// Preemption: a higher-priority router that comes up later takes over from the current master
// after its master down interval; with preempt off it stays Backup.
TEST(FsmScenario, PreemptionOfALowerPriorityMaster) {
  for (bool preempt : {true, false}) {
    SCOPED_TRACE(preempt);
    Lan lan;
    const size_t low = lan.add(lanParams(100, "10.0.0.1"));
    Params hp = lanParams(200, "10.0.0.2");
    hp.preempt = preempt;
    const size_t high = lan.add(hp);
    lan.event(low, Startup{});
    lan.runUntil(kT0 + seconds(10));
    ASSERT_EQ(lan.fsm(low).state(), State::master);
    lan.event(high, Startup{});
    lan.runUntil(kT0 + seconds(30));
    EXPECT_EQ(lan.fsm(high).state(), preempt ? State::master : State::backup);
    EXPECT_EQ(lan.fsm(low).state(), preempt ? State::backup : State::master);
    EXPECT_EQ(lan.masters(), 1);
  }
}

// Split brain: while a partition hides the winner's adverts, the loser becomes Master too. When
// the partition heals, the first advert from the loser is answered at once by the winner
// (greater primary address at equal priority), and the loser steps down in the same instant
// instead of one Advertisement_Interval later.
TEST(FsmScenario, SplitBrainResolvesOnTheFirstAdvertAfterHealing) {
  Lan lan;
  const size_t winner = lan.add(lanParams(100, "10.0.0.2"));
  const size_t loser = lan.add(lanParams(100, "10.0.0.1"));
  lan.event(winner, Startup{});
  lan.runUntil(kT0 + seconds(5));
  ASSERT_EQ(lan.fsm(winner).state(), State::master);
  lan.mute(winner);
  lan.event(loser, Startup{});
  lan.runUntil(kT0 + seconds(10));
  ASSERT_EQ(lan.masters(), 2);

  lan.heal();
  // The loser's next advert timer is the first event after healing.
  lan.event(loser, AdvertTimerFired{});
  EXPECT_EQ(lan.masters(), 1);
  EXPECT_EQ(lan.fsm(winner).state(), State::master);
  EXPECT_EQ(lan.fsm(loser).state(), State::backup);
  EXPECT_EQ(lan.fsm(loser).master_address(), ip("10.0.0.2"));
}

// Steady state costs one advert per Advertisement_Interval, from the Master only.
TEST(FsmScenario, OnlyTheMasterAdvertises) {
  Lan lan;
  const size_t a = lan.add(lanParams(200, "10.0.0.1"));
  const size_t b = lan.add(lanParams(100, "10.0.0.2"));
  lan.event(a, Startup{});
  lan.event(b, Startup{});
  lan.runUntil(kT0 + seconds(10));
  const int before = lan.adverts_sent;
  lan.runUntil(kT0 + seconds(110));
  EXPECT_EQ(lan.adverts_sent - before, 100);
  EXPECT_EQ(lan.fsm(a).state(), State::master);
  EXPECT_EQ(lan.fsm(b).state(), State::backup);
}

// ---------------------------------------------------------------- linger (Params::linger)

TEST_F(FsmTest, FailoverKeepsTheVipsUntilTheLingerAfterTheTakersFirstAdvert) {
  Fsm f = master(lingering());
  const TimePoint t = kT0 + seconds(10);
  EXPECT_THAT(f.handle(Hold{true, true}, t),
              ElementsAre(CancelAdvertTimer{}, SendAdvert{0}, KeepVips{},
                          ArmMasterDownTimer{kDown100}, Changed(State::master, State::backup)));
  EXPECT_TRUE(f.lingering());
  EXPECT_TRUE(f.handover_pending());
  // The taker's first advert starts the linger; later ones do not restart it.
  EXPECT_THAT(f.handle(advert(100, "10.0.0.9"), t + milliseconds(700)),
              ElementsAre(ArmLingerTimer{seconds(3)}, ArmMasterDownTimer{kDown100}));
  EXPECT_FALSE(f.handover_pending());
  EXPECT_THAT(f.handle(advert(100, "10.0.0.9"), t + milliseconds(1700)),
              ElementsAre(ArmMasterDownTimer{kDown100}));
  EXPECT_THAT(f.handle(LingerTimerFired{}, t + milliseconds(3700)), ElementsAre(RemoveVips{}));
  EXPECT_FALSE(f.lingering());
  EXPECT_EQ(f.state(), State::backup);
  EXPECT_TRUE(f.held());
  // A stale linger timer does nothing.
  EXPECT_TRUE(f.handle(LingerTimerFired{}, t + seconds(5)).empty());
}

TEST_F(FsmTest, AFailoverNobodyTakesKeepsTheVipsItNeverDropped) {
  Fsm f = master(lingering());
  const TimePoint t = kT0 + seconds(10);
  f.handle(Hold{true, true}, t);
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + kDown100),
              ElementsAre(CancelLingerTimer{}, SendAdvert{100}, AddVips{}, SendGratuitous{},
                          ArmAdvertTimer{seconds(1)}, Changed(State::backup, State::master)));
  EXPECT_FALSE(f.lingering());
  EXPECT_FALSE(f.held());
}

TEST_F(FsmTest, APlainHoldNobodyTakesReleasesTheVipsAtMasterDown) {
  Fsm f = master(lingering());
  const TimePoint t = kT0 + seconds(10);
  f.handle(Hold{true, false}, t);
  EXPECT_TRUE(f.lingering());
  EXPECT_FALSE(f.handover_pending());
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + kDown100),
              ElementsAre(RemoveVips{}, ArmMasterDownTimer{kDown100}));
  EXPECT_FALSE(f.lingering());
  EXPECT_EQ(f.state(), State::backup);
}

TEST_F(FsmTest, APreemptedMasterLingersFromThePreemptingAdvert) {
  Fsm f = master(lingering(seconds(2)));
  const TimePoint t = kT0 + seconds(10);
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9"), t),
              ElementsAre(CancelAdvertTimer{}, SendAdvert{100}, KeepVips{},
                          ArmLingerTimer{seconds(2)}, ArmMasterDownTimer{kDown100},
                          Changed(State::master, State::backup)));
  EXPECT_TRUE(f.lingering());
  EXPECT_FALSE(f.handover_pending());
  // Its adverts go on: the linger timer is not restarted.
  EXPECT_THAT(f.handle(advert(200, "10.0.0.9"), t + seconds(1)),
              ElementsAre(ArmMasterDownTimer{kDown100}));
  EXPECT_THAT(f.handle(LingerTimerFired{}, t + seconds(2)), ElementsAre(RemoveVips{}));
}

TEST_F(FsmTest, ALingeringBackupThatBecomesMasterAgainKeepsItsVips) {
  Fsm f = master(lingering());
  const TimePoint t = kT0 + seconds(10);
  f.handle(advert(200, "10.0.0.9"), t);
  // The new Master leaves at once (priority 0): we take over within Skew_Time.
  EXPECT_THAT(f.handle(advert(0, "10.0.0.9"), t + milliseconds(500)),
              ElementsAre(ArmMasterDownTimer{kSkew100}));
  EXPECT_THAT(f.handle(MasterDownTimerFired{}, t + milliseconds(500) + kSkew100),
              ElementsAre(CancelLingerTimer{}, SendAdvert{100}, AddVips{}, SendGratuitous{},
                          ArmAdvertTimer{seconds(1)}, Changed(State::backup, State::master)));
  EXPECT_FALSE(f.lingering());
  EXPECT_TRUE(f.handle(LingerTimerFired{}, t + seconds(3)).empty());
}

TEST_F(FsmTest, FaultAndShutdownEndALingerAtOnce) {
  {
    Fsm f = master(lingering());
    f.handle(advert(200, "10.0.0.9"), kT0 + seconds(10));
    EXPECT_THAT(f.handle(FaultOn{"eth0 down"}, kT0 + seconds(11)),
                ElementsAre(CancelMasterDownTimer{}, CancelLingerTimer{}, RemoveVips{},
                            Changed(State::backup, State::fault)));
    EXPECT_FALSE(f.lingering());
  }
  {
    Fsm f = master(lingering());
    f.handle(Hold{true, true}, kT0 + seconds(10));  // not armed yet: nothing to cancel
    EXPECT_THAT(f.handle(Shutdown{}, kT0 + seconds(11)),
                ElementsAre(CancelMasterDownTimer{}, RemoveVips{},
                            Changed(State::backup, State::initialize)));
  }
  {
    // A fault or a shutdown as Master never lingers.
    Fsm f = master(lingering());
    EXPECT_THAT(f.handle(FaultOn{"eth0 down"}, kT0 + seconds(10)),
                ElementsAre(CancelAdvertTimer{}, SendAdvert{0}, RemoveVips{},
                            Changed(State::master, State::fault)));
    Fsm g = master(lingering());
    EXPECT_THAT(g.handle(Shutdown{}, kT0 + seconds(10)),
                ElementsAre(CancelAdvertTimer{}, SendAdvert{0}, RemoveVips{},
                            Changed(State::master, State::initialize)));
  }
}

TEST(FsmParams, LingerIsOnByDefaultAndNeverNegative) {
  EXPECT_EQ(Params{}.linger, seconds(3));
  Params p = params();
  p.linger = -milliseconds(1);
  EXPECT_EQ(validate(p), "linger must not be negative");
}

}  // namespace
}  // namespace hd::vrrp
