// SPDX-License-Identifier: GPL-2.0-or-later
// Routes as values and their rtnetlink requests: the anycast announcements (a host route on
// the anycast device in a table of its own, marked with hadirector's protocol number, which
// a routing daemon exports over BGP; docs/anycast.md). Sent through
// NetlinkAddressManager::request, so no loop waits on the kernel.
#pragma once
#include <cstdint>
#include <string>

#include "core/address.h"
#include "core/netlink.h"

namespace hd::rtnl {

// The rtm_protocol of the routes hadirector writes: what `ip route show proto 250` and a
// routing daemon's import filter select them by. Not one of iproute2's named numbers.
inline constexpr uint8_t kRouteProtocol = 250;

struct RouteSpec {
  IpAddress dst;  // a host route: /32 or /128
  int ifindex = 0;
  uint32_t table = 0;
  uint8_t protocol = kRouteProtocol;
  friend bool operator==(const RouteSpec&, const RouteSpec&) = default;
  std::string str() const;  // "192.0.2.1/32 dev #7 table 200 proto 249"
};

enum class RouteOp { add, remove };
// RTM_NEWROUTE (create or replace) / RTM_DELROUTE; null when it cannot be built.
nl::Msg build_route_request(RouteOp op, const RouteSpec& r);

}  // namespace hd::rtnl
