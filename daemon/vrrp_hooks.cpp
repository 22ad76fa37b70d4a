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

void NotifyHooks::run(HookJob job) {
  std::string key = job.key;
  queues_[key].push_back(std::move(job));
  if (!running_.count(key)) next(key);
}

void NotifyHooks::next(const std::string& key) {
  auto& q = queues_[key];
  if (q.empty()) return;
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
    std::string cmd = raw->job.argv[0];
    if (raw->killed) {
      ++timed_out_;
      HD_LOG(error, "notify") << cmd << ": killed after its timeout";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      HD_LOG(debug, "notify") << cmd << ": done";
    } else {
      ++failed_;
      HD_LOG(warning, "notify") << cmd << ": "
                                << (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
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
