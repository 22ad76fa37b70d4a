// SPDX-License-Identifier: GPL-2.0-or-later
// Director::reload with fake subsystems: all or nothing, and status tells the truth.
#include "daemon/director.h"

#include <gtest/gtest.h>

#include <optional>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace hd {
namespace {

// Records which configs it was given; fails reloads towards a config whose router_id is
// `fail_towards`, and can be made to fail its rollback too.
class FakeSubsystem final : public Subsystem {
 public:
  FakeSubsystem(std::string name, std::vector<std::string>& journal)
      : name_(std::move(name)), journal_(journal) {}
  std::string_view name() const override { return name_; }
  std::string start(const config::Config& c) override {
    running = c.global.router_id;
    return "";
  }
  std::string reload(const config::Config&, const config::Config& n) override {
    journal_.push_back(name_ + " -> " + n.global.router_id);
    if (n.global.router_id == fail_towards) {
      if (half_apply) running = n.global.router_id;  // a subsystem that failed half-way
      return "cannot open a socket on eth9";
    }
    if (!fail_rollback_to.empty() && n.global.router_id == fail_rollback_to)
      return "the old interface is gone too";
    running = n.global.router_id;
    return "";
  }
  void stop() override { journal_.push_back(name_ + " stop"); }
  void begin_stop() override { journal_.push_back(name_ + " begin_stop"); }
  bool handing_over() const override { return handing_over_; }
  void status(JsonWriter& w) const override { run_all(steps(), w); }
  // `slices` steps of ~1 ms each, writing "NAME": [0, 1, ...]: a subsystem with a large
  // status.
  void status_steps(std::vector<JsonStep>& out) const override {
    auto more = steps();
    out.insert(out.end(), more.begin(), more.end());
  }
  std::vector<JsonStep> steps() const {
    auto n = std::make_shared<int>(0);
    std::vector<JsonStep> out;
    out.push_back([this, n](JsonWriter& w) {
      if (*n == 0) w.key(name_).begin_array();
      if (*n < slices) {
        auto until = SteadyClock::now() + Millis(1);
        while (SteadyClock::now() < until) {
        }
        w.value(*n);
        if (pad > 0) w.value(std::string(pad, 'x'));
        ++*n;
        return false;
      }
      w.end_array();
      return true;
    });
    return out;
  }
  int slices = 0;
  size_t pad = 0;  // each slice also writes a string of this many bytes
  void status_text(std::string&) const override {}
  void metrics(metrics::Writer& w) const override {
    w.gauge("hadirector_fake_" + name_, "A fake's family.");
    w.sample(1);
  }
  std::string unhealthy() const override { return sick; }
  void set_overrides(Overrides& o) override {
    ++overrides_pushed;
    seen_overrides = o.reals().size();
    store = &o;
  }

  int overrides_pushed = 0;
  size_t seen_overrides = 0;
  Overrides* store = nullptr;  // what the LVS subsystem records a drain's end in
  std::string running, fail_towards, fail_rollback_to, sick;
  bool half_apply = false;
  bool handing_over_ = false;

 private:
  std::string name_;
  std::vector<std::string>& journal_;
};

class DirectorTest : public ::testing::Test {
 protected:
  DirectorTest() {
    char tmpl[] = "/tmp/hd-director-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/hd.toml";
    write("old");
  }
  ~DirectorTest() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& router_id, const std::string& more = "") {
    std::ofstream(path_) << "[global]\nrouter_id = \"" << router_id << "\"\ncontrol_socket = \""
                         << dir_ << "/ctl.sock\"\nstate_dir = \"" << dir_ << "/state\"\n"
                         << "dataplane = \"none\"\n"
                         << more;
  }
  std::unique_ptr<Director> make() {
    auto r = config::load_file(path_);
    EXPECT_TRUE(r.ok());
    std::vector<std::unique_ptr<Subsystem>> subs;
    for (auto n : {"a", "b", "c"}) {
      auto s = std::make_unique<FakeSubsystem>(n, journal);
      fakes.push_back(s.get());
      subs.push_back(std::move(s));
    }
    auto d = std::make_unique<Director>(loop, path_, *r.config, std::move(subs));
    EXPECT_EQ(d->start(), "");
    return d;
  }
  std::vector<std::string> running() const {
    std::vector<std::string> v;
    for (auto* f : fakes) v.push_back(f->running);
    return v;
  }

