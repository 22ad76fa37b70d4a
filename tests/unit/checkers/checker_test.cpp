// SPDX-License-Identifier: GPL-2.0-or-later
// The Checker with real probes on a real loop. Its scheduling (grid, jitter, overruns,
// skips, hysteresis timing, update) is tested exactly on simulated time in
// checker_schedule_test.cpp.
#include "checkers/checker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

Target tcp_target(const std::string& id, uint16_t port, Duration interval = milliseconds(40)) {
  Target t;
  t.id = id;
  t.spec.type = CheckType::tcp;
  t.spec.address = *IpAddress::parse("127.0.0.1");
  t.spec.port = port;
  t.spec.interval = interval;
  t.spec.timeout = milliseconds(30);
  return t;
}

struct Start {
  std::string id;
  TimePoint due, started;
};

// A Checker on its own loop that records changes and probe starts.
class CheckerTest : public ::testing::Test {
 protected:
  Checker::Options options(double jitter = 0.0) {
    Checker::Options o;
    o.random = [jitter] { return jitter; };
    o.on_probe_start = [this](const std::string& id, TimePoint due, TimePoint started) {
      starts_.push_back({id, due, started});
    };
    return o;
  }
  // Runs the loop until pred() or the guard.
  template <typename Pred>
  bool run_until(Pred pred, Duration guard = std::chrono::seconds(5)) {
    auto end = SteadyClock::now() + guard;
    Timer poll(loop_, [&] {
      if (pred() || SteadyClock::now() > end) loop_.stop();
    });
    poll.start(milliseconds(1), milliseconds(2));
    loop_.run();
    return pred();
  }
  void run_for(Duration d) {
    Timer t(loop_, [&] { loop_.stop(); });
    t.start(d);
    loop_.run();
  }
  std::vector<Start> starts_of(const std::string& id) const {
    std::vector<Start> out;
    for (auto& s : starts_)
      if (s.id == id) out.push_back(s);
    return out;
  }
  std::string changes_of(const std::string& id) const {
    std::string out;
    for (auto& c : changes_) {
      if (c.id != id) continue;
      if (!out.empty()) out += ", ";
      out += (c.up ? "up (" : "down (") + c.reason + ")";
    }
    return out;
  }
  Loop loop_;
  std::vector<Change> changes_;
  std::vector<Start> starts_;
  Checker::OnChange record_ = [this](const Change& c) { changes_.push_back(c); };
};

// spec(id) returns what each check runs, as given, its target included.
TEST_F(CheckerTest, SpecReturnsWhatEachCheckRuns) {
  Checker c(loop_, record_, options());
  auto a = tcp_target("a", 1), b = tcp_target("b", 2, milliseconds(500));
  b.spec.rise = 3;
  c.start({a, b});
  ASSERT_TRUE(c.spec("a"));
  EXPECT_EQ(*c.spec("a"), a.spec);
  EXPECT_EQ(*c.spec("b"), b.spec);
  EXPECT_FALSE(c.spec("c"));
  const CheckState* kept = c.state("a");
  b.spec.rise = 1;
  c.update({a, b});
  EXPECT_EQ(c.state("a"), kept);  // unchanged: the same check, not a rebuilt one
  EXPECT_EQ(c.spec("b")->rise, 1);
  c.update({b});
  EXPECT_FALSE(c.spec("a"));
}

// Checks that differ only in their targets share one spec (10,000 real servers checked
// alike hold one, not 10,000 of ~600 bytes); a spec no check holds any more is forgotten.
TEST_F(CheckerTest, ChecksThatDifferOnlyInTargetShareOneSpec) {
  Checker c(loop_, record_, options());
  std::vector<Target> ts;
  for (uint16_t port = 1; port <= 100; ++port)
    ts.push_back(tcp_target("t" + std::to_string(port), port, std::chrono::seconds(60)));
  Target other = tcp_target("other", 7, milliseconds(500));
  Target v6 = tcp_target("v6", 7, std::chrono::seconds(60));
  v6.spec.address = *IpAddress::parse("::1");
  ts.push_back(other);
  ts.push_back(v6);
  c.start(ts);
  EXPECT_EQ(c.size(), 102u);
  EXPECT_EQ(c.shared_specs(), 2u);  // the 100 alike and v6 share one; `other` has its own
  EXPECT_EQ(c.spec("t42")->port, 42);
  EXPECT_EQ(*c.spec("v6"), v6.spec);
  // The same spec at another target is a changed check: it restarts.
  const CheckState* before = c.state("t1");
  ts[0].spec.port = 1000;
  c.update(ts);
  EXPECT_NE(c.state("t1"), before);
  EXPECT_EQ(c.spec("t1")->port, 1000);
  // `other` gone: once the stopped check is freed, its spec is too.
  ts.erase(ts.begin() + 100);
  c.update(ts);
  EXPECT_TRUE(run_until([&] { return c.shared_specs() == 1u; }));
}

