// SPDX-License-Identifier: GPL-2.0-or-later
// vrrp::Instance through fakes: what it sends, which addresses it asks for,
// what it announces, on a real loop with short timers (10 ms adverts).
#include "vrrp/instance.h"

#include <gtest/gtest.h>

#include <functional>

#include "tests/unit/vrrp/fakes.h"

namespace hd::vrrp {
namespace {

using namespace std::chrono_literals;
using testing::FakeAnnouncer;
using testing::FakeLinks;
using testing::RecordingSender;

const IpAddress kSelf = *IpAddress::parse("192.0.2.2");
const IpAddress kPeer = *IpAddress::parse("192.0.2.3");  // greater: wins ties
const IpAddress kVip = *IpAddress::parse("192.0.2.100");

// Runs the loop until `done` holds or `limit` passes; returns done().
bool run_until(Loop& loop, const std::function<bool()>& done, Duration limit = 2s) {
  bool timed_out = false;
  Timer deadline(loop, [&] {
    timed_out = true;
    loop.stop();
  });
  Timer poll(loop, [&] {
    if (done()) loop.stop();
  });
  deadline.start(limit);
  poll.start(1ms, 1ms);
  if (!done()) loop.run();
  return done();
}

void run_for(Loop& loop, Duration d) {
  run_until(loop, [] { return false; }, d);
}

class InstanceTest : public ::testing::Test {
 protected:
  InstanceConfig config(int priority = 100) {
    InstanceConfig c;
    c.name = "VI_1";
    c.interface = "eth0";
    c.ifindex = 7;
    c.params.vrid = 51;
    c.params.priority = static_cast<uint8_t>(priority);
    c.params.advert_interval = 10ms;
    c.params.primary_ip = kSelf;
    c.vips.push_back(VipSpec{kVip, 24, "eth0:1", 7});
    c.garp_count = 3;
    c.track_interfaces = {"eth0"};
    return c;
  }
  std::unique_ptr<Instance> make(InstanceConfig c) {
    auto i = std::make_unique<Instance>(loop, clock, std::move(c),
                                        InstancePorts{sender, addresses, announcer, links},
                                        [this](const Transition& t) { transitions.push_back(t); });
    // As the engine does: the kernel's answers go to the instance.
    Instance* raw = i.get();
    addresses.on_result([raw](const rtnl::AddressResult& r) { raw->on_address_result(r); });
    return i;
  }
  std::vector<State> states() const {
    std::vector<State> s;
    for (auto& t : transitions) s.push_back(t.to);
    return s;
  }
  std::vector<uint8_t> priorities_sent() {
    std::vector<uint8_t> p;
    for (auto& a : sender.snapshot()) p.push_back(a.advert.priority);
    return p;
  }