  Loop loop;
  std::string dir_, path_;
  std::vector<std::string> journal;
  std::vector<FakeSubsystem*> fakes;
};

TEST_F(DirectorTest, AValidReloadReachesEverySubsystemAndCountsAsOk) {
  auto d = make();
  write("new");
  auto r = d->reload();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.generation, 2);
  EXPECT_EQ(running(), (std::vector<std::string>{"new", "new", "new"}));
  EXPECT_NE(d->status_json(false).find("\"ok\":1,\"failed\":0"), std::string::npos)
      << d->status_json(false);
  // The control socket's counters are in status too.
  EXPECT_NE(d->status_json(false).find("\"control\":{\"accepted\":0,\"accept_errors\":0,"),
            std::string::npos)
      << d->status_json(false);
}

TEST_F(DirectorTest, StopWaitsForTheHandoverBeforeStoppingAnySubsystem) {
  auto d = make();
  fakes[2]->handing_over_ = true;  // VRRP: a Master lingering after it handed over
  d->stop();
  // Every subsystem was told first; none stopped while one hands over.
  EXPECT_EQ(journal, (std::vector<std::string>{"a begin_stop", "b begin_stop", "c begin_stop"}));
  Timer done(loop, [&] { fakes[2]->handing_over_ = false; });
  done.start(Millis(50));
  const auto t0 = SteadyClock::now();
  loop.run();  // until the director leaves it
  EXPECT_GE(SteadyClock::now() - t0, Millis(50));
  // Then in reverse order (the last started stops first).
  EXPECT_EQ(journal, (std::vector<std::string>{"a begin_stop", "b begin_stop", "c begin_stop",
                                               "c stop", "b stop", "a stop"}));
}

TEST_F(DirectorTest, StopWithNothingToHandOverStopsAtOnce) {
  auto d = make();
  d->stop();
  EXPECT_EQ(journal, (std::vector<std::string>{"a begin_stop", "b begin_stop", "c begin_stop",
                                               "c stop", "b stop", "a stop"}));
}

TEST_F(DirectorTest, ASubsystemThatFailsRollsBackEveryOneThatTookTheNewConfig) {
  auto d = make();
  fakes[1]->fail_towards = "new";
  fakes[1]->half_apply = true;
  write("new");
  auto r = d->reload();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.generation, 1) << "the old generation keeps running";
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "b: cannot open a socket on eth9");
  EXPECT_EQ(running(), (std::vector<std::string>{"old", "old", "old"}));
  // c never saw the new config; b (half-applied) and a went back, last first.
  EXPECT_EQ(journal, (std::vector<std::string>{"a -> new", "b -> new", "b -> old", "a -> old"}));
  EXPECT_EQ(d->config().global.router_id, "old");
  auto json = d->status_json(false);
  EXPECT_NE(json.find("\"ok\":0,\"failed\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("b: cannot open a socket on eth9"), std::string::npos) << json;
  EXPECT_NE(d->status_text().find("last reload error: b: cannot open a socket"), std::string::npos);
  // The control socket's answer says it failed (what `hadirector reload` exits 1 on).
  EXPECT_NE(d->handle_request(control::Peer{}, "reload").find("failed: still running config generation 1"),
            std::string::npos);
}

TEST_F(DirectorTest, ARollbackThatFailsTooIsReportedNotHidden) {
  auto d = make();
  fakes[1]->fail_towards = "new";
  fakes[0]->fail_rollback_to = "old";
  write("new");
  auto r = d->reload();
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[1], "a: could not go back to the running config either: the old interface is gone too");
  EXPECT_NE(d->status_text().find("WARNING: a failed reload could not be rolled back"),
            std::string::npos);
  EXPECT_NE(d->status_json(false).find("\"rollback_failed\":true"), std::string::npos);
}

TEST_F(DirectorTest, AnInvalidFileReachesNoSubsystem) {
  auto d = make();
  std::ofstream(path_) << "[global]\nbogus = 1\n";
  auto r = d->reload();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(journal.empty());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find(":2:1: error: unknown key 'bogus'"), std::string::npos) << r.errors[0];
}

