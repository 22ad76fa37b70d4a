// SPDX-License-Identifier: GPL-2.0-or-later
// Every request, built without a socket and decoded back attribute by
// attribute with the IPVS policies, as the kernel would read it.
#include "ipvs/message.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netlink/genl/genl.h>

#include <cstring>

#include "ipvs/policy.h"
#include "test_util.h"

namespace hd::ipvs {
namespace {

using testing::dest;
using testing::ip;
using testing::tcp;

constexpr int kFamily = 0x1234;

struct Decoded {
  nlmsghdr nl{};
  genlmsghdr genl{};
  std::array<nlattr*, IPVS_CMD_ATTR_MAX + 1> top{};
  std::array<nlattr*, IPVS_SVC_ATTR_MAX + 1> svc{};
  std::array<nlattr*, IPVS_DEST_ATTR_MAX + 1> dst{};
  std::array<nlattr*, IPVS_DAEMON_ATTR_MAX + 1> daemon{};
  size_t top_count = 0, svc_count = 0, dst_count = 0, daemon_count = 0;
};

template <size_t N>
size_t count(const std::array<nlattr*, N>& a) {
  size_t n = 0;
  for (auto* p : a) n += p != nullptr;
  return n;
}

// Keeps `msg` alive: the attribute pointers point into it.
Decoded decode(const nl::Msg& msg) {
  Decoded d;
  EXPECT_TRUE(msg);
  if (!msg) return d;
  nlmsghdr* h = nlmsg_hdr(msg.get());
  d.nl = *h;
  d.genl = *static_cast<genlmsghdr*>(nlmsg_data(h));
  EXPECT_EQ(genlmsg_parse(h, 0, d.top.data(), IPVS_CMD_ATTR_MAX, policy::kCmd.data()), 0);
  if (d.top[IPVS_CMD_ATTR_SERVICE]) {
    EXPECT_EQ(nla_parse_nested(d.svc.data(), IPVS_SVC_ATTR_MAX, d.top[IPVS_CMD_ATTR_SERVICE],
                               policy::kService.data()),
              0);
  }
  if (d.top[IPVS_CMD_ATTR_DEST]) {
    EXPECT_EQ(nla_parse_nested(d.dst.data(), IPVS_DEST_ATTR_MAX, d.top[IPVS_CMD_ATTR_DEST],
                               policy::kDest.data()),
              0);
  }
  if (d.top[IPVS_CMD_ATTR_DAEMON]) {
    EXPECT_EQ(nla_parse_nested(d.daemon.data(), IPVS_DAEMON_ATTR_MAX, d.top[IPVS_CMD_ATTR_DAEMON],
                               policy::kDaemon.data()),
              0);
  }
  d.top_count = count(d.top);
  d.svc_count = count(d.svc);
  d.dst_count = count(d.dst);
  d.daemon_count = count(d.daemon);
  return d;
}

std::string addr16(const nlattr* a) {
  EXPECT_EQ(nla_len(a), 16);
  return std::string(static_cast<const char*>(nla_data(a)), 16);
}
std::string padded(const IpAddress& a) {
  std::string s(16, '\0');
  std::memcpy(s.data(), a.data(), a.size());
  return s;
}
uint16_t be16(const nlattr* a) {
  return ntohs(nla_get_u16(const_cast<nlattr*>(a)));
}

Service full_service() {
  Service s;
  s.key = ServiceKey::inet(Protocol::udp, ip("10.0.0.1"), 53);
  s.scheduler = "sh";
  s.flags = kPersistent | kShFallback | kShPort;
  s.timeout = 300;
  s.netmask = 24;
  s.pe_name = "sip";
  return s;
}

void expect_header(const Decoded& d, uint8_t cmd, int flags) {
  EXPECT_EQ(d.nl.nlmsg_type, kFamily);
  EXPECT_EQ(d.nl.nlmsg_flags, NLM_F_REQUEST | flags);
  EXPECT_EQ(d.genl.cmd, cmd);
  EXPECT_EQ(d.genl.version, IPVS_GENL_VERSION);
}

void expect_full_service(const Decoded& d, const Service& s) {
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_AF]), AF_INET);
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_UDP);
  EXPECT_EQ(addr16(d.svc[IPVS_SVC_ATTR_ADDR]), padded(s.key.address()));
  EXPECT_EQ(be16(d.svc[IPVS_SVC_ATTR_PORT]), 53);
  EXPECT_STREQ(nla_get_string(d.svc[IPVS_SVC_ATTR_SCHED_NAME]), "sh");
  ip_vs_flags f;
  ASSERT_EQ(nla_len(d.svc[IPVS_SVC_ATTR_FLAGS]), static_cast<int>(sizeof(f)));
  std::memcpy(&f, nla_data(d.svc[IPVS_SVC_ATTR_FLAGS]), sizeof(f));
  EXPECT_EQ(f.flags,
            IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED_SH_FALLBACK | IP_VS_SVC_F_SCHED_SH_PORT);
  EXPECT_EQ(f.mask, ~0u);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_TIMEOUT]), 300u);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_NETMASK]), htonl(0xffffff00));
  EXPECT_STREQ(nla_get_string(d.svc[IPVS_SVC_ATTR_PE_NAME]), "sip");
  EXPECT_EQ(d.svc_count, 9u);
}

