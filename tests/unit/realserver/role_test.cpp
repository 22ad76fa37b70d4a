// SPDX-License-Identifier: GPL-2.0-or-later
// The real-server role: wanted sysctls, the state file's format, and (on a fake
// /proc/sys in a temp dir, a FakeAddresses and a fault-injecting FileOps) what the
// role does when its state file cannot be written or restores fail (#13).
#include "realserver/role.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rtnl/address.h"

namespace hd::realserver {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

class FakeAddresses final : public rtnl::AddressManager {
 public:
  void add(const rtnl::AddressSpec& a) override {
    ++adds;
    added.insert(a.address.str());
  }
  void remove(const rtnl::AddressSpec& a) override {
    ++removes;
    removed.insert(a.address.str());
  }
  int adds = 0;
  int removes = 0;
  std::set<std::string> added, removed;
};

// The real calls, except that `fail` (a call name) fails with `error` on its `fail_at`-th
// use (1-based; 0: every use). A failing close still closes the descriptor, as the kernel
// does. `calls` records "open <path>", "write", "fsync <path>", "close <path>", "rename".
class FaultyFiles final : public FileOps {
 public:
  std::string fail;
  int fail_at = 0;
  int error = 0;
  std::vector<std::string> calls;

  int open(const std::string& path, int flags, mode_t mode) override {
    calls.push_back("open " + path);
    if (hit("open")) return -1;
    int fd = posix_file_ops().open(path, flags, mode);
    if (fd >= 0) names_[fd] = path;
    return fd;
  }
  ssize_t write(int fd, const void* buf, size_t n) override {
    calls.push_back("write " + names_[fd]);
    if (hit("write")) return -1;
    return posix_file_ops().write(fd, buf, n);
  }
  int fsync(int fd) override {
    calls.push_back("fsync " + names_[fd]);
    if (hit("fsync")) return -1;
    return posix_file_ops().fsync(fd);
  }
  int close(int fd) override {
    calls.push_back("close " + names_[fd]);
    int rc = posix_file_ops().close(fd);
    names_.erase(fd);
    if (hit("close")) return -1;
    return rc;
  }
  int rename(const std::string& from, const std::string& to) override {
    calls.push_back("rename " + from + " " + to);
    if (hit("rename")) return -1;
    return posix_file_ops().rename(from, to);
  }
  int unlink(const std::string& path) override {
    calls.push_back("unlink " + path);
    return posix_file_ops().unlink(path);
  }

 private:
  bool hit(const std::string& call) {
    if (call != fail) return false;
    ++count_;
    if (fail_at != 0 && count_ != fail_at) return false;
    errno = error;
    return true;
  }
  int count_ = 0;
  std::map<int, std::string> names_;
};

// A fake /proc/sys (every role sysctl of all, lo, eth0 and eth1 at "0") and a state dir.
class RoleOnFakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() /
           ("hd-role-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    for (auto ifname : {"all", "lo", "eth0", "eth1", "tunl0"})
      for (auto name : {"arp_ignore", "arp_announce", "rp_filter"})
        write_file(root / "proc/net/ipv4/conf" / ifname / name, "0\n");
    fs::create_directories(root / "run");
    cfg.vips.push_back({*IpAddress::parse("192.0.2.10"), false});
    cfg.interfaces = {"eth0"};
    cfg.check_interval = std::chrono::hours(1);
    cfg.state_file = (root / "run/realserver.state").string();
    cfg.proc_sys = (root / "proc").string();
  }
  void TearDown() override { fs::remove_all(root); }

  std::unique_ptr<Role> make_role(FileOps* files = nullptr) {
    auto a = std::make_unique<FakeAddresses>();
    addresses = a.get();
    return std::make_unique<Role>(loop, cfg, std::move(a), files);
  }
  std::string sysctl(const std::string& key) { return read_file(root / "proc" / key); }
  bool any_sysctl_changed() {
    for (auto& e : fs::recursive_directory_iterator(root / "proc"))
      if (e.is_regular_file() && read_file(e.path()) != "0\n") return true;
    return false;
  }