TEST_F(DirectorTest, TheControlSocketAnswersOkAfterAGoodReload) {
  auto d = make();
  write("new");
  EXPECT_EQ(d->handle_request(control::Peer{}, "reload"), "ok: running config generation 2\n");
}

// SIGHUP and `hadirector reload` parse on a thread: the loop keeps running (timers fire)
// while the file is read, the subsystems get the result on the loop, and a request made
// while a parse runs is answered by the next parse (the file may have changed meanwhile).
TEST_F(DirectorTest, RequestedReloadsParseOffTheLoopAndQueueUpBehindAParse) {
  auto d = make();
  write("newer");  // not rewritten below: a parse may be reading it at any time
  std::vector<ReloadOutcome> first, second;
  d->request_reload([&](const ReloadOutcome& r) { first.push_back(r); });
  EXPECT_TRUE(d->reload_parsing());
  EXPECT_TRUE(first.empty()) << "answered on the loop, not inside the request";
  EXPECT_TRUE(journal.empty()) << "the subsystems are reloaded on the loop";
  d->request_reload([&](const ReloadOutcome& r) { second.push_back(r); });
  int ticks = 0;
  Timer tick(loop, [&] { ++ticks; });
  tick.start(Millis(1), Millis(1));
  Timer guard(loop, [&] { loop.stop(); });
  guard.start(std::chrono::seconds(5));
  Timer until(loop, [&] {
    if (!second.empty()) loop.stop();
  });
  until.start(Millis(1), Millis(1));
  loop.run();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(first[0].ok);
  EXPECT_EQ(first[0].generation, 2);
  EXPECT_TRUE(second[0].ok);
  EXPECT_EQ(second[0].generation, 3) << "a parse of its own, after the first";
  EXPECT_EQ(d->config().global.router_id, "newer");
  EXPECT_FALSE(d->reload_parsing());
  EXPECT_GT(ticks, 0);
}

TEST_F(DirectorTest, AnInvalidFileRequestedKeepsTheRunningConfig) {
  auto d = make();
  std::ofstream(path_) << "[global]\nbogus = 1\n";
  std::optional<ReloadOutcome> got;
  d->request_reload([&](const ReloadOutcome& r) { got = r; });
  while (!got) loop.run_once();
  EXPECT_FALSE(got->ok);
  EXPECT_EQ(got->generation, 1);
  EXPECT_TRUE(journal.empty());
  ASSERT_FALSE(got->errors.empty());
  EXPECT_NE(got->errors[0].find(":2:1: error: unknown key 'bogus'"), std::string::npos);
}

// status --json over the control socket is written a slice per loop turn (at most ~2 ms
// each): the loop serves other things meanwhile, and the answer is the whole document.
TEST_F(DirectorTest, StatusJsonIsWrittenOverSeveralLoopTurns) {
  auto d = make();
  for (auto* f : fakes) f->slices = 6;  // 18 ms of writing in all
  auto r = d->answer(control::Peer{}, "status --json");
  ASSERT_TRUE(r.later_parts);
  std::string parts;
  std::optional<std::string> text;
  r.later_parts(
      [&](std::string t) -> std::optional<size_t> {
        parts += t;
        return 0;
      },
      [&](std::string t) { text = std::move(t); });
  EXPECT_FALSE(text) << "written on the loop";
  int turns = 0;
  while (!text && turns < 1000) {
    loop.run_once();
    ++turns;
  }
  ASSERT_TRUE(text);
  EXPECT_GE(turns, 5) << "18 ms of steps, at most 2 ms a turn";
  std::string compact;
  for (char c : parts + *text)
    if (c != ' ' && c != '\n') compact += c;
  EXPECT_NE(compact.find("\"a\":[0,1,2,3,4,5],\"b\":[0,1,2,3,4,5],\"c\":[0,1,2,3,4,5]"),
            std::string::npos)
      << *text;
  EXPECT_EQ(compact.rfind("{\"schema\":1,", 0), 0u) << *text;
  // The synchronous document is the same one.
  std::string sync;
  for (char c : d->status_json(true))
    if (c != ' ' && c != '\n') sync += c;
  EXPECT_EQ(sync.substr(sync.find("\"a\":[")), compact.substr(compact.find("\"a\":[")));
}

