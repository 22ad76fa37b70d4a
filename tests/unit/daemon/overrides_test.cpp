// SPDX-License-Identifier: GPL-2.0-or-later
// The runtime overrides' store: the file round trip, a change that cannot be saved is
// undone (the old file intact), a corrupt file is reported and ignored, a reload's prune.
#include "daemon/overrides.h"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace hd {
namespace {

using ::testing::HasSubstr;
using Mode = RealOverride::Mode;

const std::string kA = "tcp 10.0.0.1:80 -> 10.0.1.11:8080";
const std::string kB = "udp [2001:db8::1]:53 -> [2001:db8::11]:53";

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("hd-overrides-test-" + std::to_string(getpid()) + "-" + std::to_string(next_++));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file() const { return (path_ / "sub" / "overrides.toml").string(); }

 private:
  std::filesystem::path path_;
  static inline int next_ = 0;
};

// Fails every write with ENOSPC while `full`.
class FullDisk final : public FileOps {
 public:
  bool full = false;
  int open(const std::string& p, int f, mode_t m) override { return posix_file_ops().open(p, f, m); }
  ssize_t write(int fd, const void* b, size_t n) override {
    if (full) {
      errno = ENOSPC;
      return -1;
    }
    return posix_file_ops().write(fd, b, n);
  }
  int fsync(int fd) override { return posix_file_ops().fsync(fd); }
  int close(int fd) override { return posix_file_ops().close(fd); }
  int rename(const std::string& a, const std::string& b) override {
    return posix_file_ops().rename(a, b);
  }
  int unlink(const std::string& p) override { return posix_file_ops().unlink(p); }
};

RealOverride drain(std::optional<double> deadline = std::nullopt) {
  return RealOverride{Mode::drain, deadline, std::nullopt, "uid 0", 1790000000.125};
}

TEST(Overrides, FormatParsesBackToTheSame) {
  Overrides::Reals r{{kA, drain(1790000030.5)},
                     {kB, RealOverride{Mode::none, std::nullopt, 7, "uid 1002 (alice)", 12.5}}};
  r["fwmark 7 v4 -> 10.0.1.12:0"] = RealOverride{Mode::maint, std::nullopt, 0, "uid 0", 1};
  r["tcp 10.0.0.1:80 -> 10.0.1.13:80"] = RealOverride{Mode::drained, std::nullopt, {}, "", 2};
  r["tcp 10.0.0.1:80 -> 10.0.1.14:80"] =
      RealOverride{Mode::drained, std::nullopt, {}, "uid 0", 3, "its drain timeout passed"};
  Overrides::Data d{r, {{"VI_1", InstanceHold{InstanceHold::Mode::hold, "uid 0", 3.25}},
                        {"VI_GW", InstanceHold{InstanceHold::Mode::failover, "uid 1002", 4}}},
                     {{"10.99.0.100", Withdrawal{"uid 0", 5.5}}, {"2001:db8::1", Withdrawal{"uid 7", 6}}}};
  std::string text = Overrides::format(d), error;
  auto back = Overrides::parse(text, "f", error);
  ASSERT_TRUE(back) << error << "\n" << text;
  EXPECT_EQ(*back, d);
  EXPECT_THAT(text, HasSubstr("hadirector ctl"));
}

// What `ctl drain --wait` follows: every change of a real server's override, with why.
TEST(Overrides, TheListenerHearsEveryChangeOfARealServer) {
  Overrides o;
  std::vector<std::string> heard;
  o.on_real_change([&](const std::string& id, const RealOverride* now, const std::string& why) {
    heard.push_back(id + ": " + (now ? describe(*now) : std::string("gone")) + " / " + why);
  });
  ASSERT_EQ(o.set(kA, drain()), "");
  o.drain_done(kA, "no active connection is left");
  o.drain_done(kA, "again");  // no longer draining: nothing happens
  ASSERT_EQ(o.set(kB, drain()), "");
  o.prune({kA}, {}, {});
  EXPECT_EQ(heard, (std::vector<std::string>{
                       kA + std::string(": drain / "),
                       kA + std::string(": drained / no active connection is left"),
                       kB + std::string(": drain / "),
                       kB + std::string(": gone / the real server is no longer in the config")}));
}

