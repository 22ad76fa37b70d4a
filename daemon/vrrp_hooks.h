// SPDX-License-Identifier: GPL-2.0-or-later
// VRRP notify hooks: programs run on VRRP transitions, directly (no shell), with
// the instance name and new state appended to their argv, one at a time per
// instance and in order, killed (process group) after their timeout. Runs on
// the main loop; a child's exit is seen by ev_child, never waited for.
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
  explicit NotifyHooks(Loop& loop);
  ~NotifyHooks();
  void run(HookJob job);
  uint64_t started() const { return started_; }
  bool busy() const { return !running_.empty(); }
  uint64_t failed() const { return failed_; }
  uint64_t timed_out() const { return timed_out_; }

 private:
  struct Running;
  void next(const std::string& key);
  Loop& loop_;
  std::map<std::string, std::deque<HookJob>> queues_;
  std::map<std::string, std::unique_ptr<Running>> running_;
  uint64_t started_ = 0, failed_ = 0, timed_out_ = 0;
};


}  // namespace hd