// A large status goes to its client in parts as it is written, not held whole; a client that
// has not taken what was sent holds its writer back; one that left stops it.
TEST_F(DirectorTest, StatusJsonIsStreamedInPartsAtTheClientsPace) {
  auto d = make();
  for (auto* f : fakes) {
    f->slices = 20;
    f->pad = 16 * 1024;  // ~1 MB in all
  }
  auto r = d->answer(control::Peer{}, "status --json");
  ASSERT_TRUE(r.later_parts);
  std::vector<std::string> parts;
  size_t queued = 4 * 1024 * 1024;  // the client takes nothing at first
  std::optional<std::string> end;
  r.later_parts(
      [&](std::string t) -> std::optional<size_t> {
        parts.push_back(std::move(t));
        return queued;
      },
      [&](std::string t) { end = std::move(t); });
  for (int i = 0; i < 50 && parts.empty(); ++i) loop.run_once();
  ASSERT_EQ(parts.size(), 1u) << "a first part of 64 KiB";
  EXPECT_GE(parts[0].size(), 64u * 1024);
  for (int i = 0; i < 20; ++i) loop.run_once();
  EXPECT_FALSE(end);
  for (size_t i = 1; i < parts.size(); ++i) EXPECT_EQ(parts[i], "") << "only asked how it goes";
  queued = 0;  // it has taken everything
  for (int i = 0; i < 2000 && !end; ++i) loop.run_once();
  ASSERT_TRUE(end);
  std::string doc;
  size_t nonempty = 0;
  for (auto& p : parts) {
    doc += p;
    nonempty += !p.empty();
    EXPECT_LE(p.size(), 64u * 1024 + 20 * 1024);  // a part is about kStatusPart, not all
  }
  doc += *end;
  EXPECT_GE(nonempty, 10u);
  EXPECT_EQ(doc.back(), '\n');
  std::string compact;
  for (char c : doc)
    if (c != ' ' && c != '\n') compact += c;
  EXPECT_EQ(compact.rfind("{\"schema\":1,", 0), 0u);
  EXPECT_NE(compact.find("\"c\":[0,\""), std::string::npos);
  EXPECT_EQ(compact.back(), '}');

  // A client that is gone: the writer stops, nothing ends.
  auto r2 = d->answer(control::Peer{}, "status --json");
  int asked = 0;
  bool ended = false;
  r2.later_parts(
      [&](std::string) -> std::optional<size_t> {
        ++asked;
        return std::nullopt;
      },
      [&](std::string) { ended = true; });
  for (int i = 0; i < 200; ++i) loop.run_nowait();  // no timer left to wait for
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(ended);
}

// /metrics: the director's own families first, then each subsystem's; /healthz: every
// subsystem's reason, named.
TEST_F(DirectorTest, MetricsAndHealthCoverTheDirectorAndEverySubsystem) {
  auto d = make();
  write("new");
  ASSERT_TRUE(d->reload().ok);
  auto text = d->metrics_text();
  EXPECT_NE(text.find("hadirector_build_info{version=\""), std::string::npos) << text;
  EXPECT_NE(text.find("\nhadirector_config_generation 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hadirector_reloads_total{result=\"ok\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadirector_reloads_total{result=\"failed\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("hadirector_fake_b 1\n"), std::string::npos) << text;
  EXPECT_EQ(d->unhealthy(), "");
  fakes[1]->sick = "VI_1 is FAULT";
  fakes[2]->sick = "out of sync";
  EXPECT_EQ(d->unhealthy(), "b: VI_1 is FAULT; c: out of sync");
}

}  // namespace
}  // namespace hd

