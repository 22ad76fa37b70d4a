// SPDX-License-Identifier: GPL-2.0-or-later
// Director::reload with fake subsystems: all or nothing, and status tells the truth.
#include "daemon/director.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
  void stop() override {}
  void status(JsonWriter&) const override {}
  void status_text(std::string&) const override {}
  void metrics(metrics::Writer& w) const override {
    w.gauge("hadirector_fake_" + name_, "A fake's family.");
    w.sample(1);
  }
  std::string unhealthy() const override { return sick; }

  std::string running, fail_towards, fail_rollback_to, sick;
  bool half_apply = false;

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
  ~DirectorTest() override {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void write(const std::string& router_id) {
    std::ofstream(path_) << "[global]\nrouter_id = \"" << router_id
                         << "\"\ncontrol_socket = \"" << dir_ << "/ctl.sock\"\n";
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
  EXPECT_NE(d->handle_request("reload").find("failed: still running config generation 1"),
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
  EXPECT_EQ(d->handle_request("reload"), "ok: running config generation 2\n");
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
