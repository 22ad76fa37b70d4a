// SPDX-License-Identifier: GPL-2.0-or-later
// Dump replies as the kernel writes them (ip_vs_genl_fill_service /
// ip_vs_genl_fill_dest in net/netfilter/ipvs/ip_vs_ctl.c): 16-byte addresses,
// the HASHED flag, statistics, connection counters, every tunnel attribute.
#pragma once
#include <arpa/inet.h>
#include <netlink/genl/genl.h>

#include <cstring>
#include <string>

#include "core/netlink.h"
#include "ipvs/model.h"

namespace hd::ipvs::testing {

inline constexpr int kFamilyId = 0x1234;

inline void put_addr16(nl_msg* m, int type, const IpAddress& a) {
  uint8_t buf[16] = {};
  std::memcpy(buf, a.data(), a.size());
  nla_put(m, type, 16, buf);
}

inline void put_stats(nl_msg* m, int type, bool wide) {
  nlattr* n = nla_nest_start(m, type);
  for (int a = 1; a <= 10; ++a) {  // IPVS_STATS_ATTR_CONNS .. OUTBPS
    if (wide)
      nla_put_u64(m, a, 1000 + a);
    else
      nla_put_u32(m, a, 100 + a);
  }
  nla_nest_end(m, n);
}

inline nl::Msg kernel_service_reply(const Service& s) {
  nl::Msg m(nlmsg_alloc());
  genlmsg_put(m.get(), 0, 1, kFamilyId, 0, NLM_F_MULTI, IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION);
  nlattr* n = nla_nest_start(m.get(), IPVS_CMD_ATTR_SERVICE);
  nla_put_u16(m.get(), IPVS_SVC_ATTR_AF, s.key.af());
  if (s.key.is_fwmark()) {
    nla_put_u32(m.get(), IPVS_SVC_ATTR_FWMARK, s.key.mark());
  } else {
    nla_put_u16(m.get(), IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(s.key.protocol()));
    put_addr16(m.get(), IPVS_SVC_ATTR_ADDR, s.key.address());
    nla_put_u16(m.get(), IPVS_SVC_ATTR_PORT, htons(s.key.port()));
  }
  nla_put_string(m.get(), IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.c_str());
  if (!s.pe_name.empty()) nla_put_string(m.get(), IPVS_SVC_ATTR_PE_NAME, s.pe_name.c_str());
  ip_vs_flags f{s.flags | IP_VS_SVC_F_HASHED, ~0u};
  nla_put(m.get(), IPVS_SVC_ATTR_FLAGS, sizeof(f), &f);
  nla_put_u32(m.get(), IPVS_SVC_ATTR_TIMEOUT, s.timeout);
  uint8_t len = s.netmask_len();
  uint32_t mask = s.key.family() == Family::v6 ? len : len == 0 ? 0 : htonl(~0u << (32 - len));
  nla_put_u32(m.get(), IPVS_SVC_ATTR_NETMASK, mask);
  put_stats(m.get(), IPVS_SVC_ATTR_STATS, false);
  put_stats(m.get(), IPVS_SVC_ATTR_STATS64, true);
  nla_nest_end(m.get(), n);
  return m;
}

inline nl::Msg kernel_dest_reply(const Destination& d, bool with_family = true) {
  nl::Msg m(nlmsg_alloc());
  genlmsg_put(m.get(), 0, 1, kFamilyId, 0, NLM_F_MULTI, IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION);
  nlattr* n = nla_nest_start(m.get(), IPVS_CMD_ATTR_DEST);
  put_addr16(m.get(), IPVS_DEST_ATTR_ADDR, d.key.address);
  nla_put_u16(m.get(), IPVS_DEST_ATTR_PORT, htons(d.key.port));
  nla_put_u32(m.get(), IPVS_DEST_ATTR_FWD_METHOD, static_cast<uint32_t>(d.method));
  nla_put_u32(m.get(), IPVS_DEST_ATTR_WEIGHT, static_cast<uint32_t>(d.weight));
  nla_put_u8(m.get(), IPVS_DEST_ATTR_TUN_TYPE, static_cast<uint8_t>(d.tunnel.type));
  nla_put_u16(m.get(), IPVS_DEST_ATTR_TUN_PORT, htons(d.tunnel.port));
  nla_put_u16(m.get(), IPVS_DEST_ATTR_TUN_FLAGS, d.tunnel.flags);
  nla_put_u32(m.get(), IPVS_DEST_ATTR_U_THRESH, d.u_threshold);
  nla_put_u32(m.get(), IPVS_DEST_ATTR_L_THRESH, d.l_threshold);
  nla_put_u32(m.get(), IPVS_DEST_ATTR_ACTIVE_CONNS, 3);
  nla_put_u32(m.get(), IPVS_DEST_ATTR_INACT_CONNS, 4);
  nla_put_u32(m.get(), IPVS_DEST_ATTR_PERSIST_CONNS, 5);
  if (with_family) nla_put_u16(m.get(), IPVS_DEST_ATTR_ADDR_FAMILY, d.key.address.af());
  put_stats(m.get(), IPVS_DEST_ATTR_STATS, false);
  put_stats(m.get(), IPVS_DEST_ATTR_STATS64, true);
  nla_nest_end(m.get(), n);
  return m;
}

// The bytes of one message, as they sit in a received datagram.
inline std::string bytes(const nl::Msg& m) {
  const nlmsghdr* h = nlmsg_hdr(m.get());
  return std::string(reinterpret_cast<const char*>(h), NLMSG_ALIGN(h->nlmsg_len));
}

}  // namespace hd::ipvs::testing