namespace hd {
namespace {

const char* kTwoReals =
    "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n"
    "[[virtual_server.real_server]]\naddress = \"10.0.1.11\"\nport = 80\n"
    "[[virtual_server.real_server]]\naddress = \"10.0.1.12\"\nport = 80\n";
const char* kOneReal =
    "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n"
    "[[virtual_server.real_server]]\naddress = \"10.0.1.11\"\nport = 80\n";
const control::Peer kRoot{0, 0, 100, {}, ""};
const control::Peer kBob{1001, 1001, 200, {}, "bob"};

TEST_F(DirectorTest, CtlChangesARealServerRecordsWhoAndTellsTheSubsystems) {
  write("old", kTwoReals);
  auto d = make();
  int pushed = fakes[0]->overrides_pushed;
  auto a = d->handle_request(kRoot, "drain \"tcp 192.0.2.1:80\" 10.0.1.11:80 --timeout 30s");
  EXPECT_EQ(a, "{\"ok\":true,\"real_server\":\"tcp 192.0.2.1:80 -> 10.0.1.11:80\","
               "\"override\":\"drain\"}\n");
  const RealOverride* o = d->overrides().find("tcp 192.0.2.1:80 -> 10.0.1.11:80");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->by, "uid 0");
  ASSERT_TRUE(o->deadline.has_value());
  EXPECT_NEAR(*o->deadline - o->at, 30.0, 0.01);
  EXPECT_EQ(fakes[0]->overrides_pushed, pushed + 1);
  EXPECT_EQ(fakes[2]->seen_overrides, 1u);
  // The short forms: ADDRESS:PORT for the service, ADDRESS for the real server.
  EXPECT_NE(d->handle_request(kRoot, "weight 192.0.2.1:80 10.0.1.12 3").find("\"weight 3\""),
            std::string::npos);
  EXPECT_NE(d->handle_request(kRoot, "overrides").find("\"mode\":\"drain\""), std::string::npos);
  EXPECT_NE(d->status_json(false).find("\"overrides\":[{\"real_server\":"), std::string::npos);
  EXPECT_NE(d->status_text().find("override tcp 192.0.2.1:80 -> 10.0.1.12:80: weight 3"),
            std::string::npos);
  // The same weight again changes nothing, and says so (no new author, no write).
  EXPECT_EQ(d->handle_request(kRoot, "weight 192.0.2.1:80 10.0.1.12 3"),
            "{\"ok\":true,\"real_server\":\"tcp 192.0.2.1:80 -> 10.0.1.12:80\","
            "\"override\":\"weight 3\",\"changed\":false}\n");
  EXPECT_EQ(d->handle_request(kRoot, "ready 192.0.2.1:80 10.0.1.11:80"),
            "{\"ok\":true,\"real_server\":\"tcp 192.0.2.1:80 -> 10.0.1.11:80\","
            "\"override\":\"none\"}\n");
  EXPECT_EQ(d->overrides().reals().size(), 1u);
}

// ctl drain --wait: answered when the drain ends, whoever ends it.
TEST_F(DirectorTest, CtlDrainWaitIsAnsweredWhenTheDrainEnds) {
  write("old", kTwoReals);
  auto d = make();
  const std::string a = "tcp 192.0.2.1:80 -> 10.0.1.11:80", b = "tcp 192.0.2.1:80 -> 10.0.1.12:80";
  auto ask = [&](const std::string& line, std::optional<std::string>& out) {
    auto r = d->answer(kRoot, line);
    if (!r.later) return r.text;
    r.later([&out](std::string t) { out = std::move(t); });
    return std::string("(deferred)");
  };
  std::optional<std::string> first, second, third;
  EXPECT_EQ(ask("drain 192.0.2.1:80 10.0.1.11 --wait", first), "(deferred)");
  EXPECT_EQ(ask("drain 192.0.2.1:80 10.0.1.11 --wait --timeout 1m", second), "(deferred)");
  EXPECT_EQ(d->overrides().find(a)->mode, RealOverride::Mode::drain);
  fakes[0]->store->drain_done(b, "no active connection is left");  // not that one's
  EXPECT_FALSE(first);
  fakes[0]->store->drain_done(a, "no active connection is left");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->rfind("{\"ok\":true,\"real_server\":\"" + a + "\",\"override\":\"drained\","
                         "\"reason\":\"no active connection is left\",\"waited_s\":", 0), 0u)
      << *first;
  EXPECT_EQ(first->substr(0, first->find("waited_s")), second->substr(0, second->find("waited_s")));
  EXPECT_EQ(d->overrides().find(a)->reason, "no active connection is left");
  // Already drained: answered at once, with the reason it ended.
  std::optional<std::string> none;
  EXPECT_EQ(ask("drain 192.0.2.1:80 10.0.1.11 --wait", none),
            "{\"ok\":true,\"real_server\":\"" + a + "\",\"override\":\"drained\","
            "\"reason\":\"no active connection is left\",\"waited_s\":0}\n");
  // Undone while waited for: a refusal that says by whom.
  EXPECT_EQ(ask("drain 192.0.2.1:80 10.0.1.12 --wait", third), "(deferred)");
  d->handle_request(kRoot, "ready 192.0.2.1:80 10.0.1.12");
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, "{\"ok\":false,\"code\":\"conflict\",\"error\":\"the drain of " + b +
                        " ended before it finished: now none\"}\n");
  // maint is not undone by a drain.
  d->handle_request(kRoot, "maint 192.0.2.1:80 10.0.1.12");
  EXPECT_NE(ask("drain 192.0.2.1:80 10.0.1.12 --wait", none).find("\"code\":\"conflict\",\"error\":"
                                                                 "\"" + b + " is maint, not draining"),
            std::string::npos);
  // A reload that removes the server, and a stopping daemon, answer those still waiting.
  d->handle_request(kRoot, "ready 192.0.2.1:80 10.0.1.12");
  std::optional<std::string> gone;
  EXPECT_EQ(ask("drain 192.0.2.1:80 10.0.1.12 --wait", gone), "(deferred)");
  write("new", kOneReal);
  ASSERT_TRUE(d->reload().ok);
  ASSERT_TRUE(gone);
  EXPECT_NE(gone->find("ended before it finished: the real server is no longer in the config"),
            std::string::npos)
      << *gone;
  d->handle_request(kRoot, "ready 192.0.2.1:80 10.0.1.11");
  std::optional<std::string> at_stop;
  EXPECT_EQ(ask("drain 192.0.2.1:80 10.0.1.11 --wait", at_stop), "(deferred)");
  d->stop();
  ASSERT_TRUE(at_stop);
  EXPECT_EQ(at_stop->rfind("{\"ok\":false,\"code\":\"busy\",\"error\":\"the daemon is stopping", 0),
            0u)
      << *at_stop;
}

