// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/realserver_subsystem.h"

#include <filesystem>

namespace hd {

realserver::RoleConfig to_role_config(const config::Config& cfg) {
  realserver::RoleConfig r;
  const auto& rs = *cfg.realserver;
  for (auto& v : rs.vips) r.vips.push_back({v.address, v.mode == config::Forwarding::tun});
  r.interfaces = rs.interfaces;
  r.arp_ignore = rs.arp_ignore;
  r.arp_announce = rs.arp_announce;
  r.rp_filter = rs.rp_filter;
  r.check_interval = rs.check_interval;
  r.state_file = cfg.global.runtime_dir + "/realserver.state";
  return r;
}

std::string RealServerSubsystem::start(const config::Config& cfg) {
  if (!cfg.realserver) return "";
  std::error_code ec;
  std::filesystem::create_directories(cfg.global.runtime_dir, ec);
  if (ec) return "cannot create runtime_dir " + cfg.global.runtime_dir + ": " + ec.message();
  role_ = std::make_unique<realserver::Role>(loop_, to_role_config(cfg));
  return role_->start();
}

std::string RealServerSubsystem::reload(const config::Config& old_cfg,
                                        const config::Config& new_cfg) {
  if (old_cfg.realserver == new_cfg.realserver) return "";
  if (!new_cfg.realserver) {
    stop();
    return "";
  }
  if (!role_) return start(new_cfg);
  return role_->reload(to_role_config(new_cfg));
}

void RealServerSubsystem::stop() {
  if (role_) role_->stop();
  role_.reset();
}

void RealServerSubsystem::status(JsonWriter& w) const {
  w.key("realserver");
  if (role_)
    role_->status(w);
  else
    w.null();
}

void RealServerSubsystem::status_text(std::string& out) const {
  if (role_) role_->status_text(out);
}

}  // namespace hd
