// SPDX-License-Identifier: GPL-2.0-or-later
#include "rtnl/route.h"

#include <linux/rtnetlink.h>
#include <netlink/route/route.h>

#include <memory>

namespace hd::rtnl {
namespace {
struct RouteDeleter {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
}  // namespace

std::string RouteSpec::str() const {
  return dst.str() + (dst.is_v4() ? "/32" : "/128") + " dev #" + std::to_string(ifindex) +
         " table " + std::to_string(table) + " proto " + std::to_string(protocol);
}

nl::Msg build_route_request(RouteOp op, const RouteSpec& r) {
  std::unique_ptr<rtnl_route, RouteDeleter> route(rtnl_route_alloc());
  int af = r.dst.is_v4() ? AF_INET : AF_INET6;
  std::unique_ptr<nl_addr, NlAddrDeleter> dst(
      nl_addr_build(af, r.dst.bytes().data(), r.dst.bytes().size()));
  if (!route || !dst) return nullptr;
  nl_addr_set_prefixlen(dst.get(), r.dst.is_v4() ? 32 : 128);
  rtnl_route_set_family(route.get(), static_cast<uint8_t>(af));
  if (rtnl_route_set_dst(route.get(), dst.get()) < 0) return nullptr;
  rtnl_route_set_table(route.get(), r.table);
  rtnl_route_set_protocol(route.get(), r.protocol);
  rtnl_route_set_scope(route.get(), RT_SCOPE_LINK);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return nullptr;
  rtnl_route_nh_set_ifindex(nh, r.ifindex);
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns it now
  nl_msg* msg = nullptr;
  int rc = op == RouteOp::add
               ? rtnl_route_build_add_request(route.get(), NLM_F_CREATE | NLM_F_REPLACE, &msg)
               : rtnl_route_build_del_request(route.get(), 0, &msg);
  if (rc < 0) return nullptr;
  return nl::Msg(msg);
}

}  // namespace hd::rtnl
