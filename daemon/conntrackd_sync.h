// SPDX-License-Identifier: GPL-2.0-or-later
// Connection sync for the nftables data plane: conntrackd (conntrack-tools, run by the
// operator with its own config) replicates conntrack between the directors; hadirector tells
// it this director's role on each transition of the VRRP instance it follows, the sequence
// conntrack-tools' primary-backup.sh runs from keepalived's notify (config::Conntrackd).
// The commands run one after another (NotifyHooks: fork/exec, exit seen by the loop, killed
// after 10 s), never blocking the main loop.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/loop.h"
#include "daemon/config/model.h"
#include "daemon/vrrp_hooks.h"

namespace hd {

// The commands for becoming MASTER (master) or BACKUP/FAULT (!master), each an argv (pure):
// MASTER: -c (commit the other director's connections to the kernel), -f (flush the caches),
// -R (resync the internal cache with the kernel), -B (send everything to the backups);
// BACKUP: -t (shorten the kernel timers of what it held), -n (ask the Master for its table).
std::vector<std::vector<std::string>> conntrackd_commands(const std::string& binary,
                                                          const std::string& config, bool master);

class ConntrackdSync {
 public:
  ConntrackdSync(Loop& loop, config::Conntrackd cfg);
  const config::Conntrackd& config() const { return cfg_; }
  // `vrrp_instance` became MASTER (true) or left it (false); the same role again does nothing.
  void on_state(bool master);
  // {"vrrp_instance":"VI_1","role":"master"|"backup"|null,"commands":N,"failed":N,"timed_out":N,
  //  "error":"..."|null}
  void status(JsonWriter& w) const;

 private:
  config::Conntrackd cfg_;
  std::optional<std::string> binary_;
  NotifyHooks hooks_;
  std::optional<bool> master_;
};

}  // namespace hd
