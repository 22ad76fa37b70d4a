// SPDX-License-Identifier: GPL-2.0-or-later
// VRRP notify hooks: programs run on VRRP transitions, directly (no shell), with
// the instance name and new state appended to their argv, one at a time per
// instance and in order, killed (process group) after their timeout, and their
// process group killed once they exit, so nothing a hook starts outlives it.
// At most kMaxPending runs wait per instance: a flapping instance drops its
// oldest waiting runs (counted in coalesced()), never the newest, so the last
// run always reflects the final state. Runs on the main loop; a child's exit is
// seen by ev_child, never waited for.
#pragma once
#include <sys/types.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"

namespace hd {

struct HookJob {
  std::string key;  // serialisation key (the instance name)
  std::vector<std::string> argv;
  Duration timeout;
};

class NotifyHooks {
 public:
  // Runs waiting behind the one running, per key.
  static constexpr size_t kMaxPending = 16;
  explicit NotifyHooks(Loop& loop);
  ~NotifyHooks();
  // Runs `job` now if nothing runs for its key, else queues it (see kMaxPending).
  void run(HookJob job);
  bool busy() const { return !running_.empty(); }
  uint64_t started() const { return started_; }
  uint64_t failed() const { return failed_; }  // could not start, exit != 0, or a signal
  uint64_t timed_out() const { return timed_out_; }
  // Queued runs dropped because kMaxPending newer ones were waiting.
  uint64_t coalesced() const { return coalesced_; }
  size_t pending(const std::string& key) const;

 private:
  struct Running;
  void next(const std::string& key);
  Loop& loop_;
  std::map<std::string, std::deque<HookJob>> queues_;
  std::map<std::string, std::unique_ptr<Running>> running_;
  uint64_t started_ = 0, failed_ = 0, timed_out_ = 0, coalesced_ = 0;
};

}  // namespace hd
