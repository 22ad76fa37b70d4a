// SPDX-License-Identifier: GPL-2.0-or-later
// Script probe: runs argv directly (no shell) in its own process group, with
// stdin/stdout/stderr on /dev/null. Exit 0 is up; an exit code listed in
// exit_weights is up with that weight; any other code is down ("script exit
// 2"). After `timeout` the whole process group gets SIGKILL ("script
// timeout").
//
// How the exit is seen without blocking or leaving zombies:
//  - on Loop::main() (libev's default loop, where the daemon runs checkers):
//    ev_child. libev's SIGCHLD handler reaps every child of the process with
//    waitpid(-1), so a pidfd could not be waited on there reliably, and a
//    child whose watcher is gone (check removed while its script runs) is
//    still reaped.
//  - on any other loop: a pidfd (pidfd_open, Linux 5.3) watched for
//    readability, reaped with waitid(P_PIDFD). A child abandoned by cancel()
//    is killed and reaped when its pidfd says so; one whose probe is destroyed
//    first gets 20 ms, then goes to a list reaped at every later spawn and at
//    exit (a SIGKILLed process only lingers in D state). Do not run libev's
//    default loop in the same process at the same time: it would reap these
//    children first and their exit status would be lost (reported as "error").
#pragma once
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>

#include "checkers/probe.h"

namespace hd::checkers {

class ScriptProbe final : public Probe {
 public:
  ScriptProbe(Loop& loop, SpecPtr spec);
  ScriptProbe(Loop& loop, const Spec& spec) : ScriptProbe(loop, std::make_shared<const Spec>(spec)) {}
  ~ScriptProbe() override;
  void start(ProbeDone done) override;
  void cancel() override;
  bool running() const override { return static_cast<bool>(done_); }
  // The last started script's pid (tests check it is reaped).
  pid_t last_pid() const { return last_pid_; }

  // Maps a wait status to a result (pure).
  static Result interpret(int wait_status, bool timed_out, const std::map<int, int>& weights);

 private:
  void on_exit(int wait_status);
  void on_pidfd();
  void on_timeout();
  void abandon_child();
  void orphan_child();
  void finish(Result r);
  void finish_later(Result r);

  Loop& loop_;
  SpecPtr spec_;  // shared with the Checker's check: one copy per target
  bool use_ev_child_;
  pid_t pid_ = -1;
  pid_t last_pid_ = -1;
  int pidfd_ = -1;
  bool timed_out_ = false;
  bool draining_ = false;  // pidfd path: killed by cancel(), not reaped yet
  std::unique_ptr<ChildWatcher> child_;
  std::unique_ptr<ChildWatcher> spent_child_;
  IoWatcher pidfd_io_;
  Timer timer_;
  Timer defer_;
  std::optional<Result> deferred_;
  ProbeDone done_;
};

}  // namespace hd::checkers
