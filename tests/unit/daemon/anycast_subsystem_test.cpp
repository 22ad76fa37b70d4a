// SPDX-License-Identifier: GPL-2.0-or-later
// The anycast decision and its subsystem on a recording kernel: what is announced when,
// what a stop, a reload and an operator's withdrawal do, in the order the kernel sees it.
#include "daemon/anycast_subsystem.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "daemon/config/loader.h"
#include "daemon/overrides.h"

namespace hd {
namespace {

using Serving = LvsSubsystem::Serving;

TEST(AnycastDecide, EveryVirtualServerMustServe) {
  Serving up{true, true, true};
  EXPECT_TRUE(anycast::decide({{"a", up}, {"b", up}}, false, false).announce);
  EXPECT_EQ(anycast::decide({{"a", up}, {"b", up}}, false, false).why, "serving");
  EXPECT_EQ(anycast::decide({{"a", up}, {"b", {true, false, true}}}, false, false).why,
            "b has no quorum");
  EXPECT_EQ(anycast::decide({{"a", {true, true, false}}}, false, false).why,
            "a is not programmed as desired yet");
  EXPECT_EQ(anycast::decide({{"a", {false, true, true}}}, false, false).why, "not evaluated yet");
  EXPECT_EQ(anycast::decide({{"a", up}}, true, false).why, "withdrawn by the operator");
  EXPECT_EQ(anycast::decide({{"a", up}}, true, true).why, "stopping");
  EXPECT_FALSE(anycast::decide({}, false, false).announce);
}

class RecordingKernel final : public anycast::Kernel {
 public:
  explicit RecordingKernel(std::vector<std::string>& log) : log_(log) {}
  std::string open(const std::string& interface) override {
    if (!fail.empty()) return fail;
    log_.push_back("open " + interface);
    return "";
  }
  void close() override { log_.push_back("close"); }
  void add_address(const IpAddress& a) override { log_.push_back("+addr " + a.str()); }
  void remove_address(const IpAddress& a) override { log_.push_back("-addr " + a.str()); }
  void add_route(const IpAddress& a, uint32_t t, std::function<void(int)> done) override {
    log_.push_back("+route " + a.str() + " table " + std::to_string(t));
    if (refuse_now)
      done(refuse_now);  // as NetlinkAddressManager does when the request cannot be sent
    else
      answers.push_back(std::move(done));
  }
  int refuse_now = 0;
  void remove_route(const IpAddress& a, uint32_t t) override {
    log_.push_back("-route " + a.str() + " table " + std::to_string(t));
  }
  std::string fail;
  std::vector<std::function<void(int)>> answers;  // the kernel's, given by the test

 private:
  std::vector<std::string>& log_;
};

config::Config load(const std::string& text) {
  auto r = config::load_string(text, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  return *r.config;
}

const std::string kTwoOnOne = R"([anycast]
withdraw_linger = "3s"
[[virtual_server]]
address = "10.99.0.100"
port = 80
announce = "bgp"
[[virtual_server]]
address = "10.99.0.100"
port = 443
announce = "bgp"
[[virtual_server]]
address = "10.9.0.1"
port = 80
)";

class AnycastSubsystemTest : public ::testing::Test {
 protected:
  AnycastSubsystemTest() {
    auto k = std::make_unique<RecordingKernel>(log_);
    kernel_ = k.get();
    sub_ = std::make_unique<AnycastSubsystem>(
        loop_,
        [this](const std::string& key) {
          ++serving_calls_;
          return serving_[key];
        },
        std::move(k), clock_);
  }
  std::vector<std::string> take() { return std::exchange(log_, {}); }
  void serve(const std::string& key, bool on) { serving_[key] = {true, on, true}; }