  Loop loop;
  fs::path root;
  RoleConfig cfg;
  FakeAddresses* addresses = nullptr;
};

TEST_F(RoleOnFakeProc, StartsRecordsAndStopRestores) {
  auto role = make_role();
  ASSERT_EQ(role->start(), "");
  EXPECT_EQ(sysctl("net/ipv4/conf/eth0/arp_ignore"), "1\n");
  EXPECT_EQ(sysctl("net/ipv4/conf/all/arp_announce"), "2\n");
  EXPECT_EQ(addresses->adds, 1);
  auto saved = parse_state(read_file(cfg.state_file));
  EXPECT_EQ(saved.sysctls.size(), 6u);
  EXPECT_EQ(saved.sysctls.at("net/ipv4/conf/eth0/arp_ignore"), "0");
  role->stop();
  EXPECT_FALSE(any_sysctl_changed());
  EXPECT_FALSE(fs::exists(cfg.state_file));
  EXPECT_FALSE(fs::exists(cfg.state_file + ".tmp"));
}

// 8a: a full disk. The temp file is a link to /dev/full, where every write fails with
// ENOSPC: a buffered stream only sees that when it flushes on close.
TEST_F(RoleOnFakeProc, FullDiskFailsStartBeforeAnySysctlChanges) {
  fs::create_symlink("/dev/full", cfg.state_file + ".tmp");
  auto role = make_role();
  EXPECT_NE(role->start(), "");
  EXPECT_FALSE(any_sysctl_changed()) << "nothing may change before the previous values are safe";
  EXPECT_FALSE(fs::exists(fs::symlink_status(cfg.state_file)))
      << "no state file may be renamed in when its write failed";
  EXPECT_EQ(addresses->adds, 0);
}

// 8a: ENOSPC (or EIO) reported only by close, as NFS and quota'd file systems do.
TEST_F(RoleOnFakeProc, CloseErrorFailsStart) {
  FaultyFiles files;
  files.fail = "close";
  files.error = ENOSPC;
  auto role = make_role(&files);
  auto err = role->start();
  EXPECT_NE(err, "");
  EXPECT_FALSE(any_sysctl_changed());
  EXPECT_FALSE(fs::exists(cfg.state_file));
  for (auto& c : files.calls) EXPECT_EQ(c.rfind("rename", 0), std::string::npos) << c;
}

// 8b: the data reaches the disk before the rename makes it the state file, and the
// rename itself reaches the disk (the directory is synced) before any sysctl changes.
TEST_F(RoleOnFakeProc, StateFileIsSyncedThenRenamedThenItsDirectorySynced) {
  FaultyFiles files;
  auto role = make_role(&files);
  ASSERT_EQ(role->start(), "");
  auto tmp = cfg.state_file + ".tmp";
  auto dir = (root / "run").string();
  std::vector<std::string> want = {"open " + tmp,
                                   "write " + tmp,
                                   "fsync " + tmp,
                                   "close " + tmp,
                                   "rename " + tmp + " " + cfg.state_file,
                                   "open " + dir,
                                   "fsync " + dir,
                                   "close " + dir};
  EXPECT_EQ(files.calls, want);
  EXPECT_EQ(parse_state(read_file(cfg.state_file)).sysctls.size(), 6u);
}

TEST_F(RoleOnFakeProc, FsyncErrorFailsStart) {
  for (int at : {1, 2}) {  // the file's fsync, then the directory's
    SCOPED_TRACE(at);
    fs::remove(cfg.state_file);
    FaultyFiles files;
    files.fail = "fsync";
    files.fail_at = at;
    files.error = EIO;
    auto role = make_role(&files);
    EXPECT_NE(role->start(), "");
    EXPECT_FALSE(any_sysctl_changed());
    EXPECT_FALSE(fs::exists(cfg.state_file + ".tmp"));
  }
}