  Loop loop;
  RealClock clock;
  RecordingSender sender;
  rtnl::FakeAddressManager addresses;
  FakeAnnouncer announcer;
  FakeLinks links;
  std::vector<Transition> transitions;
};

TEST_F(InstanceTest, TheAddressOwnerIsMasterAtOnceWithVipsAdvertAndAnnouncements) {
  auto i = make(config(255));
  i->start();
  EXPECT_EQ(i->state(), State::master);
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_EQ(addresses.present.front().label, "eth0:1");
  ASSERT_EQ(announcer.bursts, 1);
  EXPECT_EQ(announcer.last, std::vector<IpAddress>{kVip});
  auto sent = sender.snapshot();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.front().advert.priority, 255);
  EXPECT_EQ(sent.front().advert.vrid, 51);
  EXPECT_EQ(sent.front().advert.addresses, std::vector<IpAddress>{kVip});
  EXPECT_EQ(sent.front().src, kSelf);
  EXPECT_EQ(sent.front().dst, *IpAddress::parse("224.0.0.18"));
}

TEST_F(InstanceTest, ABackupHearingNobodyTakesOverAfterMasterDownInterval) {
  auto i = make(config(100));
  i->start();
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_TRUE(sender.snapshot().empty()) << "a Backup sends no adverts";
  // Master_Down_Interval = 3 x 10 ms + Skew_Time (156/256 x 10 ms): about 36 ms.
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  EXPECT_EQ(states(), (std::vector<State>{State::backup, State::master}));
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_EQ(addresses.count(rtnl::AddrOp::add), 1u);
  EXPECT_EQ(announcer.bursts, 1);
  // A Master keeps advertising every interval.
  run_for(loop, 100ms);
  EXPECT_GE(sender.snapshot().size(), 5u);
  EXPECT_EQ(i->status().counters.became_master, 1u);
}

TEST_F(InstanceTest, ABackupHearingTheMasterStaysBackup) {
  auto i = make(config(100));
  i->start();
  Timer peer(loop, [&] { i->on_packet(testing::advert_from(kPeer, 51, 150, {kVip}, 10ms)); });
  peer.start(Duration::zero(), 10ms);
  run_for(loop, 200ms);
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_EQ(i->status().master_ip, kPeer.str());
}

AuthConfig auth_with(uint8_t fill, AuthMode mode = AuthMode::enforce) {
  AuthConfig a;
  a.keys = {AuthKey{1, Secret(std::vector<uint8_t>(32, fill))}};
  a.active_key = 1;
  a.mode = mode;
  return a;
}

// The peer's advert signed as an Authenticator with `auth` signs it.
RxPacket signed_from(Authenticator& peer, uint8_t priority) {
  RxPacket p = testing::advert_from(kPeer, 51, priority, {kVip}, 10ms);
  p.payload = peer.outgoing(p.payload, Version::v3, kPeer, p.meta.destination, wall_micros());
  return p;
}

// In enforce, a Master ignores an unsigned or forged priority-255 advert (counted by reason)
// and yields to a signed one; what it sends carries the trailer.
TEST_F(InstanceTest, AnAuthenticatedMasterYieldsOnlyToAVerifiedAdvert) {
  auto c = config(100);
  c.params.linger = Duration::zero();
  c.auth = auth_with(7);
  auto i = make(c);
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  auto sent = sender.snapshot();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().payload.size(), kHeaderSize + 4 + kAuthTrailerSize);
  EXPECT_EQ(sent.back().advert.priority, 100);
  i->on_packet(testing::advert_from(kPeer, 51, 255, {kVip}, 10ms));  // unsigned
  Authenticator forger(auth_with(9));
  i->on_packet(signed_from(forger, 255));
  EXPECT_EQ(i->state(), State::master);
  auto st = i->status();
  ASSERT_TRUE(st.auth);
  EXPECT_EQ(st.auth->counters[AuthVerdict::unsigned_rejected], 1u);
  EXPECT_EQ(st.auth->counters[AuthVerdict::bad_mac], 1u);
  EXPECT_EQ(st.counters.adverts_received, 0u) << "a rejected advert is not received";
  Authenticator peer(auth_with(7));
  RxPacket good = signed_from(peer, 200);
  i->on_packet(good);
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_EQ(i->status().auth->counters[AuthVerdict::verified], 1u);
  i->on_packet(good);  // the same advert again
  EXPECT_EQ(i->status().auth->counters[AuthVerdict::replayed], 1u);
}

// receive_only: sends unsigned, accepts unsigned (counted), still refuses a forged one.
TEST_F(InstanceTest, ReceiveOnlySendsUnsignedAndRefusesForgeries) {
  auto c = config(100);
  c.auth = auth_with(7, AuthMode::receive_only);
  auto i = make(c);
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  EXPECT_EQ(sender.snapshot().back().payload.size(), kHeaderSize + 4);
  Authenticator forger(auth_with(9));
  i->on_packet(signed_from(forger, 255));
  EXPECT_EQ(i->state(), State::master);
  i->on_packet(testing::advert_from(kPeer, 51, 200, {kVip}, 10ms));
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_EQ(i->status().auth->counters[AuthVerdict::unsigned_accepted], 1u);
  EXPECT_EQ(i->status().auth->counters[AuthVerdict::bad_mac], 1u);
  // Turned to enforce in place: unsigned adverts are refused from now on.
  auto e = auth_with(7);
  i->set_auth(e);
  i->on_packet(testing::advert_from(kPeer, 51, 200, {kVip}, 10ms));
  EXPECT_EQ(i->status().auth->counters[AuthVerdict::unsigned_rejected], 1u);
  EXPECT_EQ(i->status().auth->mode, AuthMode::enforce);
}

