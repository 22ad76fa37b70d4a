// SPDX-License-Identifier: GPL-2.0-or-later
// The Checker's scheduling on simulated time (SimTimers) with scripted probes: every start,
// lateness, overrun, skip and state change is asserted to the nanosecond, and a test that
// covers seconds of schedule runs in microseconds. What a real probe does on a real loop
// is checker_test.cpp's business; here the probe is a script: how long a run takes and
// what it returns, per simulated real server (by port), changeable mid-test.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "checkers/checker.h"
#include "core/timers.h"

namespace hd::checkers {
namespace {

using std::chrono::milliseconds;

struct Behaviour {
  Duration takes{};
  Result result = Result::success();
};

struct ProbeCounts {
  int made = 0;
  int cancelled = 0;
};

// A probe whose run ends `takes` after it starts (simulated time), with `result`: both read
// from the server's behaviour when the run starts.
class ScriptedProbe final : public Probe {
 public:
  ScriptedProbe(SimTimers& sim, const Endpoint& target,
                const std::map<uint16_t, Behaviour>& servers, ProbeCounts& counts)
      : port_(target.port),
        servers_(servers),
        counts_(counts),
        timer_(sim.make([this] {
          running_ = false;
          auto done = std::move(done_);
          done(result_);  // may start the next run of this probe
        })) {
    ++counts_.made;
  }
  void start(ProbeDone done) override {
    auto it = servers_.find(port_);
    Behaviour b = it == servers_.end() ? Behaviour{} : it->second;
    done_ = std::move(done);
    result_ = b.result;
    running_ = true;
    timer_->start(b.takes);
  }
  void cancel() override {
    if (!running_) return;
    running_ = false;
    timer_->stop();
    ++counts_.cancelled;
  }
  bool running() const override { return running_; }

 private:
  uint16_t port_;
  const std::map<uint16_t, Behaviour>& servers_;
  ProbeCounts& counts_;
  std::unique_ptr<TimerSource::Handle> timer_;
  ProbeDone done_;
  Result result_;
  bool running_ = false;
};

Target target(const std::string& id, uint16_t port, Duration interval) {
  Target t;
  t.id = id;
  t.spec.type = CheckType::tcp;
  t.spec.address = *IpAddress::parse("192.0.2.1");
  t.spec.port = port;
  t.spec.interval = interval;
  t.spec.timeout = interval;
  return t;
}

struct Start {
  std::string id;
  Duration due, started;  // since t0
};

class SimCheckerTest : public ::testing::Test {
 protected:
  Checker::Options options(double jitter = 0.0) {
    Checker::Options o;
    o.timers = &sim_;
    o.random = [jitter] { return jitter; };
    o.probes = [this](const SpecPtr&, const Endpoint& target) {
      return std::make_unique<ScriptedProbe>(sim_, target, servers_, counts_);
    };
    o.on_probe_start = [this](const std::string& id, TimePoint due, TimePoint started) {
      starts_.push_back({id, due - t0_, started - t0_});
    };
    return o;
  }
  std::vector<Start> starts_of(const std::string& id) const {
    std::vector<Start> out;
    for (auto& s : starts_)
      if (s.id == id) out.push_back(s);
    return out;
  }
  std::vector<Duration> started_of(const std::string& id) const {
    std::vector<Duration> out;
    for (auto& s : starts_of(id)) out.push_back(s.started);
    return out;
  }
  Duration since_t0(TimePoint t) const { return t - t0_; }

