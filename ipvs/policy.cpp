// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/policy.h"

namespace hd::ipvs::policy {
namespace {

constexpr nla_policy u8{NLA_U8, 0, 0};
constexpr nla_policy u16{NLA_U16, 0, 0};
constexpr nla_policy u32{NLA_U32, 0, 0};
constexpr nla_policy nested{NLA_NESTED, 0, 0};
// An address travels as union nf_inet_addr (16 bytes); accept IPv4's 4.
constexpr nla_policy address{NLA_UNSPEC, 4, 16};

constexpr auto make_cmd() {
  std::array<nla_policy, IPVS_CMD_ATTR_MAX + 1> p{};
  p[IPVS_CMD_ATTR_SERVICE] = nested;
  p[IPVS_CMD_ATTR_DEST] = nested;
  p[IPVS_CMD_ATTR_DAEMON] = nested;
  p[IPVS_CMD_ATTR_TIMEOUT_TCP] = u32;
  p[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = u32;
  p[IPVS_CMD_ATTR_TIMEOUT_UDP] = u32;
  return p;
}

constexpr auto make_service() {
  std::array<nla_policy, IPVS_SVC_ATTR_MAX + 1> p{};
  p[IPVS_SVC_ATTR_AF] = u16;
  p[IPVS_SVC_ATTR_PROTOCOL] = u16;
  p[IPVS_SVC_ATTR_ADDR] = address;
  p[IPVS_SVC_ATTR_PORT] = u16;
  p[IPVS_SVC_ATTR_FWMARK] = u32;
  p[IPVS_SVC_ATTR_SCHED_NAME] = {NLA_STRING, 0, IP_VS_SCHEDNAME_MAXLEN};
  p[IPVS_SVC_ATTR_FLAGS] = {NLA_UNSPEC, sizeof(ip_vs_flags), 0};
  p[IPVS_SVC_ATTR_TIMEOUT] = u32;
  p[IPVS_SVC_ATTR_NETMASK] = u32;
  p[IPVS_SVC_ATTR_STATS] = nested;
  p[IPVS_SVC_ATTR_PE_NAME] = {NLA_STRING, 0, IP_VS_PENAME_MAXLEN};
  p[IPVS_SVC_ATTR_STATS64] = nested;
  return p;
}

constexpr auto make_stats64() {
  constexpr nla_policy u64{NLA_U64, 0, 0};
  std::array<nla_policy, IPVS_STATS_ATTR_MAX + 1> p{};
  for (int a : {IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_INPKTS, IPVS_STATS_ATTR_OUTPKTS,
                IPVS_STATS_ATTR_INBYTES, IPVS_STATS_ATTR_OUTBYTES})  // the ones read
    p[static_cast<size_t>(a)] = u64;
  return p;
}

constexpr auto make_dest() {
  std::array<nla_policy, IPVS_DEST_ATTR_MAX + 1> p{};
  p[IPVS_DEST_ATTR_ADDR] = address;
  p[IPVS_DEST_ATTR_PORT] = u16;
  p[IPVS_DEST_ATTR_FWD_METHOD] = u32;
  p[IPVS_DEST_ATTR_WEIGHT] = u32;
  p[IPVS_DEST_ATTR_U_THRESH] = u32;
  p[IPVS_DEST_ATTR_L_THRESH] = u32;
  p[IPVS_DEST_ATTR_ACTIVE_CONNS] = u32;
  p[IPVS_DEST_ATTR_INACT_CONNS] = u32;
  p[IPVS_DEST_ATTR_PERSIST_CONNS] = u32;
  p[IPVS_DEST_ATTR_STATS] = nested;
  p[IPVS_DEST_ATTR_ADDR_FAMILY] = u16;
  p[IPVS_DEST_ATTR_STATS64] = nested;
  p[IPVS_DEST_ATTR_TUN_TYPE] = u8;
  p[IPVS_DEST_ATTR_TUN_PORT] = u16;
  p[IPVS_DEST_ATTR_TUN_FLAGS] = u16;
  return p;
}

constexpr auto make_daemon() {
  std::array<nla_policy, IPVS_DAEMON_ATTR_MAX + 1> p{};
  p[IPVS_DAEMON_ATTR_STATE] = u32;
  p[IPVS_DAEMON_ATTR_MCAST_IFN] = {NLA_STRING, 0, IP_VS_IFNAME_MAXLEN};
  p[IPVS_DAEMON_ATTR_SYNC_ID] = u32;
  p[IPVS_DAEMON_ATTR_SYNC_MAXLEN] = u16;
  p[IPVS_DAEMON_ATTR_MCAST_GROUP] = u32;
  p[IPVS_DAEMON_ATTR_MCAST_GROUP6] = {NLA_UNSPEC, 16, 16};
  p[IPVS_DAEMON_ATTR_MCAST_PORT] = u16;
  p[IPVS_DAEMON_ATTR_MCAST_TTL] = u8;
  return p;
}

}  // namespace

const std::array<nla_policy, IPVS_CMD_ATTR_MAX + 1> kCmd = make_cmd();
const std::array<nla_policy, IPVS_SVC_ATTR_MAX + 1> kService = make_service();
const std::array<nla_policy, IPVS_DEST_ATTR_MAX + 1> kDest = make_dest();
const std::array<nla_policy, IPVS_DAEMON_ATTR_MAX + 1> kDaemon = make_daemon();
const std::array<nla_policy, IPVS_STATS_ATTR_MAX + 1> kStats64 = make_stats64();

}  // namespace hd::ipvs::policy