TEST(Message, AddService) {
  nl::Msg m = build_message(AddService{full_service()}, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_NEW_SERVICE, NLM_F_ACK);
  EXPECT_EQ(d.top_count, 1u);
  expect_full_service(d, full_service());
}

TEST(Message, EditService) {
  nl::Msg m = build_message(EditService{full_service()}, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_SET_SERVICE, NLM_F_ACK);
  expect_full_service(d, full_service());
}

TEST(Message, DelServiceCarriesOnlyTheKey) {
  nl::Msg m = build_message(DelService{tcp("10.0.0.1", 80)}, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_DEL_SERVICE, NLM_F_ACK);
  EXPECT_EQ(d.svc_count, 4u);
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_TCP);
  EXPECT_EQ(be16(d.svc[IPVS_SVC_ATTR_PORT]), 80);
}

TEST(Message, FwmarkServiceHasMarkAndFamilyButNoAddress) {
  Service s;
  s.key = ServiceKey::fwmark(7, Family::v6);
  s.scheduler = "lc";
  s.flags = kPersistent;
  s.timeout = 60;
  s.netmask = 64;
  nl::Msg m = build_message(AddService{s}, kFamily);
  Decoded d = decode(m);
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_AF]), AF_INET6);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_FWMARK]), 7u);
  EXPECT_EQ(d.svc[IPVS_SVC_ATTR_ADDR], nullptr);
  EXPECT_EQ(d.svc[IPVS_SVC_ATTR_PROTOCOL], nullptr);
  EXPECT_EQ(d.svc[IPVS_SVC_ATTR_PORT], nullptr);
  EXPECT_EQ(nla_get_u32(d.svc[IPVS_SVC_ATTR_NETMASK]), 64u);  // IPv6: the prefix length
  EXPECT_EQ(d.svc[IPVS_SVC_ATTR_PE_NAME], nullptr);
}

TEST(Message, DefaultNetmaskIsTheWholeAddress) {
  Service v4 = testing::service(tcp("10.0.0.1", 80));
  nl::Msg m4 = build_message(AddService{v4}, kFamily);
  EXPECT_EQ(nla_get_u32(decode(m4).svc[IPVS_SVC_ATTR_NETMASK]), 0xffffffffu);
  Service v6 = testing::service(ServiceKey::inet(Protocol::tcp, ip("2001:db8::1"), 443));
  nl::Msg m6 = build_message(AddService{v6}, kFamily);
  Decoded d6 = decode(m6);
  EXPECT_EQ(nla_get_u32(d6.svc[IPVS_SVC_ATTR_NETMASK]), 128u);
  EXPECT_EQ(addr16(d6.svc[IPVS_SVC_ATTR_ADDR]), padded(ip("2001:db8::1")));
}