TEST_F(DirectorTest, CtlRefusesStrangersUnknownServersAndBadRequests) {
  write("old", kTwoReals);
  auto d = make();
  auto a = d->handle_request(kBob, "maint 192.0.2.1:80 10.0.1.11");
  EXPECT_NE(a.find("{\"ok\":false,\"code\":\"forbidden\",\"error\":\"forbidden: uid 1001 (bob) "
                   "is not root"),
            std::string::npos)
      << a;
  EXPECT_TRUE(d->overrides().reals().empty());
  // The older requests answer text, refused or not.
  EXPECT_EQ(d->handle_request(kBob, "status").rfind("error: forbidden: uid 1001", 0), 0u);
  EXPECT_EQ(d->handle_request(kBob, "reload").rfind("error: forbidden: uid 1001", 0), 0u);
  EXPECT_EQ(d->handle_request(kBob, "show").rfind("{\"ok\":false,\"code\":\"forbidden\"", 0), 0u);
  a = d->handle_request(kRoot, "maint 192.0.2.9:80 10.0.1.11");
  EXPECT_NE(a.find("\"code\":\"not_found\",\"error\":\"no virtual server '192.0.2.9:80' "
                   "(configured: 'tcp 192.0.2.1:80')"),
            std::string::npos)
      << a;
  a = d->handle_request(kRoot, "maint 192.0.2.1:80 10.0.1.13");
  EXPECT_NE(a.find("has no real server '10.0.1.13' (it has '10.0.1.11:80', '10.0.1.12:80')"),
            std::string::npos)
      << a;
  a = d->handle_request(kRoot, "maint 192.0.2.1:80");
  EXPECT_NE(a.find("\"code\":\"bad_request\""), std::string::npos) << a;
  EXPECT_NE(d->handle_request(kRoot, "show").find("{\"ok\":true,\"status\":{\"schema\":1"),
            std::string::npos);
}

