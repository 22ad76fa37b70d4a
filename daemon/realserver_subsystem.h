// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's side of the real-server role ([realserver] in the config).
#pragma once
#include <memory>

#include "daemon/subsystem.h"
#include "realserver/role.h"

namespace hd {

realserver::RoleConfig to_role_config(const config::Config& cfg);

class RealServerSubsystem final : public Subsystem {
 public:
  explicit RealServerSubsystem(Loop& loop) : loop_(loop) {}
  std::string_view name() const override { return "realserver"; }
  std::string start(const config::Config& cfg) override;
  std::string reload(const config::Config& old_cfg, const config::Config& new_cfg) override;
  void stop() override;
  void status(JsonWriter& w) const override;
  void status_text(std::string& out) const override;

 private:
  Loop& loop_;
  std::unique_ptr<realserver::Role> role_;
};

}  // namespace hd