// A TCP probe exists only while it runs (10,000 idle probes would hold ~8 MB); the next run
// gets a new one and still reports.
TEST_F(CheckerTest, ProbesAreHeldOnlyWhileTheyRun) {
  TestServer server(TestServer::accept_and_close());
  Checker c(loop_, record_, options());
  c.start({tcp_target("a", server.port(), milliseconds(300))});
  ASSERT_TRUE(run_until([&] { return c.state("a") && c.state("a")->up() && c.probes_held() == 0; }));
  ASSERT_TRUE(run_until([&] { return starts_of("a").size() == 2; }));
  ASSERT_TRUE(run_until([&] { return c.state("a")->checks() == 2 && c.probes_held() == 0; }));
  EXPECT_TRUE(c.state("a")->up());
}

// Status in steps of at most kStatusTargetsPerStep targets, going on after the last id
// written: a check added behind the cursor between steps is not written, one ahead is, and
// none is written twice.
TEST_F(CheckerTest, StatusStepsWriteEveryTargetOnceInSlices) {
  Checker c(loop_, record_, options());
  std::vector<Target> targets;
  auto name = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "t%04d", i);
    return std::string(b);
  };
  for (int i = 0; i < 600; i += 2) targets.push_back(tcp_target(name(i), 1, std::chrono::hours(1)));
  c.start(targets);
  std::vector<JsonStep> steps;
  c.status_steps(steps);
  ASSERT_EQ(steps.size(), 2u);
  JsonWriter w;
  EXPECT_FALSE(steps[0](w));  // t0000 .. t0498
  auto count = [&] {
    size_t n = 0;
    for (size_t at = w.str().find("\"id\":"); at != std::string::npos;
         at = w.str().find("\"id\":", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count(), Checker::kStatusTargetsPerStep);
  targets.push_back(tcp_target(name(1), 1, std::chrono::hours(1)));    // behind: not written
  targets.push_back(tcp_target(name(599), 1, std::chrono::hours(1)));  // ahead: written
  c.update(targets);
  EXPECT_TRUE(steps[0](w));
  EXPECT_TRUE(steps[1](w));
  EXPECT_EQ(count(), 301u);
  EXPECT_EQ(w.str().find("\"t0001\""), std::string::npos);
  EXPECT_NE(w.str().find("\"t0599\""), std::string::npos);
  EXPECT_NE(w.str().find("\"up\":0,\"down\":301"), std::string::npos) << w.str().substr(w.str().size() - 300);
  // Run at once, the same targets as status().
  JsonWriter all, one;
  std::vector<JsonStep> again;
  c.status_steps(again);
  run_all(again, all);
  c.status(one);
  auto ids = [](const std::string& t) {
    size_t n = 0;
    for (size_t at = t.find("\"id\":"); at != std::string::npos; at = t.find("\"id\":", at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(ids(all.str()), 302u);
  EXPECT_EQ(ids(one.str()), 302u);
  EXPECT_EQ(all.str().substr(all.str().find("\"up\":")), one.str().substr(one.str().find("\"up\":")));
}

TEST_F(CheckerTest, FlappingServerShowsHysteresis) {
  // Each probe gets the next status: rise 2 / fall 2 filter single blips.
  TestServer server(TestServer::http_sequence({200, 200, 500, 200, 500, 500, 500, 200, 200}));
  Target t;
  t.id = "web/127.0.0.1";
  t.spec.type = CheckType::http;
  t.spec.address = *IpAddress::parse("127.0.0.1");
  t.spec.port = server.port();
  t.spec.interval = milliseconds(25);
  t.spec.timeout = milliseconds(500);
  t.spec.rise = 2;
  t.spec.fall = 2;
  Checker checker(loop_, record_, options());
  checker.start({t});
  ASSERT_TRUE(run_until([&] { return changes_.size() >= 3; }));
  EXPECT_EQ(changes_of("web/127.0.0.1"), "up (ok), down (bad status 500), up (ok)");
  const CheckState* s = checker.state("web/127.0.0.1");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->up());
  EXPECT_EQ(s->checks(), 9u);
  EXPECT_EQ(s->failures(), 4u);
}

TEST_F(CheckerTest, UpdateKeepsRestartsAndStops) {
  TestServer server(TestServer::accept_and_close());
  uint16_t refused = refused_port();
  Checker checker(loop_, record_, options());
  checker.start({tcp_target("keep", server.port()), tcp_target("drop", refused)});
  ASSERT_TRUE(run_until([&] {
    auto* d = checker.state("drop");
    return !changes_.empty() && d && d->checks() >= 2;
  }));
  EXPECT_EQ(changes_of("keep"), "up (ok)");
  EXPECT_EQ(changes_of("drop"), "");  // down from the start: no change
  EXPECT_EQ(checker.state("drop")->last_result()->to_string(), "connect refused");
  const CheckState* keep_before = checker.state("keep");
  uint64_t keep_checks = keep_before->checks();

  // Unchanged "keep", "drop" gone, "new" added.
  checker.update({tcp_target("keep", server.port()), tcp_target("new", server.port())});
  EXPECT_EQ(checker.state("keep"), keep_before);  // same object: state kept
  EXPECT_EQ(checker.state("drop"), nullptr);
  EXPECT_EQ(checker.size(), 2u);
  size_t starts_at_update = starts_.size();
  ASSERT_TRUE(run_until([&] {
    return changes_of("new") == "up (ok)" && checker.state("keep")->checks() > keep_checks;
  }));
  EXPECT_EQ(changes_of("keep"), "up (ok)");  // no second "up"
  EXPECT_GT(checker.state("keep")->checks(), keep_checks);
  for (size_t i = starts_at_update; i < starts_.size(); ++i) EXPECT_NE(starts_[i].id, "drop");

  // A changed spec restarts from the initial state (down), so it comes up again.
  Target changed = tcp_target("keep", server.port());
  changed.spec.rise = 2;
  checker.update({changed, tcp_target("new", server.port())});
  EXPECT_FALSE(checker.state("keep")->up());
  EXPECT_EQ(checker.state("keep")->checks(), 0u);
  ASSERT_TRUE(run_until([&] { return changes_of("keep") == "up (ok), up (ok)"; }));
  EXPECT_EQ(checker.state("keep")->checks(), 2u);
}

TEST_F(CheckerTest, InitialUpGoesDownWithTheReason) {
  Checker checker(loop_, record_, options());
  Target t = tcp_target("x", refused_port());
  t.spec.initial_up = true;
  t.spec.fall = 2;
  checker.start({t});
  ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
  EXPECT_EQ(changes_of("x"), "down (connect refused)");
  EXPECT_EQ(checker.state("x")->checks(), 2u);
  EXPECT_FALSE(changes_[0].weight.has_value());
}

TEST_F(CheckerTest, ScriptWeightsReachTheChange) {
  Target t;
  t.id = "weighted";
  t.spec.type = CheckType::script;
  t.spec.argv = {"/bin/sh", "-c", "exit 3"};
  t.spec.exit_weights = {{3, 42}};
  t.spec.interval = milliseconds(30);
  Checker checker(loop_, record_, options());
  checker.start({t});
  ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
  EXPECT_TRUE(changes_[0].up);
  EXPECT_EQ(changes_[0].weight, 42);
  EXPECT_FALSE(changes_[0].weight_only);
}

TEST_F(CheckerTest, InvalidSpecIsReportedNotDropped) {
  Checker checker(loop_, record_, options());
  Target t = tcp_target("bad", 0);
  t.spec.initial_up = true;
  checker.start({t});
  ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
  EXPECT_EQ(changes_of("bad"), "down (invalid check: port 0)");
}

TEST_F(CheckerTest, OnChangeMayStopOrUpdate) {
  TestServer server(TestServer::accept_and_close());
  Checker* self = nullptr;
  int calls = 0;
  Checker checker(
      loop_,
      [&](const Change& c) {
        ++calls;
        if (c.id == "a") self->update({tcp_target("b", server.port())});
        if (c.id == "b") self->stop();
      },
      options());
  self = &checker;
  checker.start({tcp_target("a", server.port())});
  ASSERT_TRUE(run_until([&] { return calls == 2; }));
  EXPECT_EQ(checker.size(), 0u);
  run_for(milliseconds(100));
  EXPECT_EQ(calls, 2);
}

TEST_F(CheckerTest, DuplicateIdsFirstWins) {
  Checker checker(loop_, record_, options());
  TestServer server(TestServer::accept_and_close());
  checker.start({tcp_target("d", server.port()), tcp_target("d", refused_port())});
  EXPECT_EQ(checker.size(), 1u);
  EXPECT_EQ(checker.duplicate_ids(), 1u);
  // The one kept is the first: its target accepts.
  ASSERT_TRUE(run_until([&] { return checker.state("d")->checks() >= 1; }));
  EXPECT_EQ(checker.state("d")->last_result()->to_string(), "ok");
}

TEST_F(CheckerTest, StatusJson) {
  TestServer server(TestServer::accept_and_close());
  Checker checker(loop_, record_, options());
  checker.start({tcp_target("up1", server.port()), tcp_target("down1", refused_port())});
  ASSERT_TRUE(run_until([&] {
    auto* d = checker.state("down1");
    return !changes_.empty() && d && d->checks() >= 1;
  }));
  JsonWriter w;
  checker.status(w);
  const std::string& j = w.str();
  for (const char* want :
       {"\"id\":\"up1\"", "\"state\":\"up\"", "\"last_result\":\"ok\"", "\"id\":\"down1\"",
        "\"state\":\"down\"", "\"last_result\":\"connect refused\"", "\"type\":\"tcp\"",
        "\"since\":", "\"consecutive\":", "\"checks\":", "\"failures\":", "\"up\":1", "\"down\":1",
        "\"scheduler\":{\"probes\":", "\"late_p99_ms\":", "\"late_max_ms\":"})
    EXPECT_NE(j.find(want), std::string::npos) << want << " in " << j;
}

TEST_F(CheckerTest, HalfOpenChecksShowTheirProberInStatus) {
  TestServer server(TestServer::accept_and_close());
  Checker checker(loop_, record_, options());
  {
    JsonWriter w;
    checker.status(w);
    EXPECT_NE(w.str().find("\"syn_probes\":null"), std::string::npos) << w.str();
  }
  Target up = tcp_target("syn-up", server.port());
  up.spec.half_open = true;
  Target down = tcp_target("syn-down", refused_port());
  down.spec.half_open = true;
  checker.start({up, down});
  ASSERT_TRUE(run_until([&] {
    auto* u = checker.state("syn-up");
    auto* d = checker.state("syn-down");
    return u && u->up() && d && d->checks() >= 2;
  }));
  EXPECT_EQ(changes_of("syn-up"), "up (ok)");
  EXPECT_EQ(checker.state("syn-down")->last_result()->to_string(), "connect refused");
  EXPECT_EQ(server.accepted(), 0);
  JsonWriter w;
  checker.status(w);
  for (const char* want : {"\"syn_probes\":{\"source_ports\":\"", "\"sent\":", "\"answers\":",
                           "\"unmatched\":", "\"source_lookups\":1"})
    EXPECT_NE(w.str().find(want), std::string::npos) << want << " in " << w.str();
}

TEST(CheckerClock, SinceIsReportedAsWallClock) {
  Loop loop;
  ManualClock clock;
  Checker::Options o;
  o.clock = &clock;
  o.random = [] { return 0.0; };
  Checker checker(loop, nullptr, o);
  checker.start({tcp_target("c", 1)});
  clock.advance(std::chrono::seconds(100));
  JsonWriter w;
  checker.status(w);
  // Created 100 s ago by the injected clock: "since" is ~100 s before now.
  auto pos = w.str().find("\"since\":");
  ASSERT_NE(pos, std::string::npos);
  double since = std::stod(w.str().substr(pos + 8));
  EXPECT_NEAR(wall_seconds() - since, 100.0, 1.0);
}

}  // namespace
}  // namespace hd::checkers
