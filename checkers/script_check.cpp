// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/script_check.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "core/log.h"
#include "core/spawn.h"

namespace hd::checkers {
namespace {

// glibc 2.36's <sys/pidfd.h> lacks extern "C"; the raw syscall does the same.
int pidfd_open(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// Killed children of the pidfd path whose exit had not come yet when their
// probe went away: reaped (WNOHANG) on every later spawn and at exit.
class Orphans {
 public:
  void add(pid_t pid, int pidfd) {
    std::lock_guard lock(mu_);
    list_.push_back({pid, pidfd});
    reap_locked();
  }
  void reap() {
    std::lock_guard lock(mu_);
    reap_locked();
  }
  ~Orphans() {
    for (auto& o : list_) {
      siginfo_t info{};
      waitid(P_PIDFD, static_cast<id_t>(o.pidfd), &info, WEXITED);
      ::close(o.pidfd);
    }
  }

 private:
  struct Entry {
    pid_t pid;
    int pidfd;
  };
  void reap_locked() {
    std::erase_if(list_, [](const Entry& o) {
      siginfo_t info{};
      int rc = waitid(P_PIDFD, static_cast<id_t>(o.pidfd), &info, WEXITED | WNOHANG);
      if (rc == 0 && info.si_pid == 0) return false;  // not yet
      ::close(o.pidfd);
      return true;
    });
  }
  std::mutex mu_;
  std::vector<Entry> list_;
};

Orphans& orphans() {
  static Orphans o;
  return o;
}

}  // namespace

ScriptProbe::ScriptProbe(Loop& loop, SpecPtr spec)
    : loop_(loop),
      spec_(std::move(spec)),
      use_ev_child_(ev_is_default_loop(loop.raw())),
      pidfd_io_(loop, -1, EV_READ, [this](int) { on_pidfd(); }),
      timer_(loop, [this] { on_timeout(); }),
      defer_(loop, [this] {
        if (deferred_) {
          Result r = std::move(*deferred_);
          deferred_.reset();
          finish(std::move(r));
        }
      }) {}

ScriptProbe::~ScriptProbe() {
  cancel();
  orphan_child();
}

Result ScriptProbe::interpret(int status, bool timed_out, const std::map<int, int>& weights) {
  if (timed_out) return Result::failure(Reason::script_timeout);
  if (WIFSIGNALED(status)) return Result::failure(Reason::script_killed, WTERMSIG(status));
  if (!WIFEXITED(status)) return Result::failure(Reason::other, status, "unexpected wait status");
  int code = WEXITSTATUS(status);
  if (auto it = weights.find(code); it != weights.end()) {
    Result r = Result::success(code);
    r.weight = it->second;
    r.detail = "exit " + std::to_string(code) + ", weight " + std::to_string(it->second);
    return r;
  }
  if (code == 0) return Result::success();
  return Result::failure(Reason::script_exit, code);
}

void ScriptProbe::start(ProbeDone done) {
  done_ = std::move(done);
  timed_out_ = false;
  orphan_child();  // a cancelled run's child still on its way out
  if (!use_ev_child_) orphans().reap();
  SpawnResult s = spawn_process(spec_->argv);
  if (!s.ok()) return finish_later(Result::failure_or_local(Reason::spawn_failed, s.error));
  pid_ = last_pid_ = s.pid;
  if (use_ev_child_) {
    child_ = std::make_unique<ChildWatcher>(loop_, pid_, [this](int status) { on_exit(status); });
  } else {
    pidfd_ = pidfd_open(pid_);
    if (pidfd_ < 0) {
      int e = errno;
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);  // just SIGKILLed: no wait to speak of
      pid_ = -1;
      return finish_later(Result::syscall_failure(Reason::spawn_failed, "pidfd_open", e));
    }
    pidfd_io_.set(pidfd_, EV_READ);
    pidfd_io_.start();
  }
  timer_.start(spec_->timeout);
}

void ScriptProbe::on_timeout() {
  timed_out_ = true;
  // The group: a shell script's children go too.
  if (pid_ > 0) kill(-pid_, SIGKILL);
}

void ScriptProbe::on_pidfd() {
  siginfo_t info{};
  int rc = waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG);
  if (rc == 0 && info.si_pid == 0) return;  // spurious
  pidfd_io_.stop();
  ::close(pidfd_);
  pidfd_ = -1;
  if (draining_) {  // abandoned by cancel(): reaped, nobody to tell
    draining_ = false;
    pid_ = -1;
    return;
  }
  if (rc != 0) {
    // Someone else reaped it (libev's default loop running in this process).
    pid_ = -1;
    return finish(Result::failure(Reason::other, errno, "exit status lost"));
  }
  int status =
      info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0) : W_EXITCODE(0, info.si_status);
  on_exit(status);
}

void ScriptProbe::on_exit(int status) {
  // No group kill here: the leader is reaped, so its pid (the group id) may
  // already name someone else's group. on_timeout() killed the group.
  pid_ = -1;
  finish(interpret(status, timed_out_, spec_->exit_weights));
}

void ScriptProbe::abandon_child() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  if (use_ev_child_) {
    child_.reset();  // libev's SIGCHLD handler reaps it
    pid_ = -1;
    return;
  }
  // Keep watching the pidfd and reap it quietly when the kill lands.
  draining_ = true;
}

void ScriptProbe::orphan_child() {
  if (!draining_) return;
  pidfd_io_.stop();
  // A SIGKILLed process is normally gone within microseconds; wait a little
  // for it, then leave it to the orphan list (D state: NFS, a dead disk).
  pollfd p{pidfd_, POLLIN, 0};
  if (poll(&p, 1, 20) == 1) {
    siginfo_t info{};
    waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG);
    ::close(pidfd_);
  } else {
    orphans().add(pid_, pidfd_);
  }
  pidfd_ = -1;
  pid_ = -1;
  draining_ = false;
}

void ScriptProbe::cancel() {
  abandon_child();
  timer_.stop();
  defer_.stop();
  deferred_.reset();
  done_ = nullptr;
}

void ScriptProbe::finish(Result r) {
  ProbeDone done = std::move(done_);
  // We may be inside the ChildWatcher's own callback (it stopped itself
  // first): keep it until the next exit rather than free it here.
  if (child_) spent_child_ = std::move(child_);
  cancel();
  if (done) done(std::move(r));
}

void ScriptProbe::finish_later(Result r) {
  deferred_ = std::move(r);
  defer_.start(Duration::zero());
}

}  // namespace hd::checkers