// 8c: reload drops eth1 (its values are restored) and must say so when the state
// file that records this cannot be written.
TEST_F(RoleOnFakeProc, ReloadReportsAFailedSave) {
  cfg.interfaces = {"eth0", "eth1"};
  FaultyFiles files;
  auto role = make_role(&files);
  ASSERT_EQ(role->start(), "");
  EXPECT_EQ(sysctl("net/ipv4/conf/eth1/arp_ignore"), "1\n");
  files.fail = "open";
  files.error = ENOSPC;
  RoleConfig next = cfg;
  next.interfaces = {"eth0"};
  EXPECT_NE(role->reload(next), "");
  EXPECT_EQ(sysctl("net/ipv4/conf/eth1/arp_ignore"), "0\n");
  // The last good state file still lists eth1: a later stop or crash recovery restores it
  // again (to the value it has now), never to a value we set.
  EXPECT_EQ(parse_state(read_file(cfg.state_file)).sysctls.count("net/ipv4/conf/eth1/arp_ignore"),
            1u);
}

// The drill's disk-full: a reload that adds a VIP must record it before adding it; when the
// state file cannot be written the reload fails whole, and the old config stays in force
// (later drift checks do not add the new VIP behind the operator's back).
TEST_F(RoleOnFakeProc, AReloadThatCannotSaveChangesNothing) {
  FaultyFiles files;
  auto role = make_role(&files);
  ASSERT_EQ(role->start(), "");
  std::string before = read_file(cfg.state_file);
  files.fail = "write";
  files.error = ENOSPC;
  RoleConfig next = cfg;
  next.vips.push_back({*IpAddress::parse("192.0.2.11"), false});
  next.interfaces = {"eth0", "eth1"};
  EXPECT_NE(role->reload(next), "");
  EXPECT_EQ(addresses->added.count("192.0.2.11"), 0u);
  EXPECT_EQ(sysctl("net/ipv4/conf/eth1/arp_ignore"), "0\n") << "eth1 untouched";
  EXPECT_EQ(read_file(cfg.state_file), before);
  // The disk has room again: the drift check runs the old config, not the refused one.
  files.fail.clear();
  EXPECT_EQ(role->reload(cfg), "");     // the director's rollback
  EXPECT_EQ(addresses->added.count("192.0.2.11"), 0u);
  EXPECT_EQ(parse_state(read_file(cfg.state_file)).addresses.size(), 1u);
}

TEST_F(RoleOnFakeProc, AReloadThatDropsAVipRemovesIt) {
  cfg.vips.push_back({*IpAddress::parse("192.0.2.11"), false});
  auto role = make_role();
  ASSERT_EQ(role->start(), "");
  ASSERT_EQ(addresses->added.count("192.0.2.11"), 1u);
  RoleConfig next = cfg;
  next.vips.pop_back();
  EXPECT_EQ(role->reload(next), "");
  EXPECT_EQ(addresses->removed, std::set<std::string>{"192.0.2.11"});
  auto st = parse_state(read_file(cfg.state_file));
  ASSERT_EQ(st.addresses.size(), 1u);
  EXPECT_NE(st.addresses[0].find("192.0.2.10/32"), std::string::npos);
}

// 8d: a restore that fails keeps the state file, so the next start still knows the
// previous values (the next stop restores them).
TEST_F(RoleOnFakeProc, StopKeepsTheStateFileWhenARestoreFails) {
  auto role = make_role();
  ASSERT_EQ(role->start(), "");
  auto key = root / "proc/net/ipv4/conf/eth0/arp_ignore";
  // As root no mode bit refuses a write; a directory does (EISDIR).
  fs::remove(key);
  fs::create_directory(key);
  role->stop();
  EXPECT_TRUE(fs::exists(cfg.state_file)) << "the only record of the previous values is gone";
  EXPECT_EQ(sysctl("net/ipv4/conf/eth0/arp_announce"), "0\n") << "the others are restored";

  // The sysctl comes back (as we had set it); the next run restores it from the file.
  fs::remove(key);
  write_file(key, "1\n");
  auto again = make_role();
  ASSERT_EQ(again->start(), "");
  again->stop();
  EXPECT_FALSE(any_sysctl_changed());
  EXPECT_FALSE(fs::exists(cfg.state_file));
}

