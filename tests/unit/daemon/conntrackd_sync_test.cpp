// SPDX-License-Identifier: GPL-2.0-or-later
// ConntrackdSync on the real main loop with a stand-in conntrackd (a shell script logging its
// argv): each role change runs primary-backup.sh's sequence, in order, once.
#include "daemon/conntrackd_sync.h"

#include "core/spawn.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace hd {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> read_lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Conntrackd, TheCommandsAreThoseOfPrimaryBackup) {
  using V = std::vector<std::vector<std::string>>;
  EXPECT_EQ(conntrackd_commands("/usr/sbin/conntrackd", "/etc/c.conf", SyncRole::master),
            (V{{"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-c"},
               {"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-f"},
               {"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-R"},
               {"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-B"}}));
  EXPECT_EQ(conntrackd_commands("/usr/sbin/conntrackd", "/etc/c.conf", SyncRole::backup),
            (V{{"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-t"},
               {"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-n"}}));
  EXPECT_EQ(conntrackd_commands("/usr/sbin/conntrackd", "/etc/c.conf", SyncRole::fault),
            (V{{"/usr/sbin/conntrackd", "-C", "/etc/c.conf", "-t"}}));
  EXPECT_EQ(find_program("/bin/sh"), "/bin/sh");
  EXPECT_FALSE(find_program("/nonexistent/x"));
  EXPECT_EQ(find_program("sh").value_or("").substr(0, 1), "/");
  EXPECT_FALSE(find_program("no-such-program-hd"));
}

TEST(Conntrackd, EachRoleChangeRunsItsSequenceOnce) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hd-ctd-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  const std::string out = dir + "/out", bin = dir + "/conntrackd";
  std::ofstream(bin) << "#!/bin/sh\necho \"$*\" >> " << out << "\n";
  chmod(bin.c_str(), 0755);
  config::Conntrackd cfg;
  cfg.config = "/etc/conntrackd/conntrackd.conf";
  cfg.vrrp_instance = "VI_1";
  cfg.binary = bin;
  ConntrackdSync sync(Loop::main(), cfg);
  auto run_until = [](auto done) {
    for (int i = 0; i < 2000 && !done(); ++i) {
      Loop::main().run_nowait();
      std::this_thread::sleep_for(milliseconds(5));
    }
    return done();
  };
  sync.on_state(SyncRole::backup);
  sync.on_state(SyncRole::backup);  // the same role: nothing
  sync.on_state(SyncRole::master);
  sync.on_state(SyncRole::fault);
  ASSERT_TRUE(run_until([&] { return read_lines(out).size() >= 7; }));
  for (int i = 0; i < 40; ++i) {  // nothing more comes
    Loop::main().run_nowait();
    std::this_thread::sleep_for(milliseconds(5));
  }
  const std::string c = "-C /etc/conntrackd/conntrackd.conf ";
  EXPECT_EQ(read_lines(out),
            (std::vector<std::string>{c + "-t", c + "-n", c + "-c", c + "-f", c + "-R", c + "-B", c + "-t"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hd