  Loop loop_;
  ManualClock clock_;
  std::vector<std::string> log_;
  std::map<std::string, Serving> serving_;
  int serving_calls_ = 0;
  RecordingKernel* kernel_ = nullptr;
  std::unique_ptr<AnycastSubsystem> sub_;
};

using Log = std::vector<std::string>;

TEST_F(AnycastSubsystemTest, NothingIsAnnouncedBeforeEveryServiceOnTheAddressServes) {
  auto cfg = load(kTwoOnOne);
  ASSERT_EQ(sub_->start(cfg), "");
  // The device and the (local) address at once; no route: nothing evaluated yet.
  EXPECT_EQ(take(), (Log{"open hd-anycast", "+addr 10.99.0.100"}));
  serve("tcp 10.99.0.100:80", true);
  sub_->evaluate();
  EXPECT_EQ(take(), Log{});  // 443 not yet
  serve("tcp 10.99.0.100:443", true);
  sub_->evaluate();
  EXPECT_EQ(take(), (Log{"+route 10.99.0.100 table 200"}));
  sub_->evaluate();
  EXPECT_EQ(take(), Log{});  // written once
  serve("tcp 10.99.0.100:443", false);
  sub_->evaluate();
  EXPECT_EQ(take(), (Log{"-route 10.99.0.100 table 200"}));
  serving_["tcp 10.99.0.100:443"] = {true, true, false};  // quorum, but not in the kernel yet
  sub_->evaluate();
  EXPECT_EQ(take(), Log{});
}

TEST_F(AnycastSubsystemTest, AStopWithdrawsFirstAndServesForTheLinger) {
  auto cfg = load(kTwoOnOne);
  ASSERT_EQ(sub_->start(cfg), "");
  serve("tcp 10.99.0.100:80", true);
  serve("tcp 10.99.0.100:443", true);
  sub_->evaluate();
  take();
  sub_->begin_stop();
  EXPECT_EQ(take(), (Log{"-route 10.99.0.100 table 200"}));  // the address stays
  EXPECT_TRUE(sub_->handing_over());
  clock_.advance(std::chrono::milliseconds(2999));
  sub_->evaluate();  // health still moving: nothing comes back
  EXPECT_TRUE(sub_->handing_over());
  EXPECT_EQ(take(), Log{});
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(sub_->handing_over());
  sub_->stop();
  EXPECT_EQ(take(), (Log{"close"}));
}

TEST_F(AnycastSubsystemTest, NoAnnouncedAddressNoDevice) {
  ASSERT_EQ(sub_->start(load("[[virtual_server]]\naddress = \"10.9.0.1\"\nport = 80\n")), "");
  EXPECT_EQ(take(), Log{});
  EXPECT_FALSE(sub_->handing_over());
}

TEST_F(AnycastSubsystemTest, ADeviceThatCannotBeMadeFailsTheStart) {
  kernel_->fail = "cannot create TUN interface hd-anycast: Operation not permitted";
  EXPECT_EQ(sub_->start(load(kTwoOnOne)),
            "anycast: cannot create TUN interface hd-anycast: Operation not permitted");
}

TEST_F(AnycastSubsystemTest, TheOperatorsWithdrawalHoldsWhateverTheHealth) {
  auto cfg = load(kTwoOnOne);
  Overrides o;  // in memory
  ASSERT_EQ(sub_->start(cfg), "");
  serve("tcp 10.99.0.100:80", true);
  serve("tcp 10.99.0.100:443", true);
  sub_->evaluate();
  take();
  ASSERT_EQ(o.set_withdrawal("10.99.0.100", Withdrawal{"uid 0", 1}), "");
  sub_->set_overrides(o);
  EXPECT_EQ(take(), (Log{"-route 10.99.0.100 table 200"}));
  sub_->evaluate();
  EXPECT_EQ(take(), Log{});
  ASSERT_EQ(o.set_withdrawal("10.99.0.100", std::nullopt), "");
  sub_->set_overrides(o);
  EXPECT_EQ(take(), (Log{"+route 10.99.0.100 table 200"}));
}

// A route the kernel refuses is not claimed: status says why, and the next evaluation
// asks again.
TEST_F(AnycastSubsystemTest, ARefusedRouteIsNotCountedAsAnnouncedAndIsRetried) {
  auto cfg = load(kTwoOnOne);
  ASSERT_EQ(sub_->start(cfg), "");
  serve("tcp 10.99.0.100:80", true);
  serve("tcp 10.99.0.100:443", true);
  sub_->evaluate();
  ASSERT_EQ(kernel_->answers.size(), 1u);
  kernel_->answers[0](EINVAL);
  JsonWriter w;
  w.begin_object();
  sub_->status(w);
  w.end_object();
  EXPECT_NE(w.str().find("\"announced\":false,\"why\":\"the kernel refused the route: Invalid argument\""),
            std::string::npos) << w.str();
  EXPECT_NE(w.str().find("\"refused\":1"), std::string::npos) << w.str();
  take();
  sub_->evaluate();
  EXPECT_EQ(take(), (Log{"+route 10.99.0.100 table 200"}));
  kernel_->answers[1](0);
  w = JsonWriter();
  w.begin_object();
  sub_->status(w);
  w.end_object();
  EXPECT_NE(w.str().find("\"announced\":true,\"why\":\"serving\""), std::string::npos) << w.str();
}

// A request that cannot even be sent is refused before add_route returns: not claimed
// either; and an answer to an older request does not touch a newer route.
TEST_F(AnycastSubsystemTest, ARefusalAtOnceOrALateAnswerToAnOldRequest) {
  ASSERT_EQ(sub_->start(load(kTwoOnOne)), "");
  serve("tcp 10.99.0.100:80", true);
  serve("tcp 10.99.0.100:443", true);
  kernel_->refuse_now = EIO;
  sub_->evaluate();
  auto status = [&] {
    JsonWriter w;
    w.begin_object();
    sub_->status(w);
    w.end_object();
    return w.str();
  };
  EXPECT_NE(status().find("\"announced\":false,\"why\":\"the kernel refused the route: Input/output error\""),
            std::string::npos) << status();
  kernel_->refuse_now = 0;
  sub_->evaluate();  // asked again
  ASSERT_EQ(kernel_->answers.size(), 1u);
  serve("tcp 10.99.0.100:80", false);
  sub_->evaluate();  // withdrawn
  serve("tcp 10.99.0.100:80", true);
  sub_->evaluate();  // announced again: a second request
  ASSERT_EQ(kernel_->answers.size(), 2u);
  kernel_->answers[0](EINVAL);  // the first request's late refusal: not this route's
  EXPECT_NE(status().find("\"announced\":true,\"why\":\"serving\""), std::string::npos) << status();
  serve("tcp 10.99.0.100:80", false);
  take();
  sub_->evaluate();
  EXPECT_EQ(take(), (Log{"-route 10.99.0.100 table 200"}));  // so its withdrawal is written
}

// The destructor asks the virtual servers nothing (their subsystem may be gone: a start
// that failed after this one started) and only closes the device.
TEST_F(AnycastSubsystemTest, DestroyedWhileStoppingItOnlyClosesTheDevice) {
  ASSERT_EQ(sub_->start(load(kTwoOnOne)), "");
  serve("tcp 10.99.0.100:80", true);
  serve("tcp 10.99.0.100:443", true);
  sub_->evaluate();
  take();
  sub_->begin_stop();
  take();
  int asked = serving_calls_;
  sub_->evaluate();  // stopping: the virtual servers are not asked
  sub_.reset();
  EXPECT_EQ(serving_calls_, asked);
  EXPECT_EQ(take(), (Log{"close"}));
}

// Nothing announced: no linger on stop (a start that failed, say).
TEST_F(AnycastSubsystemTest, NothingAnnouncedNoLinger) {
  ASSERT_EQ(sub_->start(load(kTwoOnOne)), "");
  sub_->begin_stop();
  EXPECT_FALSE(sub_->handing_over());
}

TEST_F(AnycastSubsystemTest, AReloadChangesOnlyWhatChanged) {
  auto cfg = load(kTwoOnOne);
  ASSERT_EQ(sub_->start(cfg), "");
  serve("tcp 10.99.0.100:80", true);
  serve("tcp 10.99.0.100:443", true);
  serve("tcp 10.99.0.101:80", true);
  sub_->evaluate();
  take();
  auto more = load(kTwoOnOne + "[[virtual_server]]\naddress = \"10.99.0.101\"\nport = 80\nannounce = \"bgp\"\n");
  ASSERT_EQ(sub_->reload(cfg, more), "");
  EXPECT_EQ(take(), (Log{"+addr 10.99.0.101", "+route 10.99.0.101 table 200"}));
  ASSERT_EQ(sub_->reload(more, cfg), "");
  EXPECT_EQ(take(), (Log{"-route 10.99.0.101 table 200", "-addr 10.99.0.101"}));
  // Only the linger: nothing touched.
  auto longer = cfg;
  longer.anycast.withdraw_linger = std::chrono::seconds(30);
  ASSERT_EQ(sub_->reload(cfg, longer), "");
  EXPECT_EQ(take(), Log{});
  // Another table: everything withdrawn from the old one, the device made again.
  auto other = cfg;
  other.anycast.table = 300;
  ASSERT_EQ(sub_->reload(cfg, other), "");
  EXPECT_EQ(take(), (Log{"-route 10.99.0.100 table 200", "close", "open hd-anycast",
                         "+addr 10.99.0.100", "+route 10.99.0.100 table 300"}));
}

}  // namespace
}  // namespace hd