TEST(Overrides, ParseErrorsNameThePlace) {
  std::string error;
  EXPECT_FALSE(Overrides::parse("[[real_server]\n", "o.toml", error));
  EXPECT_THAT(error, HasSubstr("o.toml:1:"));
  EXPECT_FALSE(Overrides::parse("\n[[real_server]]\nmode = \"drain\"\n", "o.toml", error));
  EXPECT_THAT(error, HasSubstr("o.toml:2: a real_server entry needs real_server and mode"));
  EXPECT_FALSE(Overrides::parse("[[real_server]]\nreal_server = \"x\"\nmode = \"sleep\"\n", "o", error));
  EXPECT_FALSE(Overrides::parse(
      "[[real_server]]\nreal_server = \"x\"\nmode = \"none\"\nweight = 70000\n", "o", error));
  EXPECT_THAT(error, HasSubstr("weight must be from 0 to 65535"));
  EXPECT_FALSE(Overrides::parse("[[vrrp_instance]]\nvrrp_instance = \"VI_1\"\nmode = \"nap\"\n",
                                 "o", error));
  EXPECT_THAT(error, HasSubstr("o:1: a vrrp_instance entry needs vrrp_instance and mode"));
  EXPECT_FALSE(Overrides::parse("\n\n[[anycast]]\naddress = \"not an address\"\n", "o", error));
  EXPECT_THAT(error, HasSubstr("o:3: an anycast entry needs an address"));
  auto empty = Overrides::parse("", "o", error);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->reals.empty());
  EXPECT_TRUE(empty->holds.empty());
}

TEST(Overrides, ChangesAreSavedAndSurviveARestart) {
  TempDir dir;
  {
    Overrides o;
    o.set_path(dir.file());
    EXPECT_EQ(o.load(), "");  // no file yet: no overrides
    ASSERT_EQ(o.set(kA, drain()), "");  // creates the directory too
    ASSERT_EQ(o.set(kB, RealOverride{Mode::none, std::nullopt, 3, "uid 0", 5}), "");
  }
  Overrides again;
  again.set_path(dir.file());
  ASSERT_EQ(again.load(), "");
  ASSERT_EQ(again.reals().size(), 2u);
  EXPECT_EQ(again.find(kA)->mode, Mode::drain);
  EXPECT_EQ(again.find(kB)->weight, 3);
  // Back to nothing: the entry goes.
  ASSERT_EQ(again.set(kB, RealOverride{}), "");
  EXPECT_EQ(again.find(kB), nullptr);
  Overrides third;
  third.set_path(dir.file());
  ASSERT_EQ(third.load(), "");
  EXPECT_EQ(third.reals().size(), 1u);
}

TEST(Overrides, AChangeThatCannotBeSavedIsUndoneAndTheFileKept) {
  TempDir dir;
  FullDisk disk;
  Overrides o(disk);
  o.set_path(dir.file());
  ASSERT_EQ(o.set(kA, drain()), "");
  disk.full = true;
  EXPECT_THAT(o.set(kB, drain()), HasSubstr("No space left on device"));
  EXPECT_EQ(o.find(kB), nullptr);
  EXPECT_THAT(o.set(kA, RealOverride{}), HasSubstr("No space left on device"));
  ASSERT_NE(o.find(kA), nullptr);  // the drain stays
  Overrides reread;
  reread.set_path(dir.file());
  ASSERT_EQ(reread.load(), "");
  EXPECT_EQ(reread.reals().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.file() + ".tmp"));
}