TEST_F(InstanceTest, AMasterHearingAHigherPriorityGivesUpItsVipsAfterTheLinger) {
  auto c = config(100);
  c.params.linger = 100ms;
  auto i = make(c);
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  // The linger runs from this advert, on the loop's clock (its time as of its last turn, a
  // little behind the wall under a sanitizer): measured from just before it, within 10 ms.
  const auto t0 = SteadyClock::now();
  i->on_packet(testing::advert_from(kPeer, 51, 200, {kVip}, 10ms));
  EXPECT_EQ(i->state(), State::backup);
  // Still forwarding, no longer announcing.
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_EQ(announcer.cancels, 1);
  EXPECT_TRUE(i->status().lingering);
  EXPECT_TRUE(i->handing_over());
  // The new Master keeps advertising (every 10 ms); the VIPs go after the linger.
  while (addresses.has(kVip) && SteadyClock::now() - t0 < 2s) {
    run_for(loop, 5ms);
    i->on_packet(testing::advert_from(kPeer, 51, 200, {kVip}, 10ms));
  }
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_GE(SteadyClock::now() - t0, 90ms);
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_EQ(addresses.count(rtnl::AddrOp::remove), 1u);
  EXPECT_FALSE(i->status().lingering);
  EXPECT_FALSE(i->handing_over());
}

// A Backup lingering after a takeback holds back its forwarding of the clients' strays (the
// new Master forwards its own to it meanwhile); when that Master hands over in turn, the hold
// is released at its priority-0 advert, before this instance takes over, so a switch back
// within the linger finds the forwarding written (a VM capture showed the RST otherwise).
TEST_F(InstanceTest, ALingeringBackupReleasesItsClientForwardingWhenItsMasterHandsOver) {
  auto c = config(100);
  c.params.linger = 5s;
  auto i = make(c);
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  i->on_packet(testing::advert_from(kPeer, 51, 200, {kVip}, 10ms));  // preempted: lingers
  ASSERT_TRUE(i->status().lingering);
  auto last_follow = [&]() -> const Transition* {
    for (auto it = transitions.rbegin(); it != transitions.rend(); ++it)
      if (it->follow) return &*it;
    return nullptr;
  };
  ASSERT_NE(last_follow(), nullptr);
  EXPECT_EQ(last_follow()->live_master, kPeer);
  EXPECT_TRUE(last_follow()->lingering) << "held back while the new Master forwards to it";
  const size_t before = transitions.size();
  i->on_packet(testing::advert_from(kPeer, 51, 0, {kVip}, 10ms));  // it hands over
  EXPECT_EQ(i->state(), State::backup) << "not yet: Skew_Time first";
  ASSERT_GT(transitions.size(), before);
  EXPECT_TRUE(transitions.back().follow);
  EXPECT_EQ(transitions.back().live_master, kPeer);
  EXPECT_FALSE(transitions.back().lingering) << "released before the takeover";
  EXPECT_TRUE(i->status().lingering) << "still holding the VIPs";
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
}

TEST_F(InstanceTest, ANewMasterAnnouncesOnlyOnceTheKernelHasItsVips) {
  addresses.defer_answers = true;  // a slow kernel: the acknowledgement comes later
  auto i = make(config(100));
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  run_for(loop, 20ms);
  EXPECT_EQ(announcer.bursts, 0);  // not yet: the VIP may not be there
  addresses.release_answers();
  EXPECT_EQ(announcer.bursts, 1);
  EXPECT_EQ(announcer.last, (std::vector<IpAddress>{kVip}));
}