// 8e: keys read back from the state file name files under proc_sys: only the ones the
// role itself writes are accepted.
// A short write is continued, not taken for the whole file.
class OneByteWrites final : public FileOps {
 public:
  int open(const std::string& p, int f, mode_t m) override {
    return posix_file_ops().open(p, f, m);
  }
  ssize_t write(int fd, const void* buf, size_t n) override {
    ++writes;
    return posix_file_ops().write(fd, buf, n > 0 ? 1 : 0);
  }
  int fsync(int fd) override { return posix_file_ops().fsync(fd); }
  int close(int fd) override { return posix_file_ops().close(fd); }
  int rename(const std::string& a, const std::string& b) override {
    return posix_file_ops().rename(a, b);
  }
  int unlink(const std::string& p) override { return posix_file_ops().unlink(p); }
  int writes = 0;
};

TEST_F(RoleOnFakeProc, ShortWritesAreContinued) {
  OneByteWrites files;
  auto path = (root / "run/x").string();
  ASSERT_EQ(write_file_durably(files, path, "hello\n"), "");
  EXPECT_EQ(files.writes, 6);
  EXPECT_EQ(read_file(path), "hello\n");
}

// A failed start leaves the recorded previous values dirty; once the disk has room
// again, the next start saves them before it changes anything.
TEST_F(RoleOnFakeProc, StartSucceedsOnceTheDiskHasRoomAgain) {
  FaultyFiles files;
  files.fail = "write";
  files.error = ENOSPC;
  auto role = make_role(&files);
  auto err = role->start();
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(cfg.state_file + ".tmp"));
  files.fail.clear();
  ASSERT_EQ(role->start(), "");
  EXPECT_EQ(parse_state(read_file(cfg.state_file)).sysctls.size(), 6u);
  role->stop();
  EXPECT_FALSE(any_sysctl_changed());
}

TEST_F(RoleOnFakeProc, StateFileKeysOutsideTheRoleSysctlsAreNeverWritten) {
  write_file(root / "proc/kernel/core_pattern", "core\n");
  write_file(cfg.state_file,
             "sysctl\tnet/ipv4/conf/all/arp_ignore\t0\n"
             "sysctl\t../outside\tpwned\n"
             "sysctl\tnet/ipv4/conf/all/../../../../../outside2\tpwned\n"
             "sysctl\tnet/ipv4/conf/../../../../outside3/arp_ignore\tpwned\n"
             "sysctl\tkernel/core_pattern\t|/bin/pwned\n"
             "sysctl\tnet/ipv4/conf/eth0/forwarding\t1\n");
  auto role = make_role();
  ASSERT_EQ(role->start(), "");
  role->stop();
  EXPECT_FALSE(fs::exists(root / "outside"));
  EXPECT_FALSE(fs::exists(root / "outside2"));
  EXPECT_FALSE(fs::exists(root / "outside3"));
  EXPECT_EQ(read_file(root / "proc/kernel/core_pattern"), "core\n");
  EXPECT_FALSE(fs::exists(root / "proc/net/ipv4/conf/eth0/forwarding"));
  EXPECT_EQ(sysctl("net/ipv4/conf/all/arp_ignore"), "0\n");
}

TEST(RealServerRole, WantedSysctlsForDr) {
  RoleConfig c;
  c.vips.push_back({*IpAddress::parse("192.0.2.10"), false});
  auto w = wanted_sysctls(c, {"eth0"});
  EXPECT_EQ(w.at("net/ipv4/conf/all/arp_ignore"), "1");
  EXPECT_EQ(w.at("net/ipv4/conf/all/arp_announce"), "2");
  EXPECT_EQ(w.at("net/ipv4/conf/lo/arp_ignore"), "1");
  EXPECT_EQ(w.at("net/ipv4/conf/eth0/arp_announce"), "2");
  EXPECT_EQ(w.count("net/ipv4/conf/all/rp_filter"), 0u);
}

