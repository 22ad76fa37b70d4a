// SPDX-License-Identifier: GPL-2.0-or-later
// Connection sync for the nftables data plane: conntrackd (conntrack-tools, run by the
// operator with its own config) replicates conntrack between the directors; hadirector tells
// it this director's role on each transition of the VRRP instance it follows, the sequence
// conntrack-tools' primary-backup.sh runs from keepalived's notify (config::Conntrackd).
// The commands run one after another (NotifyHooks: fork/exec, exit seen by the loop, killed
// after 60 s), never blocking the main loop.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/loop.h"
#include "daemon/config/model.h"
#include "daemon/vrrp_hooks.h"

namespace hd {

enum class SyncRole { master, backup, fault };

// The commands for becoming `role`, each an argv (pure), as primary-backup.sh runs them:
// MASTER: -c (commit the other director's connections to the kernel), -f (flush the caches),
// -R (resync the internal cache with the kernel), -B (send everything to the backups);
// BACKUP: -t (shorten the kernel timers of what it held), -n (ask the Master for its table);
// FAULT: -t only (the sync link may be what failed).
std::vector<std::vector<std::string>> conntrackd_commands(const std::string& binary,
                                                          const std::string& config, SyncRole role);

class ConntrackdSync {
 public:
  ConntrackdSync(Loop& loop, config::Conntrackd cfg);
  const config::Conntrackd& config() const { return cfg_; }
  // `vrrp_instance` is now in `role`; the same role again does nothing. Each command may run
  // 60 s (a commit of a large external cache takes a while) before it is killed.
  void on_state(SyncRole role);
  // {"vrrp_instance":"VI_1","role":"master"|"backup"|"fault"|null,"commands":N,"failed":N,"timed_out":N,
  //  "error":"cannot find or run 'conntrackd'"|null}
  void status(JsonWriter& w) const;

 private:
  config::Conntrackd cfg_;
  std::optional<std::string> binary_;
  NotifyHooks hooks_;
  std::optional<SyncRole> role_;
};

}  // namespace hd
