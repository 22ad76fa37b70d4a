// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/parse.h"

#include <arpa/inet.h>
#include <netlink/genl/genl.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "ipvs/policy.h"

namespace hd::ipvs {
namespace {

Error bad(std::string what) {
  return Error{"malformed IPVS reply: " + what, 0};
}

// The nested attribute `type` of a genl message, parsed with `policy`.
template <size_t N>
Result<std::array<nlattr*, N>> nested(const nlmsghdr* msg, int type,
                                      const std::array<nla_policy, N>& policy) {
  std::array<nlattr*, IPVS_CMD_ATTR_MAX + 1> top{};
  auto* h = const_cast<nlmsghdr*>(msg);
  if (!genlmsg_valid_hdr(h, 0)) return bad("short generic netlink header");
  if (genlmsg_parse(h, 0, top.data(), IPVS_CMD_ATTR_MAX, policy::kCmd.data()) < 0)
    return bad("invalid attributes");
  if (!top[type]) return bad("no nested attribute " + std::to_string(type));
  std::array<nlattr*, N> attrs{};
  if (nla_parse_nested(attrs.data(), N - 1, top[type], policy.data()) < 0)
    return bad("invalid nested attributes");
  return attrs;
}

// IPVS_*_ATTR_STATS64, when present and well formed (a reply without it is still a reply:
// the counters are for status and metrics, not for programming).
std::optional<Stats> stats_of(const nlattr* a) {
  if (!a) return std::nullopt;
  std::array<nlattr*, IPVS_STATS_ATTR_MAX + 1> t{};
  if (nla_parse_nested(t.data(), IPVS_STATS_ATTR_MAX, const_cast<nlattr*>(a),
                       policy::kStats64.data()) < 0)
    return std::nullopt;
  auto get = [&](int k) { return t[static_cast<size_t>(k)] ? nla_get_u64(t[static_cast<size_t>(k)]) : 0; };
  Stats s;
  s.conns = get(IPVS_STATS_ATTR_CONNS);
  s.inpkts = get(IPVS_STATS_ATTR_INPKTS);
  s.outpkts = get(IPVS_STATS_ATTR_OUTPKTS);
  s.inbytes = get(IPVS_STATS_ATTR_INBYTES);
  s.outbytes = get(IPVS_STATS_ATTR_OUTBYTES);
  return s;
}

std::optional<Family> family_of(uint16_t af) {
  if (af == AF_INET) return Family::v4;
  if (af == AF_INET6) return Family::v6;
  return std::nullopt;
}

std::optional<IpAddress> address_of(const nlattr* a, Family f) {
  size_t need = f == Family::v4 ? 4 : 16;
  if (!a || static_cast<size_t>(nla_len(a)) < need) return std::nullopt;
  if (f == Family::v4) {
    in_addr v4;
    std::memcpy(&v4, nla_data(a), 4);
    return IpAddress::from_v4(v4);
  }
  in6_addr v6;
  std::memcpy(&v6, nla_data(a), 16);
  return IpAddress::from_v6(v6);
}

// IPv4 carries the mask (network order), IPv6 the prefix length. A mask that
// is not contiguous (only possible by hand) is read as its leading ones.
std::optional<uint8_t> netmask_of(uint32_t raw, Family f) {
  uint8_t len;
  if (f == Family::v4) {
    len = static_cast<uint8_t>(std::countl_one(ntohl(raw)));
    if (len == 32) return std::nullopt;
  } else {
    len = static_cast<uint8_t>(std::min<uint32_t>(raw, 128));
    if (len == 128) return std::nullopt;
  }
  return len;
}

// The extended-ack message (NLMSGERR_ATTR_MSG) of an error reply, if any.
std::string ext_ack_message(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
  size_t offset = sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
    // The kernel echoes the request's payload padded to 4 bytes (nlmsg_append), then the TLVs.
    if (e->msg.nlmsg_len < NLMSG_HDRLEN) return {};
    offset += (size_t{e->msg.nlmsg_len} - NLMSG_HDRLEN + 3) & ~size_t{3};
  }
  if (offset >= payload) return {};
  // Only the message is read; the other attributes (offset, cookie, policy) pass unchecked.
  nla_policy policy[NLMSGERR_ATTR_MAX + 1] = {};
  policy[NLMSGERR_ATTR_MSG] = {NLA_STRING, 0, 0};
  nlattr* tb[NLMSGERR_ATTR_MAX + 1] = {};
  auto* head =
      reinterpret_cast<nlattr*>(const_cast<char*>(reinterpret_cast<const char*>(e) + offset));
  if (nla_parse(tb, NLMSGERR_ATTR_MAX, head, static_cast<int>(payload - offset), policy) < 0 ||
      !tb[NLMSGERR_ATTR_MSG])
    return {};
  return nla_get_string(tb[NLMSGERR_ATTR_MSG]);
}

}  // namespace