TEST_F(InstanceTest, ANewMasterAnnouncesAnywayWhenTheKernelNeverAnswers) {
  addresses.defer_answers = true;
  auto i = make(config(100));
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  const auto t0 = SteadyClock::now();
  ASSERT_TRUE(run_until(loop, [&] { return announcer.bursts == 1; }));
  EXPECT_GE(SteadyClock::now() - t0, 50ms);  // after the 100 ms wait (less the time to MASTER)
  addresses.release_answers();
  EXPECT_EQ(announcer.bursts, 1);  // a late answer does not announce twice
}

TEST_F(InstanceTest, WithoutALingerAPreemptedMasterDropsItsVipsAtOnce) {
  auto c = config(100);
  c.params.linger = Duration::zero();
  auto i = make(c);
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  i->on_packet(testing::advert_from(kPeer, 51, 200, {kVip}, 10ms));
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_EQ(addresses.count(rtnl::AddrOp::remove), 1u);
  EXPECT_EQ(announcer.cancels, 1);
}

TEST_F(InstanceTest, AStoppingMasterHandsOverAndReleasesAtMasterDownWhenNobodyTakes) {
  auto i = make(config(100));  // 10 ms adverts: Master_Down_Interval ~36 ms
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  i->hand_over_for_stop();
  EXPECT_EQ(i->state(), State::backup);
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_TRUE(i->handing_over());
  EXPECT_EQ(priorities_sent().back(), 0);
  ASSERT_TRUE(run_until(loop, [&] { return !i->handing_over(); }));
  EXPECT_EQ(i->state(), State::backup);  // never back to MASTER: it is stopping
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_EQ(addresses.count(rtnl::AddrOp::remove), 1u);
}

TEST_F(InstanceTest, AMasterHearingALowerPriorityAnswersAndStays) {
  auto i = make(config(200));
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  size_t before = sender.snapshot().size();
  i->on_packet(testing::advert_from(kPeer, 51, 100, {kVip}, 10ms));
  EXPECT_EQ(i->state(), State::master);
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_GT(sender.snapshot().size(), before);
}

// In a sync group a new Master's first announcement waits for the group's gate; a Master
// announcing again (answering a lower-priority one) does not wait.
TEST_F(InstanceTest, OnlyANewMastersFirstAnnouncementWaitsForTheGroup) {
  auto i = make(config(200));
  int asked = 0;
  i->set_announce_gate([&] { ++asked; });  // the group never lets it through by itself
  i->start();
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(i->announce_phase(), AnnouncePhase::ready);
  EXPECT_EQ(announcer.bursts, 0);
  i->release_announce();
  EXPECT_EQ(announcer.bursts, 1);
  EXPECT_EQ(i->announce_phase(), AnnouncePhase::done);
  i->on_packet(testing::advert_from(kPeer, 51, 100, {kVip}, 10ms));  // a lower-priority Master
  EXPECT_EQ(announcer.bursts, 2) << "answered at once";
  EXPECT_EQ(asked, 1);
}

TEST_F(InstanceTest, ShutdownOfAMasterSendsPriorityZeroAndReleasesTheVips) {
  auto i = make(config(255));
  i->start();
  i->shutdown();
  EXPECT_EQ(priorities_sent().back(), 0);
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_EQ(addresses.count(rtnl::AddrOp::remove), 1u);
}

TEST_F(InstanceTest, AVipRemovedBehindItsBackIsRestoredAndCounted) {
  auto i = make(config(255));
  i->start();
  addresses.vanish(kVip);
  i->on_address_removed(7, kVip);
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_EQ(i->status().counters.vips_restored, 1u);
  // An address on another interface is none of its business.
  addresses.vanish(kVip);
  i->on_address_removed(8, kVip);
  EXPECT_FALSE(addresses.has(kVip));
}

