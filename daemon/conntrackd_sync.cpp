// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/conntrackd_sync.h"

#include "core/log.h"
#include "core/spawn.h"

namespace hd {

std::vector<std::vector<std::string>> conntrackd_commands(const std::string& binary,
                                                          const std::string& config, SyncRole role) {
  std::vector<std::vector<std::string>> out;
  const std::vector<const char*> flags = role == SyncRole::master   ? std::vector<const char*>{"-c", "-f", "-R", "-B"}
                                         : role == SyncRole::backup ? std::vector<const char*>{"-t", "-n"}
                                                                    : std::vector<const char*>{"-t"};
  for (const char* flag : flags) out.push_back({binary, "-C", config, flag});
  return out;
}

namespace {
const char* name_of(SyncRole r) {
  return r == SyncRole::master ? "master" : r == SyncRole::backup ? "backup" : "fault";
}
}  // namespace

ConntrackdSync::ConntrackdSync(Loop& loop, config::Conntrackd cfg)
    : cfg_(std::move(cfg)), binary_(find_program(cfg_.binary)), hooks_(loop) {
  if (!binary_)
    HD_LOG(error, "conntrackd") << "cannot find or run '" << cfg_.binary << "': connections will not be "
                                << "synchronised on transitions of " << cfg_.vrrp_instance;
}

void ConntrackdSync::on_state(SyncRole role) {
  if (role_ == role) return;
  role_ = role;
  if (!binary_) return;
  HD_LOG(info, "conntrackd") << cfg_.vrrp_instance << " is " << name_of(role) << ": conntrackd "
                             << (role == SyncRole::master   ? "commits and sends its connections"
                                 : role == SyncRole::backup ? "shortens its timers, asks for a resync"
                                                            : "shortens its timers");
  for (auto& argv : conntrackd_commands(*binary_, cfg_.config, role))
    hooks_.run(HookJob{"conntrackd", std::move(argv), std::chrono::seconds(60)});
}

void ConntrackdSync::status(JsonWriter& w) const {
  w.begin_object();
  w.field("vrrp_instance", cfg_.vrrp_instance);
  w.key("role");
  if (role_) w.value(name_of(*role_));
  else w.null();
  w.field("commands", hooks_.started());
  w.field("failed", hooks_.failed());
  w.field("timed_out", hooks_.timed_out());
  w.key("error");
  if (binary_) w.null();
  else w.value("cannot find or run '" + cfg_.binary + "'");
  w.end_object();
}

}  // namespace hd