  Loop loop_;  // the Checker's probe context wants one; never run: time is sim_'s
  SimTimers sim_;
  TimePoint t0_ = sim_.now();
  std::map<uint16_t, Behaviour> servers_;
  ProbeCounts counts_;
  std::vector<Start> starts_;
  std::vector<Change> changes_;
  Checker::OnChange record_ = [this](const Change& c) { changes_.push_back(c); };
};

std::vector<Duration> ms(std::initializer_list<int> v) {
  std::vector<Duration> out;
  for (int x : v) out.push_back(milliseconds(x));
  return out;
}

TEST_F(SimCheckerTest, RunsOnAFixedGridFromTheJitteredFirstStart) {
  Checker checker(loop_, record_, options(0.5));
  checker.start({target("a", 80, milliseconds(100))});
  EXPECT_TRUE(starts_.empty());  // nothing runs inside start()
  sim_.advance(milliseconds(450));
  EXPECT_EQ(started_of("a"), ms({50, 150, 250, 350, 450}));
  for (auto& s : starts_) EXPECT_EQ(s.due, s.started);
  EXPECT_EQ(checker.stats().lateness.max(), Duration::zero());
  EXPECT_EQ(checker.stats().overruns, 0u);
  EXPECT_EQ(checker.stats().skipped, 0u);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_TRUE(changes_[0].up);
  EXPECT_EQ(since_t0(changes_[0].at), milliseconds(50));
  EXPECT_EQ(checker.state("a")->checks(), 5u);
}

TEST_F(SimCheckerTest, FirstStartsAreSpreadByTheRandomSource) {
  std::vector<double> draws = {0.0, 0.25, 0.5, 0.75};
  size_t next = 0;
  Checker::Options o = options();
  o.random = [&] { return draws[next++ % draws.size()]; };
  Checker checker(loop_, record_, o);
  std::vector<Target> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(target("t" + std::to_string(i), 80, milliseconds(200)));
  checker.start(ts);
  sim_.advance(milliseconds(199));
  // Targets are visited in the order given: t0 .. t3 get 0, 50, 100, 150 ms.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(started_of("t" + std::to_string(i)), ms({50 * i}));
}

// Building thousands of checks takes a while (here each random draw costs 2 ms of simulated
// time: 64 checks, 128 ms, more than the interval); the first starts count from when every
// check exists, so none is late before it ever ran.
TEST_F(SimCheckerTest, FirstStartsCountFromTheEndOfTheBuild) {
  Checker::Options o = options();
  int draws = 0;
  o.random = [&] {
    sim_.stall(milliseconds(2));
    return (draws++ % 64) / 64.0;  // t<i> gets i/64 of the interval: i ms, exactly
  };
  Checker checker(loop_, record_, o);
  std::vector<Target> ts;
  for (int i = 0; i < 64; ++i) ts.push_back(target("t" + std::to_string(i), 80, milliseconds(64)));
  checker.start(ts);
  ASSERT_EQ(since_t0(sim_.now()), milliseconds(128));
  sim_.advance(milliseconds(63));
  ASSERT_EQ(starts_.size(), 64u);
  for (int i = 0; i < 64; ++i) {
    auto s = starts_of("t" + std::to_string(i));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].due, milliseconds(128 + i));
    EXPECT_EQ(s[0].started, s[0].due);
  }
  EXPECT_EQ(checker.stats().lateness.max(), Duration::zero());
}

// A run never overlaps the previous one: a 100 ms probe every 30 ms starts every 100 ms;
// each due time that finds the probe running is an overrun, and the run that starts late
// drops the runs it fell behind by.
TEST_F(SimCheckerTest, ASlowProbeNeverOverlapsItselfAndSkipsWhatItMissed) {
  servers_[80] = {milliseconds(100), Result::success()};
  Checker checker(loop_, record_, options());
  checker.start({target("slow", 80, milliseconds(30))});
  sim_.advance(milliseconds(300));
  auto s = starts_of("slow");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(started_of("slow"), ms({0, 100, 200, 300}));
  // Due at 30 (found running: overrun), started at 100, 70 ms late; the grid moves past
  // 60 and 90 to 120 (2 skipped); and so on.
  EXPECT_EQ(s[1].due, milliseconds(30));
  EXPECT_EQ(s[2].due, milliseconds(120));
  EXPECT_EQ(s[3].due, milliseconds(210));
  EXPECT_EQ(checker.stats().overruns, 3u);
  EXPECT_EQ(checker.stats().skipped, 2u + 2u + 3u);
  EXPECT_EQ(checker.stats().lateness.max(), milliseconds(90));
  EXPECT_EQ(checker.stats().probes_started, 4u);
  EXPECT_EQ(checker.state("slow")->checks(), 3u);  // the fourth is still running
}

TEST_F(SimCheckerTest, AStalledLoopSkipsTheMissedRunsAndReturnsToTheGrid) {
  Checker checker(loop_, record_, options());
  checker.start({target("a", 80, milliseconds(100))});
  sim_.settle();  // the first run, at once (no jitter)
  sim_.stall(milliseconds(350));
  sim_.settle();  // the run due at 100 starts at 350
  sim_.advance(milliseconds(100));  // to 450
  auto s = starts_of("a");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].due, milliseconds(100));
  EXPECT_EQ(s[1].started, milliseconds(350));
  EXPECT_EQ(s[2].due, milliseconds(400));  // back on the grid: 200 and 300 skipped
  EXPECT_EQ(s[2].started, milliseconds(400));
  EXPECT_EQ(checker.stats().skipped, 2u);
  EXPECT_EQ(checker.stats().lateness.max(), milliseconds(250));
}

