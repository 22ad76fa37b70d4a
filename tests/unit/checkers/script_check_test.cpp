// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/script_check.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

Spec script(std::vector<std::string> argv, Duration timeout = milliseconds(2000)) {
  Spec s;
  s.type = CheckType::script;
  s.argv = std::move(argv);
  s.timeout = timeout;
  return s;
}

Spec sh(const std::string& code, Duration timeout = milliseconds(2000)) {
  return script({"/bin/sh", "-c", code}, timeout);
}

// Waits (briefly, running `loop` so a default loop can reap) until pid is gone.
bool gone_soon(Loop& loop, pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    if (process_gone(pid)) return true;
    loop.run_nowait();
    std::this_thread::sleep_for(milliseconds(10));
  }
  return process_gone(pid);
}

// Both ways of seeing a child's exit: ev_child on the default loop, a pidfd elsewhere.
enum class Kind { default_loop, own_loop };
void PrintTo(Kind k, std::ostream* os) {
  *os << (k == Kind::default_loop ? "ev_child" : "pidfd");
}

class ScriptCheck : public ::testing::TestWithParam<Kind> {
 protected:
  Loop& loop() { return GetParam() == Kind::default_loop ? Loop::main() : own_; }
  Loop own_;
};

TEST_P(ScriptCheck, ExitZeroIsUpAndReaped) {
  ScriptProbe p(loop(), script({"/bin/true"}));
  EXPECT_EQ(run_probe(loop(), p).to_string(), "ok");
  EXPECT_TRUE(process_gone(p.last_pid()));
}

TEST_P(ScriptCheck, ExitTwoIsDown) {
  ScriptProbe p(loop(), sh("exit 2"));
  auto r = run_probe(loop(), p);
  EXPECT_EQ(r.to_string(), "script exit 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(process_gone(p.last_pid()));
}

TEST_P(ScriptCheck, ExitWeights) {
  Spec s = sh("exit $HD_TEST_CODE");
  s.exit_weights = {{3, 50}, {4, 0}};
  ScriptProbe p(loop(), s);
  setenv("HD_TEST_CODE", "3", 1);
  auto r = run_probe(loop(), p);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.weight, 50);
  EXPECT_EQ(r.to_string(), "ok: exit 3, weight 50");
  setenv("HD_TEST_CODE", "4", 1);
  r = run_probe(loop(), p);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.weight, 0);
  setenv("HD_TEST_CODE", "5", 1);
  EXPECT_EQ(run_probe(loop(), p).to_string(), "script exit 5");
  unsetenv("HD_TEST_CODE");
}

TEST_P(ScriptCheck, HangIsKilledWithItsGroup) {
  TempDir dir;
  std::string pidfile = dir.file("grandchild.pid");
  // The script starts a grandchild in its group, records its pid, and hangs.
  ScriptProbe p(loop(), sh("sleep 30 & echo $! > " + pidfile + "; wait", milliseconds(300)));
  auto t0 = SteadyClock::now();
  EXPECT_EQ(run_probe(loop(), p).to_string(), "script timeout");
  auto took = SteadyClock::now() - t0;
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_TRUE(gone_soon(loop(), p.last_pid()));
  pid_t grandchild = 0;
  std::ifstream(pidfile) >> grandchild;
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(gone_soon(loop(), grandchild));
}

TEST_P(ScriptCheck, DeathBySignal) {
  ScriptProbe p(loop(), sh("kill -TERM $$"));
  EXPECT_EQ(run_probe(loop(), p).to_string(), "script killed by signal 15");
}

TEST_P(ScriptCheck, MissingProgram) {
  ScriptProbe p(loop(), script({"/nonexistent/check"}));
  EXPECT_EQ(run_probe(loop(), p).to_string(), "spawn failed: No such file or directory");
}

TEST_P(ScriptCheck, OutOfDescriptorsIsInconclusiveNotAFailure) {
  ScriptProbe p(loop(), script({"/bin/true"}));
  EXPECT_EQ(run_probe(loop(), p).to_string(), "ok");  // see TcpCheck's: for UBSan's vptr check
  Result r;
  {
    FdExhaustion no_fds;
    ASSERT_TRUE(no_fds.exhausted());
    r = run_probe(loop(), p);
  }
  // posix_spawn may still start it (its file actions close fd 0 before opening
  // /dev/null there); what must never come out is a failure of the real server.
  EXPECT_TRUE(r.ok() || r.inconclusive()) << r.to_string();
  if (GetParam() == Kind::own_loop) {
    EXPECT_TRUE(r.inconclusive()) << "pidfd_open: " << r.to_string();
  }
  EXPECT_EQ(run_probe(loop(), p).to_string(), "ok");
}

TEST_P(ScriptCheck, StdioIsDevNullAndNoDescriptorsLeak) {
  int leak = open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(leak, 3);
  ScriptProbe p(loop(), sh("[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] && "
                           "[ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] && "
                           "[ \"$(readlink /proc/$$/fd/2)\" = /dev/null ] && "
                           "[ ! -e /proc/$$/fd/" +
                           std::to_string(leak) + " ]"));
  EXPECT_EQ(run_probe(loop(), p).to_string(), "ok");
  close(leak);
}

TEST_P(ScriptCheck, CancelKillsAndReaps) {
  ScriptProbe p(loop(), script({"/bin/sleep", "30"}));
  bool called = false;
  p.start([&](Result) { called = true; });
  loop().run_nowait();
  pid_t pid = p.last_pid();
  ASSERT_GT(pid, 0);
  p.cancel();
  EXPECT_TRUE(gone_soon(loop(), pid));
  EXPECT_FALSE(called);
  // And the probe runs again afterwards.
  ScriptProbe q(loop(), script({"/bin/true"}));
  EXPECT_TRUE(run_probe(loop(), q).ok());
}

TEST_P(ScriptCheck, DestroyedWhileRunning) {
  pid_t pid;
  {
    ScriptProbe p(loop(), script({"/bin/sleep", "30"}));
    p.start([](Result) {});
    pid = p.last_pid();
  }
  EXPECT_TRUE(gone_soon(loop(), pid));
}

INSTANTIATE_TEST_SUITE_P(Loops, ScriptCheck, ::testing::Values(Kind::default_loop, Kind::own_loop),
                         [](const auto& info) {
                           return info.param == Kind::default_loop ? "ev_child" : "pidfd";
                         });

TEST(ScriptInterpret, WaitStatuses) {
  std::map<int, int> w{{7, 70}};
  EXPECT_EQ(ScriptProbe::interpret(W_EXITCODE(0, 0), false, w).to_string(), "ok");
  EXPECT_EQ(ScriptProbe::interpret(W_EXITCODE(1, 0), false, w).to_string(), "script exit 1");
  EXPECT_EQ(ScriptProbe::interpret(W_EXITCODE(7, 0), false, w).weight, 70);
  EXPECT_EQ(ScriptProbe::interpret(W_EXITCODE(0, 9), false, w).to_string(),
            "script killed by signal 9");
  EXPECT_EQ(ScriptProbe::interpret(W_EXITCODE(0, 9), true, w).to_string(), "script timeout");
}

}  // namespace
}  // namespace hd::checkers