TEST(Message, AddDestNat) {
  Destination ds = dest("10.0.0.2", 8080, 3);
  ds.u_threshold = 100;
  ds.l_threshold = 50;
  nl::Msg m = build_message(AddDest{tcp("10.0.0.1", 80), ds}, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_NEW_DEST, NLM_F_ACK);
  EXPECT_EQ(d.top_count, 2u);
  EXPECT_EQ(d.svc_count, 4u);  // the service's key only
  EXPECT_EQ(addr16(d.dst[IPVS_DEST_ATTR_ADDR]), padded(ip("10.0.0.2")));
  EXPECT_EQ(be16(d.dst[IPVS_DEST_ATTR_PORT]), 8080);
  EXPECT_EQ(nla_get_u16(d.dst[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
  EXPECT_EQ(nla_get_u32(d.dst[IPVS_DEST_ATTR_FWD_METHOD]), unsigned(IP_VS_CONN_F_MASQ));
  EXPECT_EQ(nla_get_u32(d.dst[IPVS_DEST_ATTR_WEIGHT]), 3u);
  EXPECT_EQ(nla_get_u32(d.dst[IPVS_DEST_ATTR_U_THRESH]), 100u);
  EXPECT_EQ(nla_get_u32(d.dst[IPVS_DEST_ATTR_L_THRESH]), 50u);
  EXPECT_EQ(d.dst[IPVS_DEST_ATTR_TUN_TYPE], nullptr);  // not a tunnel
  EXPECT_EQ(d.dst_count, 7u);
}

TEST(Message, EditDestTunnelGueWithChecksum) {
  Destination ds = dest("2001:db8::2", 80, 0, Method::tun);
  ds.tunnel = Tunnel{TunType::gue, 6080, kTunCsum};
  ServiceKey svc = ServiceKey::inet(Protocol::tcp, ip("2001:db8::1"), 80);
  nl::Msg m = build_message(EditDest{svc, ds}, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_SET_DEST, NLM_F_ACK);
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_AF]), AF_INET6);
  EXPECT_EQ(nla_get_u16(d.dst[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET6);
  EXPECT_EQ(nla_get_u32(d.dst[IPVS_DEST_ATTR_FWD_METHOD]), unsigned(IP_VS_CONN_F_TUNNEL));
  EXPECT_EQ(nla_get_u32(d.dst[IPVS_DEST_ATTR_WEIGHT]), 0u);
  EXPECT_EQ(nla_get_u8(d.dst[IPVS_DEST_ATTR_TUN_TYPE]), IP_VS_CONN_F_TUNNEL_TYPE_GUE);
  EXPECT_EQ(be16(d.dst[IPVS_DEST_ATTR_TUN_PORT]), 6080);
  EXPECT_EQ(nla_get_u16(d.dst[IPVS_DEST_ATTR_TUN_FLAGS]), IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
  EXPECT_EQ(d.dst_count, 10u);
}

TEST(Message, MixedFamilyTunnelDestination) {
  Destination ds = dest("10.1.1.1", 443, 1, Method::tun);
  nl::Msg m =
      build_message(AddDest{ServiceKey::inet(Protocol::tcp, ip("2001:db8::1"), 443), ds}, kFamily);
  Decoded d = decode(m);
  EXPECT_EQ(nla_get_u16(d.svc[IPVS_SVC_ATTR_AF]), AF_INET6);
  EXPECT_EQ(nla_get_u16(d.dst[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
  EXPECT_EQ(nla_get_u8(d.dst[IPVS_DEST_ATTR_TUN_TYPE]), IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
}

TEST(Message, DelDestCarriesOnlyKeys) {
  nl::Msg m = build_message(DelDest{ServiceKey::fwmark(9, Family::v4), DestKey{ip("10.0.0.2"), 0}},
                            kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_DEL_DEST, NLM_F_ACK);
  EXPECT_EQ(d.svc_count, 2u);  // AF + FWMARK
  EXPECT_EQ(d.dst_count, 3u);  // ADDR, PORT, ADDR_FAMILY
  EXPECT_EQ(be16(d.dst[IPVS_DEST_ATTR_PORT]), 0);
}

TEST(Message, DumpRequests) {
  nl::Msg all = build_get_services(kFamily);
  Decoded d = decode(all);
  expect_header(d, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
  EXPECT_EQ(d.top_count, 0u);

  nl::Msg dests = build_get_dests(tcp("10.0.0.1", 80), kFamily);
  d = decode(dests);
  expect_header(d, IPVS_CMD_GET_DEST, NLM_F_DUMP);
  EXPECT_EQ(d.top_count, 1u);
  EXPECT_EQ(d.svc_count, 4u);
}

TEST(Message, SetTimeoutsOnlyThoseGiven) {
  Timeouts t;
  t.tcp = std::chrono::seconds(900);
  t.udp = std::chrono::seconds(300);
  nl::Msg m = build_set_timeouts(t, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_SET_CONFIG, NLM_F_ACK);
  EXPECT_EQ(nla_get_u32(d.top[IPVS_CMD_ATTR_TIMEOUT_TCP]), 900u);
  EXPECT_EQ(d.top[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN], nullptr);
  EXPECT_EQ(nla_get_u32(d.top[IPVS_CMD_ATTR_TIMEOUT_UDP]), 300u);
}

TEST(Message, StartAndStopSyncDaemon) {
  SyncDaemon sd;
  sd.state = SyncState::backup;
  sd.interface = "eth1";
  sd.sync_id = 5;
  sd.group = ip("224.0.0.82");
  sd.port = 8849;
  sd.ttl = 2;
  sd.max_len = 1400;
  nl::Msg m = build_start_daemon(sd, kFamily);
  Decoded d = decode(m);
  expect_header(d, IPVS_CMD_NEW_DAEMON, NLM_F_ACK);
  EXPECT_EQ(nla_get_u32(d.daemon[IPVS_DAEMON_ATTR_STATE]), unsigned(IP_VS_STATE_BACKUP));
  EXPECT_STREQ(nla_get_string(d.daemon[IPVS_DAEMON_ATTR_MCAST_IFN]), "eth1");
  EXPECT_EQ(nla_get_u32(d.daemon[IPVS_DAEMON_ATTR_SYNC_ID]), 5u);
  EXPECT_EQ(nla_get_u16(d.daemon[IPVS_DAEMON_ATTR_SYNC_MAXLEN]), 1400);
  EXPECT_EQ(nla_get_u32(d.daemon[IPVS_DAEMON_ATTR_MCAST_GROUP]), inet_addr("224.0.0.82"));
  EXPECT_EQ(nla_get_u16(d.daemon[IPVS_DAEMON_ATTR_MCAST_PORT]), 8849);  // host order
  EXPECT_EQ(nla_get_u8(d.daemon[IPVS_DAEMON_ATTR_MCAST_TTL]), 2);
  EXPECT_EQ(d.daemon_count, 7u);

  nl::Msg stop = build_stop_daemon(SyncState::master, kFamily);
  d = decode(stop);
  expect_header(d, IPVS_CMD_DEL_DAEMON, NLM_F_ACK);
  EXPECT_EQ(nla_get_u32(d.daemon[IPVS_DAEMON_ATTR_STATE]), unsigned(IP_VS_STATE_MASTER));
  EXPECT_EQ(d.daemon_count, 1u);
}

}  // namespace
}  // namespace hd::ipvs