// rise 2, fall 3: up at the second success; a server failing from 250 ms is down at the
// third failed run (300, 400, 500), with the failure's reason and the result's time.
TEST_F(SimCheckerTest, RiseAndFallCountRunsAtTheirExactTimes) {
  auto t = target("a", 80, milliseconds(100));
  t.spec.rise = 2;
  t.spec.fall = 3;
  servers_[80] = {milliseconds(10), Result::success()};
  Checker checker(loop_, record_, options());
  checker.start({t});
  sim_.advance(milliseconds(250));
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_TRUE(changes_[0].up);
  EXPECT_EQ(since_t0(changes_[0].at), milliseconds(110));  // the second result
  servers_[80] = {milliseconds(10), Result::failure(Reason::connect_refused)};
  sim_.advance(milliseconds(259));
  ASSERT_EQ(changes_.size(), 1u);  // two failures so far: still up
  sim_.advance(milliseconds(1));
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_FALSE(changes_[1].up);
  EXPECT_EQ(changes_[1].reason, "connect refused");
  EXPECT_EQ(since_t0(changes_[1].at), milliseconds(510));
}

// A local resource error says nothing about the server: no state moves, however many.
TEST_F(SimCheckerTest, InconclusiveRunsMoveNoState) {
  servers_[80] = {Duration::zero(), Result::failure(Reason::local_error, 24)};
  auto t = target("a", 80, milliseconds(100));
  t.spec.initial_up = true;
  Checker checker(loop_, record_, options());
  checker.start({t});
  sim_.advance(milliseconds(1000));
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(checker.state("a")->up());
  EXPECT_EQ(checker.stats().inconclusive, 11u);
}

// update(): an unchanged check keeps its state and its grid; a changed spec restarts from
// its initial state with a fresh first-start offset counted from the update; a check no
// longer wanted stops, its run in progress cancelled.
TEST_F(SimCheckerTest, UpdateKeepsRestartsAndStopsOnTheirSchedules) {
  servers_[80] = {milliseconds(5), Result::success()};
  servers_[81] = {milliseconds(40), Result::success()};
  Checker checker(loop_, record_, options(0.25));
  auto keep = target("keep", 80, milliseconds(100));
  auto change = target("change", 80, milliseconds(100));
  auto drop = target("drop", 81, milliseconds(100));
  checker.start({keep, change, drop});
  sim_.advance(milliseconds(230));  // runs at 25, 125, 225; drop's third run is in flight
  EXPECT_EQ(started_of("drop"), ms({25, 125, 225}));
  change.spec.interval = milliseconds(200);
  checker.update({keep, change});
  EXPECT_EQ(counts_.cancelled, 1);  // drop's run
  sim_.advance(milliseconds(300));  // to 530
  EXPECT_EQ(started_of("keep"), ms({25, 125, 225, 325, 425, 525}));
  // Restarted at 230: first run a quarter of its new interval later, then every 200 ms.
  EXPECT_EQ(started_of("change"), ms({25, 125, 225, 280, 480}));
  EXPECT_EQ(started_of("drop"), ms({25, 125, 225}));
  EXPECT_EQ(checker.state("keep")->checks(), 6u);
  EXPECT_EQ(checker.state("change")->checks(), 2u);  // counted from the restart
  EXPECT_EQ(checker.state("drop"), nullptr);
  // keep was up before the update and is not reported again; change came up again.
  std::vector<std::string> ups;
  for (auto& c : changes_) ups.push_back(c.id + "@" + std::to_string(since_t0(c.at) / milliseconds(1)));
  EXPECT_EQ(ups, (std::vector<std::string>{"keep@30", "change@30", "drop@65", "change@285"}));
}

// Probes live only while they run (keep_between_runs() false): one per run, freed after.
TEST_F(SimCheckerTest, ProbesAreHeldOnlyWhileTheyRun) {
  servers_[80] = {milliseconds(20), Result::success()};
  Checker checker(loop_, record_, options());
  checker.start({target("a", 80, milliseconds(100))});
  sim_.advance(milliseconds(10));
  EXPECT_EQ(checker.probes_held(), 1u);
  sim_.advance(milliseconds(20));
  EXPECT_EQ(checker.probes_held(), 0u);
  sim_.advance(milliseconds(300));
  EXPECT_EQ(counts_.made, 4);
}

}  // namespace
}  // namespace hd::checkers