std::optional<AckReply> parse_ack(const nlmsghdr* msg) {
  if (msg->nlmsg_type != NLMSG_ERROR || msg->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
    return std::nullopt;
  auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(msg));
  AckReply a;
  // 0 or a negated errno; anything else (positive, below -4095, INT_MIN) is no errno.
  a.err = e->error <= 0 && e->error >= -4095 ? -e->error : EPROTO;
  if (a.err != 0) a.detail = ext_ack_message(msg);
  return a;
}

std::vector<const nlmsghdr*> split_datagram(const void* buf, size_t len) {
  // NLMSG_OK/NLMSG_NEXT, without their signed arithmetic. Messages are 4-byte
  // aligned in a datagram; the buffer itself must be (the caller's duty).
  std::vector<const nlmsghdr*> out;
  auto* p = static_cast<const char*>(buf);
  size_t rem = len;
  while (rem >= sizeof(nlmsghdr)) {
    auto* h = reinterpret_cast<const nlmsghdr*>(p);
    if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > rem) break;
    out.push_back(h);
    size_t step = NLMSG_ALIGN(h->nlmsg_len);
    if (step >= rem) break;
    p += step;
    rem -= step;
  }
  return out;
}

Result<Service> parse_service_reply(const nlmsghdr* msg) {
  auto parsed = nested(msg, IPVS_CMD_ATTR_SERVICE, policy::kService);
  if (!parsed) return parsed.error();
  auto& a = *parsed;
  if (!a[IPVS_SVC_ATTR_AF]) return bad("service without address family");
  auto fam = family_of(nla_get_u16(a[IPVS_SVC_ATTR_AF]));
  if (!fam)
    return bad("service with address family " + std::to_string(nla_get_u16(a[IPVS_SVC_ATTR_AF])));

  Service s;
  uint32_t mark = a[IPVS_SVC_ATTR_FWMARK] ? nla_get_u32(a[IPVS_SVC_ATTR_FWMARK]) : 0;
  if (mark != 0) {
    s.key = ServiceKey::fwmark(mark, *fam);
  } else {
    if (!a[IPVS_SVC_ATTR_PROTOCOL] || !a[IPVS_SVC_ATTR_PORT])
      return bad("service without protocol or port");
    uint16_t proto = nla_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
      return bad("service with protocol " + std::to_string(proto));
    auto addr = address_of(a[IPVS_SVC_ATTR_ADDR], *fam);
    if (!addr) return bad("service without a valid address");
    s.key = ServiceKey::inet(static_cast<Protocol>(proto), *addr,
                             ntohs(nla_get_u16(a[IPVS_SVC_ATTR_PORT])));
  }
  if (!a[IPVS_SVC_ATTR_SCHED_NAME] || !a[IPVS_SVC_ATTR_FLAGS] || !a[IPVS_SVC_ATTR_TIMEOUT] ||
      !a[IPVS_SVC_ATTR_NETMASK])
    return bad("service " + s.key.str() + " without scheduler, flags, timeout or netmask");
  s.scheduler = nla_get_string(a[IPVS_SVC_ATTR_SCHED_NAME]);
  ip_vs_flags flags;
  std::memcpy(&flags, nla_data(a[IPVS_SVC_ATTR_FLAGS]), sizeof(flags));
  s.flags = flags.flags & ~kHashed;
  s.timeout = nla_get_u32(a[IPVS_SVC_ATTR_TIMEOUT]);
  s.netmask = netmask_of(nla_get_u32(a[IPVS_SVC_ATTR_NETMASK]), *fam);
  if (a[IPVS_SVC_ATTR_PE_NAME]) s.pe_name = nla_get_string(a[IPVS_SVC_ATTR_PE_NAME]);
  if (auto st = stats_of(a[IPVS_SVC_ATTR_STATS64])) s.stats = std::make_shared<const Stats>(*st);
  return s;
}

