// SPDX-License-Identifier: GPL-2.0-or-later
// libnl attribute policies for the "IPVS" generic netlink family
// (<linux/ip_vs.h>), used to validate what the kernel sends and, in tests,
// to decode what we would send. Pass .data() to nla_parse.
#pragma once
#include <linux/ip_vs.h>
#include <netlink/attr.h>

#include <array>

namespace hd::ipvs::policy {

extern const std::array<nla_policy, IPVS_CMD_ATTR_MAX + 1> kCmd;
extern const std::array<nla_policy, IPVS_SVC_ATTR_MAX + 1> kService;
extern const std::array<nla_policy, IPVS_DEST_ATTR_MAX + 1> kDest;
extern const std::array<nla_policy, IPVS_DAEMON_ATTR_MAX + 1> kDaemon;
extern const std::array<nla_policy, IPVS_STATS_ATTR_MAX + 1> kStats64;  // all u64

}  // namespace hd::ipvs::policy
