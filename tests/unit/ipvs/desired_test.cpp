// SPDX-License-Identifier: GPL-2.0-or-later
// desired(): health, inhibit_on_failure, slow start, quorum with hysteresis and the sorry server.
#include "ipvs/desired.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace hd::ipvs {
namespace {

using std::chrono::seconds;
using testing::dest;
using testing::ip;
using testing::tcp;

const ServiceKey kWeb = tcp("10.0.0.1", 80);
const TimePoint kT0 = TimePoint{} + std::chrono::hours(10);

VirtualServiceSpec web(std::vector<int> weights) {
  VirtualServiceSpec s;
  s.key = kWeb;
  s.scheduler = "wrr";
  for (size_t i = 0; i < weights.size(); ++i)
    s.reals.push_back(RealSpec{"rs" + std::to_string(i + 1),
                               dest("10.0.0." + std::to_string(i + 2), 80, weights[i])});
  return s;
}

// The destinations as "address:weight" strings, in table order.
std::vector<std::string> weights(const Table& t, const ServiceKey& k = kWeb) {
  std::vector<std::string> out;
  for (const auto& d : t.at(k).destinations)
    out.push_back(d.key.address.str() + ":" + std::to_string(d.weight));
  return out;
}

Table run(const VirtualServiceSpec& spec, const HealthMap& h, TimePoint now = kT0) {
  QuorumStates q;
  return desired({spec}, h, now, q);
}

TEST(Desired, ServiceSettingsCarryOver) {
  VirtualServiceSpec s = web({1});
  s.flags = kShPort;
  s.scheduler = "sh";
  s.persistence = seconds(300);
  s.netmask = 24;
  Table t = run(s, {});
  const Service& svc = t.at(kWeb);
  EXPECT_EQ(svc.scheduler, "sh");
  EXPECT_EQ(svc.flags, kShPort | kPersistent);
  EXPECT_EQ(svc.timeout, 300u);
  EXPECT_EQ(svc.netmask, 24);
}

TEST(Desired, NotPersistentWithoutTimeout) {
  VirtualServiceSpec s = web({1});
  s.flags = kPersistent;  // the timeout decides, not a stray bit
  EXPECT_EQ(run(s, {}).at(kWeb).flags, 0u);
}

TEST(Desired, RealWithoutHealthEntryIsUp) {
  EXPECT_THAT(weights(run(web({3, 2}), {})), ::testing::ElementsAre("10.0.0.2:3", "10.0.0.3:2"));
}

TEST(Desired, DownRealIsRemoved) {
  HealthMap h{{"rs1", RealHealth{false}}};
  EXPECT_THAT(weights(run(web({3, 2}), h)), ::testing::ElementsAre("10.0.0.3:2"));
}

TEST(Desired, InhibitOnFailureKeepsDownRealWithWeightZero) {
  VirtualServiceSpec s = web({3, 2});
  s.inhibit_on_failure = true;
  HealthMap h{{"rs1", RealHealth{false}}};
  EXPECT_THAT(weights(run(s, h)), ::testing::ElementsAre("10.0.0.2:0", "10.0.0.3:2"));
}

TEST(Desired, WeightOverrideReplacesConfiguredWeight) {
  HealthMap h{{"rs2", RealHealth{true, 7}}};
  EXPECT_THAT(weights(run(web({3, 2}), h)), ::testing::ElementsAre("10.0.0.2:3", "10.0.0.3:7"));
}

// Slow start 10 s, weight 11: 1 + floor(10 * elapsed / 10 s) = 1 + whole seconds elapsed.
TEST(Desired, SlowStartRampsLinearlyRoundingDown) {
  VirtualServiceSpec s = web({11});
  s.slow_start = seconds(10);
  HealthMap h{{"rs1", RealHealth{true, std::nullopt, kT0}}};
  struct Case {
    Duration after;
    int weight;
  };
  for (auto c : {Case{seconds(0), 1}, Case{std::chrono::milliseconds(999), 1}, Case{seconds(1), 2},
                 Case{std::chrono::milliseconds(2500), 3}, Case{seconds(5), 6},
                 Case{std::chrono::milliseconds(9999), 10}, Case{seconds(10), 11},
                 Case{seconds(3600), 11}}) {
    EXPECT_THAT(weights(run(s, h, kT0 + c.after)),
                ::testing::ElementsAre("10.0.0.2:" + std::to_string(c.weight)))
        << "after " << std::chrono::duration_cast<std::chrono::milliseconds>(c.after).count()
        << " ms";
  }
}

TEST(Desired, SlowStartEdgeCases) {
  Duration ss = seconds(10);
  EXPECT_EQ(slow_start_weight(0, ss, kT0, kT0), 0);  // drained stays drained
  EXPECT_EQ(slow_start_weight(1, ss, kT0, kT0), 1);
  EXPECT_EQ(slow_start_weight(100, ss, kT0, kT0 - seconds(1)), 1);  // clock behind up_since
  EXPECT_EQ(slow_start_weight(100, Duration::zero(), kT0, kT0), 100);
  EXPECT_EQ(slow_start_weight(100, ss, TimePoint{}, kT0), 100);  // up since start-up: no ramp
  // A huge weight over a long ramp does not overflow.
  EXPECT_EQ(slow_start_weight(1'000'000, std::chrono::hours(24 * 30), kT0,
                              kT0 + std::chrono::hours(24 * 15)),
            500'000);
}

TEST(Desired, SlowStartDoesNotRampADownServer) {
  VirtualServiceSpec s = web({11});
  s.slow_start = seconds(10);
  s.inhibit_on_failure = true;
  HealthMap h{{"rs1", RealHealth{false, std::nullopt, kT0}}};
  EXPECT_THAT(weights(run(s, h, kT0 + seconds(5))), ::testing::ElementsAre("10.0.0.2:0"));
}

TEST(Desired, NextChangeIsWhenTheRampNextMovesAWeight) {
  VirtualServiceSpec s = web({11, 5});
  s.slow_start = seconds(10);
  HealthMap h{{"rs1", RealHealth{true, std::nullopt, kT0}},
              {"rs2", RealHealth{true, std::nullopt, kT0 - seconds(9)}}};
  // rs1 reaches 2 at +1 s; rs2 (weight 5, 9 s in: 1 + floor(4 * 0.9) = 4) reaches 5 at +1 s too.
  EXPECT_EQ(next_change({s}, h, kT0), kT0 + seconds(1));
  EXPECT_EQ(next_change({s}, h, kT0 + std::chrono::milliseconds(1500)), kT0 + seconds(2));
  // At each announced time the table really changes, and not before.
  TimePoint t = kT0;
  std::vector<std::string> last = weights(run(s, h, t));
  int changes = 0;
  while (auto next = next_change({s}, h, t)) {
    EXPECT_EQ(weights(run(s, h, *next - Duration(1))), last);
    auto now = weights(run(s, h, *next));
    EXPECT_NE(now, last);
    last = now;
    t = *next;
    ++changes;
  }
  EXPECT_EQ(changes, 10);
  EXPECT_THAT(last, ::testing::ElementsAre("10.0.0.2:11", "10.0.0.3:5"));
  EXPECT_EQ(next_change({s}, {}, kT0), std::nullopt);
}

VirtualServiceSpec quorum_web() {
  VirtualServiceSpec s = web({2, 2, 2});
  s.quorum = 4;
  s.hysteresis = 1;
  s.sorry = dest("10.0.0.100", 80);
  return s;
}

HealthMap up_to(int n) {
  HealthMap h;
  for (int i = 1; i <= 3; ++i) h["rs" + std::to_string(i)] = RealHealth{i <= n};
  return h;
}

TEST(Desired, QuorumLostBringsTheSorryServerAloneAndHysteresisDelaysRegain) {
  VirtualServiceSpec s = quorum_web();
  QuorumStates q;
  auto at = [&](int live_servers) { return weights(desired({s}, up_to(live_servers), kT0, q)); };
  using ::testing::ElementsAre;
  EXPECT_THAT(at(3), ElementsAre("10.0.0.2:2", "10.0.0.3:2", "10.0.0.4:2"));
  EXPECT_TRUE(q.at(kWeb).up);
  EXPECT_EQ(q.at(kWeb).live_weight, 6);
  EXPECT_THAT(at(2), ElementsAre("10.0.0.2:2", "10.0.0.3:2"));  // live 4 >= quorum 4
  EXPECT_THAT(at(1), ElementsAre("10.0.0.100:1"));              // live 2 < 4: lost
  EXPECT_FALSE(q.at(kWeb).up);
  EXPECT_THAT(at(2), ElementsAre("10.0.0.100:1"));  // live 4 < 4 + 1: not yet regained
  EXPECT_FALSE(q.at(kWeb).up);
  EXPECT_THAT(at(3), ElementsAre("10.0.0.2:2", "10.0.0.3:2", "10.0.0.4:2"));  // 6 >= 5
  EXPECT_TRUE(q.at(kWeb).up);
  EXPECT_THAT(at(2), ElementsAre("10.0.0.2:2", "10.0.0.3:2"));  // 4: still up
}

TEST(Desired, FirstEvaluationHasNoHysteresis) {
  VirtualServiceSpec s = quorum_web();
  QuorumStates q;
  // Live 4: quorum 4 is met at start-up even though regaining would need 5.
  EXPECT_EQ(desired({s}, up_to(2), kT0, q).at(kWeb).destinations.size(), 2u);
  EXPECT_TRUE(q.at(kWeb).up);
}

TEST(Desired, QuorumZeroStillFallsBackWhenNothingIsLive) {
  VirtualServiceSpec s = web({1, 1});
  s.sorry = dest("10.0.0.100", 80);
  QuorumStates q;
  HealthMap down{{"rs1", RealHealth{false}}, {"rs2", RealHealth{false}}};
  EXPECT_THAT(weights(desired({s}, down, kT0, q)), ::testing::ElementsAre("10.0.0.100:1"));
  EXPECT_THAT(weights(desired({s}, {}, kT0, q)),
              ::testing::ElementsAre("10.0.0.2:1", "10.0.0.3:1"));
}

TEST(Desired, QuorumLostWithoutSorryServerKeepsTheLiveServers) {
  VirtualServiceSpec s = quorum_web();
  s.sorry.reset();
  QuorumStates q;
  EXPECT_THAT(weights(desired({s}, up_to(1), kT0, q)), ::testing::ElementsAre("10.0.0.2:2"));
  EXPECT_FALSE(q.at(kWeb).up);
}

TEST(Desired, QuorumCountsFullWeightsNotTheRamp) {
  VirtualServiceSpec s = quorum_web();
  s.slow_start = seconds(10);
  HealthMap h = up_to(3);
  for (auto& [id, health] : h) health.up_since = kT0;  // all just came up: weights 1
  QuorumStates q;
  Table t = desired({s}, h, kT0, q);
  EXPECT_THAT(weights(t), ::testing::ElementsAre("10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1"));
  EXPECT_EQ(q.at(kWeb).live_weight, 6);
}

// inhibit_on_failure never removes a real server: with quorum lost they stay beside the
// sorry server at weight 0 (live or not), as keepalived keeps them (#15's differential
// test found the difference); a real server that is also the sorry server is the sorry one.
TEST(Desired, InhibitedServersDoNotCountTowardsQuorumAndStayBesideTheSorryServer) {
  VirtualServiceSpec s = quorum_web();
  s.inhibit_on_failure = true;
  QuorumStates q;
  EXPECT_THAT(weights(desired({s}, up_to(2), kT0, q)),
              ::testing::ElementsAre("10.0.0.2:2", "10.0.0.3:2", "10.0.0.4:0"));
  EXPECT_THAT(weights(desired({s}, up_to(1), kT0, q)),
              ::testing::UnorderedElementsAre("10.0.0.100:1", "10.0.0.2:0", "10.0.0.3:0",
                                              "10.0.0.4:0"));
  s.sorry = dest("10.0.0.3", 80);
  EXPECT_THAT(weights(desired({s}, up_to(0), kT0, q)),
              ::testing::UnorderedElementsAre("10.0.0.3:1", "10.0.0.2:0", "10.0.0.4:0"));
}

using Mode = AdminOverride::Mode;

TEST(Desired, OperatorOverridesDrainMaintAndRuntimeWeight) {
  using ::testing::ElementsAre;
  VirtualServiceSpec s = web({3, 2, 4});
  HealthMap h{{"rs2", RealHealth{true, 7}}};  // a script's weight for rs2
  QuorumStates q;
  // Drained: kept with weight 0 even without inhibit_on_failure; maint (out): gone.
  AdminMap a{{"rs1", {Mode::drain, {}}}, {"rs3", {Mode::out, {}}}};
  EXPECT_THAT(weights(desired({s}, h, kT0, q, a)), ElementsAre("10.0.0.2:0", "10.0.0.3:7"));
  // The operator's weight beats the script's and the configured one.
  a = {{"rs2", {Mode::none, 9}}, {"rs3", {Mode::none, 0}}};
  EXPECT_THAT(weights(desired({s}, h, kT0, q, a)),
              ElementsAre("10.0.0.2:3", "10.0.0.3:9", "10.0.0.4:0"));
  // A drained server that goes down follows health as usual: removed (no inhibit).
  h["rs1"] = RealHealth{false};
  a = {{"rs1", {Mode::drain, {}}}};
  EXPECT_THAT(weights(desired({s}, h, kT0, q, a)), ElementsAre("10.0.0.3:7", "10.0.0.4:4"));
}

TEST(Desired, DrainedAndOutServersAddNothingToQuorum) {
  VirtualServiceSpec s = quorum_web();  // quorum 4, weights 2, 2, 2, a sorry server
  QuorumStates q;
  AdminMap a{{"rs1", {Mode::drain, {}}}, {"rs2", {Mode::out, {}}}};
  // Quorum lost: the sorry server takes new connections, the drained server keeps its own
  // (weight 0) until its drain ends; the live rs3 leaves as usual.
  EXPECT_THAT(weights(desired({s}, up_to(3), kT0, q, a)),
              ::testing::ElementsAre("10.0.0.100:1", "10.0.0.2:0"));
  EXPECT_EQ(q.at(kWeb).live_weight, 2);
  // A runtime weight counts in full.
  a = {{"rs1", {Mode::none, 10}}};
  (void)desired({s}, up_to(1), kT0, q, a);
  EXPECT_EQ(q.at(kWeb).live_weight, 10);
}

TEST(Desired, RuntimeWeightRampsButOverriddenServersDoNotScheduleRampSteps) {
  VirtualServiceSpec s = web({11});
  s.slow_start = seconds(10);
  HealthMap h{{"rs1", RealHealth{true, std::nullopt, kT0}}};
  AdminMap a{{"rs1", {Mode::none, 21}}};
  QuorumStates q;
  EXPECT_THAT(weights(desired({s}, h, kT0 + seconds(5), q, a)),
              ::testing::ElementsAre("10.0.0.2:11"));  // 1 + floor(20 * 5 / 10)
  EXPECT_TRUE(next_change({s}, h, kT0 + seconds(5), a).has_value());
  a = {{"rs1", {Mode::drain, {}}}};
  EXPECT_EQ(next_change({s}, h, kT0 + seconds(5), a), std::nullopt);
}

TEST(Desired, QuorumStatesOfRemovedServicesAreDropped) {
  QuorumStates q;
  (void)desired({quorum_web()}, {}, kT0, q);
  EXPECT_EQ(q.size(), 1u);
  Table t = desired({}, {}, kT0, q);
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(q.empty());
}

TEST(Desired, ServicesAreIndependent) {
  VirtualServiceSpec a = quorum_web();
  VirtualServiceSpec b = web({5});
  b.key = tcp("10.0.0.1", 443);
  b.reals[0].id = "other";
  QuorumStates q;
  Table t = desired({a, b}, up_to(0), kT0, q);
  EXPECT_THAT(weights(t), ::testing::ElementsAre("10.0.0.100:1"));
  EXPECT_THAT(weights(t, b.key), ::testing::ElementsAre("10.0.0.2:5"));
}

}  // namespace
}  // namespace hd::ipvs