TEST_F(InstanceTest, ATrackedInterfaceDownAtStartMeansFaultAndNoVips) {
  links.down.insert("eth0");
  auto i = make(config(255));
  i->start();
  EXPECT_EQ(i->state(), State::fault);
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_EQ(i->own_fault().find("eth0") != std::string::npos, true) << i->own_fault();
  // The link comes up: out of FAULT, and the owner becomes Master.
  links.down.clear();
  i->on_link("eth0", true);
  EXPECT_EQ(i->state(), State::master);
  EXPECT_TRUE(addresses.has(kVip));
}

TEST_F(InstanceTest, AMasterWhoseLinkGoesDownReleasesItsVips) {
  auto i = make(config(255));
  i->start();
  ASSERT_EQ(i->state(), State::master);
  i->on_link("eth0", false);
  EXPECT_EQ(i->state(), State::fault);
  EXPECT_FALSE(addresses.has(kVip));
}

TEST_F(InstanceTest, ASyncGroupFaultFaultsAMaster) {
  auto i = make(config(255));
  i->start();
  i->set_group_fault("sync group g: VI_2: interface eth1 down");
  EXPECT_EQ(i->state(), State::fault);
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_TRUE(i->own_fault().empty()) << "the group's fault is not the instance's own";
  i->set_group_fault("");
  EXPECT_EQ(i->state(), State::master);
}

TEST_F(InstanceTest, SendErrorsAreCountedNotFatal) {
  sender.fail_with = "sendmsg: Network is unreachable";
  auto i = make(config(255));
  i->start();
  EXPECT_EQ(i->state(), State::master);
  EXPECT_GE(i->status().counters.send_errors, 1u);
}

TEST_F(InstanceTest, AdvertsForAnotherVridOrWithALowTtlAreDroppedAndCounted) {
  auto i = make(config(100));
  i->start();
  auto p = testing::advert_from(kPeer, 51, 150, {kVip}, 10ms);
  p.meta.ttl = 64;  // off-link
  i->on_packet(p);
  EXPECT_EQ(i->status().counters.drops.total, 1u);
  EXPECT_EQ(i->status().counters.adverts_received, 0u);
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }))
      << "a dropped advert must not hold the Backup back";
}

TEST_F(InstanceTest, UnicastAdvertsGoToEachPeerAndOnlyListedPeersCount) {
  auto c = config(255);
  c.unicast_peers = {kPeer};
  auto i = make(c);
  i->start();
  auto sent = sender.snapshot();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.front().dst, kPeer);
  auto stranger = *IpAddress::parse("192.0.2.66");
  i->on_packet(testing::advert_from(stranger, 51, 254, {kVip}, 10ms));
  EXPECT_EQ(i->state(), State::master) << "an advert from an unlisted address is ignored";
  EXPECT_EQ(i->status().counters.unknown_peer, 1u);
}

// #13: a multicast instance with `peers` drops adverts from anyone else (a priority-0 advert
// from a stranger would otherwise cut the Backup's timer to Skew_Time), and counts adverts whose
// interval it does not adopt.
TEST_F(InstanceTest, MulticastPeersAllowListAndIntervalRefusalsAreCounted) {
  auto c = config(100);
  c.params.advert_interval = 1s;  // nothing fires during the test
  c.peers = {kPeer};
  auto i = make(c);
  i->start();
  auto stranger = *IpAddress::parse("192.0.2.66");
  i->on_packet(testing::advert_from(stranger, 51, 0, {kVip}, 1s));
  EXPECT_EQ(i->status().counters.unknown_peer, 1u);
  EXPECT_EQ(i->status().counters.adverts_received, 0u);
  i->on_packet(testing::advert_from(kPeer, 51, 150, {kVip}, 40950ms));
  EXPECT_EQ(i->status().counters.adverts_received, 1u);
  EXPECT_EQ(i->status().counters.interval_too_long, 1u);
  EXPECT_EQ(i->status().master_ip, kPeer.str());
  EXPECT_EQ(i->status().advert_interval_s, 1.0);
  i->on_packet(testing::advert_from(kPeer, 51, 150, {kVip}, 50ms));
  EXPECT_EQ(i->status().counters.interval_too_short, 1u);
  EXPECT_EQ(i->state(), State::backup);
}

