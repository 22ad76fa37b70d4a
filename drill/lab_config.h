// SPDX-License-Identifier: GPL-2.0-or-later
// The configuration each lab director runs, as a config::Config value built
// from the lab's addresses and the drill's parameters; written out with the
// config writer (daemon/config/writer.h), so the file is what `hadirector
// check` would accept and what the loader reads back.
#pragma once
#include <array>
#include <optional>
#include <string>

#include "daemon/config/model.h"
#include "drill/lab.h"
#include "drill/params.h"

namespace hd::drill {

// Director i (0: A, priority 150; 1: B, priority 100) with the real servers' weights, and
// authenticated VRRP for both its instances when `auth` is given ([global.vrrp_auth]).
config::Config director_config(const Lab& lab, const LabParams& p, int i,
                               const std::array<int, 3>& weights,
                               const std::optional<config::AuthSection>& auth = std::nullopt);

// DR real server r (0-2): hadirector's real-server role, holding the VIP on lo with ARP
// hidden on eth0 (and, with `extra_vip`, a second address: a change whose reload must save
// the state file first).
config::Config real_server_config(const Lab& lab, int r, bool extra_vip = false);

}  // namespace hd::drill
