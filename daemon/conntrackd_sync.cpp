// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/conntrackd_sync.h"

#include "core/log.h"
#include "core/spawn.h"

namespace hd {

std::vector<std::vector<std::string>> conntrackd_commands(const std::string& binary,
                                                          const std::string& config, bool master) {
  std::vector<std::vector<std::string>> out;
  for (const char* flag : master ? std::vector<const char*>{"-c", "-f", "-R", "-B"}
                                 : std::vector<const char*>{"-t", "-n"})
    out.push_back({binary, "-C", config, flag});
  return out;
}

ConntrackdSync::ConntrackdSync(Loop& loop, config::Conntrackd cfg)
    : cfg_(std::move(cfg)), binary_(find_program(cfg_.binary)), hooks_(loop) {
  if (!binary_)
    HD_LOG(error, "conntrackd") << "'" << cfg_.binary << "' is not in PATH: connections will not be "
                                << "synchronised on transitions of " << cfg_.vrrp_instance;
}

void ConntrackdSync::on_state(bool master) {
  if (master_ == master) return;
  master_ = master;
  if (!binary_) return;
  HD_LOG(info, "conntrackd") << cfg_.vrrp_instance << " is " << (master ? "MASTER" : "not MASTER")
                             << ": conntrackd " << (master ? "commits and sends its connections"
                                                           : "shortens its timers, asks for a resync");
  for (auto& argv : conntrackd_commands(*binary_, cfg_.config, master))
    hooks_.run(HookJob{"conntrackd", std::move(argv), std::chrono::seconds(10)});
}

void ConntrackdSync::status(JsonWriter& w) const {
  w.begin_object();
  w.field("vrrp_instance", cfg_.vrrp_instance);
  w.key("role");
  if (master_) w.value(*master_ ? "master" : "backup");
  else w.null();
  w.field("commands", hooks_.started());
  w.field("failed", hooks_.failed());
  w.field("timed_out", hooks_.timed_out());
  w.key("error");
  if (binary_) w.null();
  else w.value("'" + cfg_.binary + "' is not in PATH");
  w.end_object();
}

}  // namespace hd