// #13 defect 6: excluded VIPs are added and removed with the others, and announced, but never
// advertised.
TEST_F(InstanceTest, ExcludedVipsAreHeldButNotAdvertised) {
  const IpAddress excluded = *IpAddress::parse("2001:db8::100");
  auto c = config(255);
  c.excluded_vips.push_back(VipSpec{excluded, 64, "", 7});
  auto i = make(c);
  i->start();
  ASSERT_EQ(i->state(), State::master);
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_TRUE(addresses.has(excluded));
  EXPECT_EQ(announcer.last, (std::vector<IpAddress>{kVip, excluded}));
  auto sent = sender.snapshot();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.front().advert.addresses, std::vector<IpAddress>{kVip});
  EXPECT_EQ(i->status().excluded_vips, std::vector<std::string>{"2001:db8::100/64"});
  i->shutdown();
  EXPECT_FALSE(addresses.has(kVip));
  EXPECT_FALSE(addresses.has(excluded));
}

// Issue 13, defect 3: a VIP the kernel refuses must not leave a MASTER black-holing traffic.
TEST_F(InstanceTest, AVipTheKernelKeepsRefusingIsRetriedThenFaultsSoThePeerTakesOver) {
  addresses.refuse_adds = true;
  auto c = config(255);
  c.vip_fault_after = 300ms;
  c.vip_fault_hold = 200ms;
  auto i = make(c);
  i->start();
  EXPECT_EQ(i->state(), State::master);
  EXPECT_NE(i->status().vip_problem.find("kernel refused VIP 192.0.2.100/24"), std::string::npos)
      << i->status().vip_problem;
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::fault; }));
  auto s = i->status();
  EXPECT_GE(s.counters.vip_add_retries, 2u) << "retried with backoff before giving up";
  EXPECT_GE(s.counters.vip_add_refused, 3u);
  EXPECT_EQ(s.counters.vip_faults, 1u);
  EXPECT_NE(i->own_fault().find("kernel refused VIP"), std::string::npos) << i->own_fault();
  EXPECT_EQ(priorities_sent().back(), 0) << "leaving MASTER tells the peer at once";
  // After the hold-down it rejoins the election; the kernel now takes the VIP.
  addresses.refuse_adds = false;
  ASSERT_TRUE(run_until(loop, [&] { return i->state() == State::master; }));
  EXPECT_TRUE(addresses.has(kVip));
  EXPECT_EQ(i->status().vip_problem, "");
}

TEST_F(InstanceTest, AVipRefusedOnceAndTakenOnRetryKeepsTheMaster) {
  addresses.refuse_adds = true;
  auto c = config(255);
  c.vip_fault_after = 5s;
  auto i = make(c);
  i->start();
  addresses.refuse_adds = false;
  ASSERT_TRUE(run_until(loop, [&] { return addresses.has(kVip); }));
  EXPECT_EQ(i->state(), State::master);
  EXPECT_EQ(i->status().counters.vip_add_retries, 1u);
  EXPECT_EQ(i->status().vip_problem, "");
  run_for(loop, 300ms);
  EXPECT_EQ(addresses.count(rtnl::AddrOp::add), 2u) << "no retries once the VIP is there";
}

TEST_F(InstanceTest, ARefusalAnsweredAfterLeavingMasterIsIgnored) {
  auto i = make(config(100));
  i->start();
  ASSERT_EQ(i->state(), State::backup);
  i->on_address_result({rtnl::AddrOp::add, VipSpec{kVip, 24, "eth0:1", 7}, EPERM});
  EXPECT_EQ(i->status().counters.vip_add_refused, 0u);
  EXPECT_EQ(i->status().vip_problem, "");
}

}  // namespace
}  // namespace hd::vrrp
