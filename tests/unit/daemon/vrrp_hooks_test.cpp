// SPDX-License-Identifier: GPL-2.0-or-later
// NotifyHooks on the real main loop with tiny shell scripts: a flapping instance's queue is
// bounded and coalesced to its latest state; nothing a hook starts outlives it.
#include "daemon/vrrp_hooks.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace hd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hd-hooks-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name) const { return path_ + "/" + name; }
  // An executable shell script.
  std::string script(const std::string& name, const std::string& body) const {
    std::string p = path(name);
    std::ofstream(p) << "#!/bin/sh\n" << body;
    chmod(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

std::vector<std::string> read_lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Gone, or a zombie (an orphan waiting for an init that may not reap it is gone too).
bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return true;
  auto paren = content.rfind(')');
  return paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] == 'Z';
}

// Runs the main loop (whose ev_child sees hook exits) until `done` or `limit` passes.
template <class F>
bool run_until(F done, Duration limit = seconds(10)) {
  auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    Loop::main().run_nowait();
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

pid_t read_pid(const std::string& file) {
  pid_t pid = 0;
  run_until([&] {
    std::ifstream in(file);
    return static_cast<bool>(in >> pid) && pid > 0;
  });
  return pid;
}

HookJob job(const std::string& script, const std::string& state, Duration timeout = seconds(10)) {
  return HookJob{"VI_1", {script, "VI_1", state}, timeout};
}

TEST(VrrpHooks, FlappingQueueIsBoundedAndEndsOnTheLatestState) {
  TempDir dir;
  std::string out = dir.path("out"), gate = dir.path("gate");
  // The first run waits for the gate, so everything after it queues up behind it.
  std::string hook =
      dir.script("hook.sh", "[ \"$2\" = s0 ] && while [ ! -e " + gate +
                                " ]; do sleep 0.01; done\n" + "echo \"$1 $2\" >> " + out + "\n");
  NotifyHooks hooks(Loop::main());
  for (int i = 0; i < 100; ++i) hooks.run(job(hook, "s" + std::to_string(i)));
  EXPECT_LE(hooks.pending("VI_1"), NotifyHooks::kMaxPending);
  EXPECT_EQ(hooks.pending("VI_1"), NotifyHooks::kMaxPending);
  EXPECT_EQ(hooks.coalesced(), 100u - 1 - NotifyHooks::kMaxPending);

  std::ofstream(gate).put('\n');
  ASSERT_TRUE(run_until([&] { return !hooks.busy(); }));
  auto lines = read_lines(out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "VI_1 s0");
  EXPECT_EQ(lines.back(), "VI_1 s99");  // the last run reflects the final state
  EXPECT_EQ(lines.size(), 1 + NotifyHooks::kMaxPending);
  // In order: the newest kMaxPending, oldest first.
  for (size_t i = 1; i < lines.size(); ++i)
    EXPECT_EQ(lines[i], "VI_1 s" + std::to_string(100 - NotifyHooks::kMaxPending + i - 1));
  EXPECT_EQ(hooks.started(), 1 + NotifyHooks::kMaxPending);
  EXPECT_EQ(hooks.failed(), 0u);
  EXPECT_EQ(hooks.pending("VI_1"), 0u);
}

TEST(VrrpHooks, QueuesArePerInstance) {
  TempDir dir;
  std::string gate = dir.path("gate");
  std::string hook = dir.script("hook.sh", "while [ ! -e " + gate + " ]; do sleep 0.01; done\n");
  NotifyHooks hooks(Loop::main());
  for (int i = 0; i < 20; ++i) hooks.run(HookJob{"VI_1", {hook}, seconds(10)});
  for (int i = 0; i < 3; ++i) hooks.run(HookJob{"VI_2", {hook}, seconds(10)});
  EXPECT_EQ(hooks.pending("VI_1"), NotifyHooks::kMaxPending);
  EXPECT_EQ(hooks.pending("VI_2"), 2u);
  EXPECT_EQ(hooks.coalesced(), 20u - 1 - NotifyHooks::kMaxPending);
  std::ofstream(gate).put('\n');
  ASSERT_TRUE(run_until([&] { return !hooks.busy(); }));
  EXPECT_EQ(hooks.started(), 1 + NotifyHooks::kMaxPending + 3);
}

TEST(VrrpHooks, WhatAHookLeavesBehindIsKilledWhenItExits) {
  TempDir dir;
  std::string pidfile = dir.path("pid");
  std::string hook = dir.script("hook.sh", "sleep 100 &\necho $! > " + pidfile + "\nexit 0\n");
  NotifyHooks hooks(Loop::main());
  hooks.run(job(hook, "master"));
  ASSERT_TRUE(run_until([&] { return !hooks.busy(); }));
  pid_t leftover = read_pid(pidfile);
  ASSERT_GT(leftover, 0);
  bool gone = run_until([&] { return process_gone(leftover); }, seconds(2));
  if (!gone) kill(leftover, SIGKILL);
  EXPECT_TRUE(gone) << "sleep " << leftover << " outlived its hook";
  EXPECT_EQ(hooks.failed(), 0u);
  EXPECT_EQ(hooks.timed_out(), 0u);
}

TEST(VrrpHooks, ATimedOutHookIsKilledWithItsChildren) {
  TempDir dir;
  std::string pidfile = dir.path("pid");
  std::string hook = dir.script("hook.sh", "sleep 100 &\necho $! > " + pidfile + "\nsleep 100\n");
  NotifyHooks hooks(Loop::main());
  hooks.run(job(hook, "master", milliseconds(300)));
  pid_t leftover = read_pid(pidfile);
  ASSERT_GT(leftover, 0);
  ASSERT_TRUE(run_until([&] { return !hooks.busy(); }));
  bool gone = run_until([&] { return process_gone(leftover); }, seconds(2));
  if (!gone) kill(leftover, SIGKILL);
  EXPECT_TRUE(gone);
  EXPECT_EQ(hooks.timed_out(), 1u);
}

TEST(VrrpHooks, AProgramThatCannotStartIsCountedAndTheQueueMovesOn) {
  TempDir dir;
  std::string out = dir.path("out");
  std::string hook = dir.script("hook.sh", "echo \"$2\" >> " + out + "\n");
  NotifyHooks hooks(Loop::main());
  hooks.run(HookJob{"VI_1", {dir.path("missing"), "VI_1", "backup"}, seconds(10)});
  hooks.run(job(hook, "master"));
  ASSERT_TRUE(run_until([&] { return !hooks.busy(); }));
  EXPECT_EQ(hooks.failed(), 1u);
  EXPECT_EQ(read_lines(out), std::vector<std::string>{"master"});
}

}  // namespace
}  // namespace hd