TEST(RealServerRole, TunModeRelaxesRpFilterOnAllAndTunl0) {
  RoleConfig c;
  c.vips.push_back({*IpAddress::parse("192.0.2.10"), true});
  auto w = wanted_sysctls(c, {"eth0"});
  EXPECT_EQ(w.at("net/ipv4/conf/all/rp_filter"), "0");
  EXPECT_EQ(w.at("net/ipv4/conf/tunl0/rp_filter"), "0");
}

TEST(RealServerRole, Ipv6OnlyNeedsNoArpSysctls) {
  RoleConfig c;
  c.vips.push_back({*IpAddress::parse("2001:db8::10"), false});
  EXPECT_TRUE(wanted_sysctls(c, {"eth0"}).empty());
}

TEST(RealServerRole, StateFileRoundTrip) {
  SavedState s;
  s.sysctls["net/ipv4/conf/all/arp_ignore"] = "0";
  s.sysctls["net/ipv4/conf/eth0/arp_announce"] = "1";
  s.addresses.push_back("lo lo:0 192.0.2.10/32");
  auto back = parse_state(format_state(s));
  EXPECT_EQ(back.sysctls, s.sysctls);
  EXPECT_EQ(back.addresses, s.addresses);
  EXPECT_TRUE(parse_state("# only a comment\n\ngarbage line\n").sysctls.empty());
}

TEST(RealServerRole, OnlyTheRoleSysctlsAreKeys) {
  for (auto k : {"net/ipv4/conf/all/arp_ignore", "net/ipv4/conf/default/arp_announce",
                 "net/ipv4/conf/tunl0/rp_filter", "net/ipv4/conf/eth0.100/arp_ignore",
                 "net/ipv4/conf/enp0s31f6-abcd/arp_ignore"})
    EXPECT_TRUE(is_role_sysctl_key(k)) << k;
  for (auto k :
       {"", "kernel/core_pattern", "net/ipv4/conf/eth0/forwarding", "net/ipv4/conf/../arp_ignore",
        "net/ipv4/conf/./arp_ignore", "net/ipv4/conf//arp_ignore", "/net/ipv4/conf/all/arp_ignore",
        "net/ipv4/conf/all/../all/arp_ignore", "net/ipv4/conf/all/arp_ignore/x",
        "net/ipv4/conf/all/arp_ignore/..", "net/ipv4/conf/a:1/arp_ignore",
        "net/ipv4/conf/a b/arp_ignore", "net/ipv4/conf/sixteen-chars-ab/arp_ignore",
        "../net/ipv4/conf/all/arp_ignore", "net/ipv6/conf/all/arp_ignore"})
    EXPECT_FALSE(is_role_sysctl_key(k)) << k;
  EXPECT_TRUE(valid_interface_name("fifteen-chars-a"));
  EXPECT_FALSE(valid_interface_name("sixteen-chars-ab"));
}

TEST(RealServerRole, ParseStateRejectsForeignKeysAndValues) {
  auto s = parse_state(
      "sysctl\tnet/ipv4/conf/all/arp_ignore\t0\n"
      "sysctl\t../../etc/passwd\troot\n"
      "sysctl\tnet/ipv4/conf/all/arp_announce\t|/bin/sh\n"
      "sysctl\tnet/ipv4/conf/lo/arp_announce\t\n");
  EXPECT_EQ(s.sysctls, (std::map<std::string, std::string>{{"net/ipv4/conf/all/arp_ignore", "0"}}));
  EXPECT_EQ(s.rejected.size(), 3u);
}

TEST(RealServerRole, DefaultRouteInterface) {
  std::string route =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  EXPECT_EQ(default_route_interface(route), "eth0");
  EXPECT_EQ(default_route_interface("Iface\tDestination\n"), std::nullopt);
}

}  // namespace
}  // namespace hd::realserver
