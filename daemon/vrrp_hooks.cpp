// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/vrrp_hooks.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"
#include "core/spawn.h"

namespace hd {

struct NotifyHooks::Running {
  pid_t pid = -1;
  HookJob job;
  std::unique_ptr<ChildWatcher> child;
  std::unique_ptr<Timer> timeout;
  bool killed = false;
};

NotifyHooks::NotifyHooks(Loop& loop) : loop_(loop) {}

NotifyHooks::~NotifyHooks() {
  for (auto& [key, r] : running_)
    if (r->pid > 0) kill(-r->pid, SIGKILL);
}

size_t NotifyHooks::pending(const std::string& key) const {
  auto it = queues_.find(key);
  return it == queues_.end() ? 0 : it->second.size();
}

void NotifyHooks::run(HookJob job) {
  std::string key = job.key;
  auto& q = queues_[key];
  // A flapping instance (or one whose hooks hang until their timeout) must not
  // pile up runs without end: drop the oldest waiting ones. The newest always
  // stays, so the last hook run tells the state the instance ended in.
  if (q.size() >= kMaxPending) {
    ++coalesced_;
    HD_LOG(warning, "notify") << key << ": " << q.size()
                              << " notify runs already waiting; dropped the oldest";
    q.pop_front();
  }
  q.push_back(std::move(job));
  if (!running_.count(key)) next(key);
}

void NotifyHooks::next(const std::string& key) {
  auto qi = queues_.find(key);
  if (qi == queues_.end()) return;
  auto& q = qi->second;
  if (q.empty()) {
    queues_.erase(qi);  // instances come and go with reloads
    return;
  }
  auto r = std::make_unique<Running>();
  r->job = std::move(q.front());
  q.pop_front();
  // Notify programs keep the daemon's stdout/stderr, so what they print lands in its log.
  SpawnOptions opts;
  opts.stdout_null = opts.stderr_null = false;
  auto sp = spawn_process(r->job.argv, opts);
  if (!sp.ok()) {
    ++failed_;
    HD_LOG(error, "notify") << r->job.argv[0] << ": cannot start: " << std::strerror(sp.error);
    return next(key);
  }
  r->pid = sp.pid;
  ++started_;
  Running* raw = r.get();
  raw->child = std::make_unique<ChildWatcher>(loop_, raw->pid, [this, key, raw](int status) {
    // Whatever the hook left behind in its group (`daemon &`, a stuck pipe
    // writer) goes with it. libev reaped the leader an instant ago, in this
    // same loop turn; the group id stays reserved while any member lives, so
    // this reaches only the hook's own leftovers. (An empty group's id is free
    // again, but it could name someone else's group only after the kernel
    // wrapped around the whole pid space within this turn.)
    kill(-raw->pid, SIGKILL);
    // The whole command line: one program run with several arguments (conntrackd's steps)
    // says which one failed.
    std::string cmd;
    for (auto& a : raw->job.argv) cmd += (cmd.empty() ? "" : " ") + a;
    if (raw->killed) {
      ++timed_out_;
      HD_LOG(error, "notify") << cmd << ": killed after its timeout";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      HD_LOG(debug, "notify") << cmd << ": done";
    } else {
      ++failed_;
      HD_LOG(warning, "notify") << cmd << ": "
                                << (WIFEXITED(status)
                                        ? "exit " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status)));
    }
    raw->timeout->stop();
    // Free it on the next loop turn (we are inside its own watcher's callback).
    auto it = running_.find(key);
    std::shared_ptr<Running> dying(it->second.release());
    running_.erase(it);
    auto reaper = std::make_shared<std::unique_ptr<Timer>>();
    *reaper = std::make_unique<Timer>(loop_, [dying, reaper]() mutable { reaper->reset(); });
    (*reaper)->start(Duration::zero());
    next(key);
  });
  raw->timeout = std::make_unique<Timer>(loop_, [raw] {
    raw->killed = true;
    kill(-raw->pid, SIGKILL);
  });
  raw->timeout->start(r->job.timeout);
  running_[key] = std::move(r);
}

}  // namespace hd