TEST_F(DirectorTest, OverridesSurviveARestartAndAReloadThatRemovesTheServerDropsThem) {
  write("old", kTwoReals);
  {
    auto d = make();
    ASSERT_NE(d->handle_request(kRoot, "maint 192.0.2.1:80 10.0.1.12").find("\"ok\":true"),
              std::string::npos);
  }
  fakes.clear();
  auto d = make();  // a restart
  ASSERT_NE(d->overrides().find("tcp 192.0.2.1:80 -> 10.0.1.12:80"), nullptr);
  EXPECT_EQ(fakes[1]->seen_overrides, 1u) << "given before the subsystems start";
  write("old", kOneReal);
  ASSERT_TRUE(d->reload().ok);
  EXPECT_TRUE(d->overrides().reals().empty());
  EXPECT_EQ(fakes[1]->seen_overrides, 0u);
  d.reset();
  fakes.clear();
  auto again = make();
  EXPECT_TRUE(again->overrides().reals().empty()) << "the drop was saved";
}

TEST_F(DirectorTest, AStartWithAnotherConfigIgnoresOverridesButKeepsTheFile) {
  write("old", kTwoReals);
  {
    auto d = make();
    ASSERT_NE(d->handle_request(kRoot, "maint 192.0.2.1:80 10.0.1.12").find("\"ok\":true"),
              std::string::npos);
  }
  fakes.clear();
  write("old", kOneReal);  // a passing config (a rescue file, a test run)
  {
    auto d = make();
    EXPECT_TRUE(d->overrides().reals().empty());
  }
  fakes.clear();
  write("old", kTwoReals);
  auto d = make();
  EXPECT_NE(d->overrides().find("tcp 192.0.2.1:80 -> 10.0.1.12:80"), nullptr);
}

TEST_F(DirectorTest, ACtlChangeThatCannotBeSavedIsRefusedAndNotApplied) {
  write("old", kTwoReals);
  auto d = make();
  // The state directory becomes a file: nothing can be written under it.
  std::filesystem::remove_all(dir_ + "/state");
  std::ofstream(dir_ + "/state") << "not a directory\n";
  auto a = d->handle_request(kRoot, "maint 192.0.2.1:80 10.0.1.11");
  EXPECT_NE(a.find("\"code\":\"io\",\"error\":\"not applied: cannot save the overrides: "),
            std::string::npos)
      << a;
  EXPECT_TRUE(d->overrides().reals().empty());
  EXPECT_EQ(fakes[0]->seen_overrides, 0u);
}

}  // namespace
}  // namespace hd

namespace hd {
namespace {

TEST_F(DirectorTest, HoldsCoverTheSyncGroupAndAnyMemberReleasesThem) {
  write("old",
        "[[vrrp_instance]]\nname = \"VI_1\"\ninterface = \"lo\"\nvirtual_router_id = 1\n"
        "virtual_ipaddresses = [\"192.0.2.10/32\"]\n"
        "[[vrrp_instance]]\nname = \"VI_GW\"\ninterface = \"lo\"\nvirtual_router_id = 2\n"
        "virtual_ipaddresses = [\"192.0.2.11/32\"]\n"
        "[[sync_group]]\nname = \"G\"\ninstances = [\"VI_1\", \"VI_GW\"]\n");
  auto d = make();
  EXPECT_EQ(d->handle_request(kRoot, "failover VI_1"),
            "{\"ok\":true,\"vrrp_instance\":\"VI_1\",\"override\":\"failover\"}\n");
  ASSERT_EQ(d->overrides().holds().size(), 1u);
  EXPECT_EQ(d->overrides().holds().at("VI_1").by, "uid 0");
  EXPECT_NE(d->handle_request(kBob, "hold VI_GW").find("\"code\":\"forbidden\""), std::string::npos);
  EXPECT_NE(d->handle_request(kRoot, "hold VI_9").find("no VRRP instance 'VI_9' (configured: "
                                                        "'VI_1', 'VI_GW')"),
            std::string::npos);
  // Releasing the other member releases the hold that covers it.
  EXPECT_EQ(d->handle_request(kRoot, "release VI_GW"),
            "{\"ok\":true,\"vrrp_instance\":\"VI_GW\",\"override\":\"none\"}\n");
  EXPECT_TRUE(d->overrides().holds().empty());
}

}  // namespace
}  // namespace hd