Result<Destination> parse_dest_reply(const nlmsghdr* msg, Family service_family) {
  auto parsed = nested(msg, IPVS_CMD_ATTR_DEST, policy::kDest);
  if (!parsed) return parsed.error();
  auto& a = *parsed;
  Family fam = service_family;
  if (a[IPVS_DEST_ATTR_ADDR_FAMILY]) {
    auto f = family_of(nla_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]));
    if (!f)
      return bad("destination with address family " +
                 std::to_string(nla_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY])));
    fam = *f;
  }
  auto addr = address_of(a[IPVS_DEST_ATTR_ADDR], fam);
  if (!addr || !a[IPVS_DEST_ATTR_PORT]) return bad("destination without address or port");
  Destination d;
  d.key = DestKey{*addr, ntohs(nla_get_u16(a[IPVS_DEST_ATTR_PORT]))};
  if (!a[IPVS_DEST_ATTR_FWD_METHOD] || !a[IPVS_DEST_ATTR_WEIGHT] || !a[IPVS_DEST_ATTR_U_THRESH] ||
      !a[IPVS_DEST_ATTR_L_THRESH])
    return bad("destination " + d.key.str() + " without method, weight or thresholds");
  uint32_t fwd = nla_get_u32(a[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
  if (fwd > IP_VS_CONN_F_DROUTE)
    return bad("destination " + d.key.str() + " with forwarding method " + std::to_string(fwd));
  d.method = static_cast<Method>(fwd);
  d.weight = static_cast<int32_t>(nla_get_u32(a[IPVS_DEST_ATTR_WEIGHT]));
  d.u_threshold = nla_get_u32(a[IPVS_DEST_ATTR_U_THRESH]);
  d.l_threshold = nla_get_u32(a[IPVS_DEST_ATTR_L_THRESH]);
  if (a[IPVS_DEST_ATTR_TUN_TYPE]) {
    uint8_t t = nla_get_u8(a[IPVS_DEST_ATTR_TUN_TYPE]);
    if (t >= IP_VS_CONN_F_TUNNEL_TYPE_MAX)
      return bad("destination " + d.key.str() + " with tunnel type " + std::to_string(t));
    d.tunnel.type = static_cast<TunType>(t);
  }
  if (a[IPVS_DEST_ATTR_TUN_PORT]) d.tunnel.port = ntohs(nla_get_u16(a[IPVS_DEST_ATTR_TUN_PORT]));
  if (a[IPVS_DEST_ATTR_TUN_FLAGS]) d.tunnel.flags = nla_get_u16(a[IPVS_DEST_ATTR_TUN_FLAGS]);
  DestCounters c;
  bool any = false;
  auto u32_of = [&](int k, uint32_t& dst) {
    if (a[k]) {
      dst = nla_get_u32(a[k]);
      any = true;
    }
  };
  u32_of(IPVS_DEST_ATTR_ACTIVE_CONNS, c.active_conns);
  u32_of(IPVS_DEST_ATTR_INACT_CONNS, c.inactive_conns);
  u32_of(IPVS_DEST_ATTR_PERSIST_CONNS, c.persistent_conns);
  if (auto st = stats_of(a[IPVS_DEST_ATTR_STATS64])) {
    c.stats = *st;
    any = true;
  }
  if (any) d.counters = std::make_shared<const DestCounters>(c);
  return d;
}

}  // namespace hd::ipvs