TEST(Overrides, ACorruptFileIsReportedAndIgnored) {
  TempDir dir;
  std::filesystem::create_directories(std::filesystem::path(dir.file()).parent_path());
  std::ofstream(dir.file()) << "[[real_server]]\nreal_server = \"" << kA << "\"\nmode = ";
  Overrides o;
  o.set_path(dir.file());
  EXPECT_THAT(o.load(), HasSubstr(dir.file() + ":3:"));
  EXPECT_TRUE(o.reals().empty());
  ASSERT_EQ(o.set(kB, drain()), "");  // the next change writes a good file
  Overrides reread;
  reread.set_path(dir.file());
  EXPECT_EQ(reread.load(), "");
}

TEST(Overrides, PruneDropsWhatTheConfigNoLongerHasWithALine) {
  TempDir dir;
  Overrides o;
  o.set_path(dir.file());
  ASSERT_EQ(o.set(kA, drain()), "");
  ASSERT_EQ(o.set(kB, RealOverride{Mode::maint, std::nullopt, 4, "uid 1002 (alice)", 5}), "");
  ASSERT_EQ(o.set_hold("VI_OLD", InstanceHold{InstanceHold::Mode::hold, "uid 0", 1}), "");
  ASSERT_EQ(o.set_hold("VI_1", InstanceHold{InstanceHold::Mode::hold, "uid 0", 1}), "");
  ASSERT_EQ(o.set_withdrawal("10.99.0.100", Withdrawal{"uid 0", 2}), "");
  ASSERT_EQ(o.set_withdrawal("10.99.0.101", Withdrawal{"uid 0", 2}), "");
  auto lines = o.prune({kA}, {"VI_1"}, {"10.99.0.101"});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "dropping the withdrawal of 10.99.0.100 set by uid 0: no announce = \"bgp\" "
                      "virtual server has it any more");
  lines.erase(lines.begin());
  EXPECT_EQ(lines[0], "dropping the hold of VRRP instance VI_OLD set by uid 0: the instance is no "
                      "longer in the config");
  lines.erase(lines.begin());
  EXPECT_EQ(lines[0], "dropping the override (maint, weight 4) of " + kB +
                          " set by uid 1002 (alice): the real server is no longer in the config");
  Overrides reread;
  reread.set_path(dir.file());
  ASSERT_EQ(reread.load(), "");
  EXPECT_EQ(reread.reals().size(), 1u);
  EXPECT_EQ(reread.holds().size(), 1u);
  EXPECT_EQ(reread.withdrawals().size(), 1u);
  EXPECT_TRUE(o.prune({kA}, {"VI_1"}, {"10.99.0.101"}).empty());
  o.hold_lifted("VI_1");
  EXPECT_TRUE(o.holds().empty());
}

TEST(Overrides, WhatDesiredReadsAndTheOpenDrains) {
  Overrides o;  // in memory
  ASSERT_EQ(o.set(kA, drain(100.0)), "");
  ASSERT_EQ(o.set(kB, RealOverride{Mode::maint, std::nullopt, 9, "", 0}), "");
  auto m = o.admin_map();
  EXPECT_EQ(m.at(kA).mode, ipvs::AdminOverride::Mode::drain);
  EXPECT_EQ(m.at(kB).mode, ipvs::AdminOverride::Mode::out);
  EXPECT_EQ(m.at(kB).weight, 9);
  EXPECT_EQ(o.open_drains().at(kA), 100.0);
  o.drain_done(kA, "no active connection is left");
  EXPECT_EQ(o.find(kA)->mode, Mode::drained);
  EXPECT_EQ(o.find(kA)->reason, "no active connection is left");
  EXPECT_EQ(o.admin_map().at(kA).mode, ipvs::AdminOverride::Mode::out);
  EXPECT_TRUE(o.open_drains().empty());
  o.drain_done(kB, "x");  // not a drain: unchanged
  EXPECT_EQ(o.find(kB)->mode, Mode::maint);
  EXPECT_EQ(describe(*o.find(kB)), "maint, weight 9");
  EXPECT_EQ(describe(RealOverride{Mode::none, std::nullopt, 0, "", 0}), "weight 0");
}

}  // namespace
}  // namespace hd
