// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/message.h"

#include <arpa/inet.h>
#include <netlink/genl/genl.h>

#include <cstring>

namespace hd::ipvs {
namespace {

// nla_put* return < 0 only when the message is full; one page always fits.
struct Builder {
  nl::Msg msg{nlmsg_alloc()};
  bool ok = true;

  Builder(int family_id, uint8_t cmd, int flags) {
    if (!msg || !genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0,
                             NLM_F_REQUEST | flags, cmd, IPVS_GENL_VERSION))
      ok = false;
  }
  void check(int rc) { ok = ok && rc >= 0; }
  nlattr* nest(int type) {
    nlattr* n = ok ? nla_nest_start(msg.get(), type) : nullptr;
    ok = ok && n;
    return n;
  }
  void end(nlattr* n) {
    if (ok) check(nla_nest_end(msg.get(), n));
  }
  void put_u8(int t, uint8_t v) { check(nla_put_u8(msg.get(), t, v)); }
  void put_u16(int t, uint16_t v) { check(nla_put_u16(msg.get(), t, v)); }
  void put_u32(int t, uint32_t v) { check(nla_put_u32(msg.get(), t, v)); }
  void put_be16(int t, uint16_t host) { put_u16(t, htons(host)); }
  void put_string(int t, const std::string& s) { check(nla_put_string(msg.get(), t, s.c_str())); }
  // union nf_inet_addr: 16 bytes, IPv4 in the first 4.
  void put_address(int t, const IpAddress& a) {
    uint8_t buf[16] = {};
    std::memcpy(buf, a.data(), a.size());
    check(nla_put(msg.get(), t, sizeof(buf), buf));
  }
  nl::Msg done() { return ok ? std::move(msg) : nullptr; }
};

uint16_t af_of(Family f) {
  return f == Family::v4 ? AF_INET : AF_INET6;
}

void put_service_key(Builder& b, const ServiceKey& k) {
  b.put_u16(IPVS_SVC_ATTR_AF, af_of(k.family()));
  if (k.is_fwmark()) {
    b.put_u32(IPVS_SVC_ATTR_FWMARK, k.mark());
  } else {
    b.put_u16(IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(k.protocol()));
    b.put_address(IPVS_SVC_ATTR_ADDR, k.address());
    b.put_be16(IPVS_SVC_ATTR_PORT, k.port());
  }
}

// IPv4: the mask itself, in network order. IPv6: the prefix length.
uint32_t netmask_attr(const Service& s) {
  uint8_t len = s.netmask_len();
  if (s.key.family() == Family::v6) return len;
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - std::min<uint8_t>(len, 32));
  return htonl(mask);
}

void put_service(Builder& b, const Service& s, bool full) {
  nlattr* n = b.nest(IPVS_CMD_ATTR_SERVICE);
  put_service_key(b, s.key);
  if (full) {
    b.put_string(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler);
    ip_vs_flags flags{s.flags & ~kHashed, ~uint32_t{0}};
    b.check(nla_put(b.msg.get(), IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags));
    b.put_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    b.put_u32(IPVS_SVC_ATTR_NETMASK, netmask_attr(s));
    if (!s.pe_name.empty()) b.put_string(IPVS_SVC_ATTR_PE_NAME, s.pe_name);
  }
  b.end(n);
}

void put_service_key_only(Builder& b, const ServiceKey& k) {
  nlattr* n = b.nest(IPVS_CMD_ATTR_SERVICE);
  put_service_key(b, k);
  b.end(n);
}

void put_dest(Builder& b, const Destination& d, bool full) {
  nlattr* n = b.nest(IPVS_CMD_ATTR_DEST);
  b.put_address(IPVS_DEST_ATTR_ADDR, d.key.address);
  b.put_be16(IPVS_DEST_ATTR_PORT, d.key.port);
  b.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, af_of(d.key.address.family()));
  if (full) {
    b.put_u32(IPVS_DEST_ATTR_FWD_METHOD, static_cast<uint32_t>(d.method));
    b.put_u32(IPVS_DEST_ATTR_WEIGHT, static_cast<uint32_t>(d.weight));
    b.put_u32(IPVS_DEST_ATTR_U_THRESH, d.u_threshold);
    b.put_u32(IPVS_DEST_ATTR_L_THRESH, d.l_threshold);
    // Only for tunnels: kernels before 5.2 do not know these attributes.
    if (d.method == Method::tun) {
      b.put_u8(IPVS_DEST_ATTR_TUN_TYPE, static_cast<uint8_t>(d.tunnel.type));
      b.put_be16(IPVS_DEST_ATTR_TUN_PORT, d.tunnel.port);
      b.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tunnel.flags);
    }
  }
  b.end(n);
}

}  // namespace

nl::Msg build_message(const Operation& op, int family_id) {
  struct Visitor {
    int family;
    nl::Msg operator()(const AddService& o) const {
      Builder b(family, IPVS_CMD_NEW_SERVICE, NLM_F_ACK);
      put_service(b, o.service, true);
      return b.done();
    }
    nl::Msg operator()(const EditService& o) const {
      Builder b(family, IPVS_CMD_SET_SERVICE, NLM_F_ACK);
      put_service(b, o.service, true);
      return b.done();
    }
    nl::Msg operator()(const DelService& o) const {
      Builder b(family, IPVS_CMD_DEL_SERVICE, NLM_F_ACK);
      put_service_key_only(b, o.key);
      return b.done();
    }
    nl::Msg operator()(const AddDest& o) const {
      Builder b(family, IPVS_CMD_NEW_DEST, NLM_F_ACK);
      put_service_key_only(b, o.service);
      put_dest(b, o.dest, true);
      return b.done();
    }
    nl::Msg operator()(const EditDest& o) const {
      Builder b(family, IPVS_CMD_SET_DEST, NLM_F_ACK);
      put_service_key_only(b, o.service);
      put_dest(b, o.dest, true);
      return b.done();
    }
    nl::Msg operator()(const DelDest& o) const {
      Builder b(family, IPVS_CMD_DEL_DEST, NLM_F_ACK);
      put_service_key_only(b, o.service);
      Destination d;
      d.key = o.dest;
      put_dest(b, d, false);
      return b.done();
    }
  };
  return std::visit(Visitor{family_id}, op);
}

nl::Msg build_get_services(int family_id) {
  Builder b(family_id, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
  return b.done();
}

nl::Msg build_get_dests(const ServiceKey& service, int family_id) {
  Builder b(family_id, IPVS_CMD_GET_DEST, NLM_F_DUMP);
  put_service_key_only(b, service);
  return b.done();
}

nl::Msg build_set_timeouts(const Timeouts& t, int family_id) {
  Builder b(family_id, IPVS_CMD_SET_CONFIG, NLM_F_ACK);
  if (t.tcp) b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, static_cast<uint32_t>(t.tcp->count()));
  if (t.tcp_fin)
    b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, static_cast<uint32_t>(t.tcp_fin->count()));
  if (t.udp) b.put_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, static_cast<uint32_t>(t.udp->count()));
  return b.done();
}

nl::Msg build_start_daemon(const SyncDaemon& d, int family_id) {
  Builder b(family_id, IPVS_CMD_NEW_DAEMON, NLM_F_ACK);
  nlattr* n = b.nest(IPVS_CMD_ATTR_DAEMON);
  b.put_u32(IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(d.state));
  b.put_string(IPVS_DAEMON_ATTR_MCAST_IFN, d.interface);
  b.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
  if (d.max_len) b.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, *d.max_len);
  if (d.group && d.group->is_v4()) {
    uint32_t raw;
    std::memcpy(&raw, d.group->data(), 4);
    b.put_u32(IPVS_DAEMON_ATTR_MCAST_GROUP, raw);
  } else if (d.group) {
    b.check(nla_put(b.msg.get(), IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, d.group->data()));
  }
  if (d.port) b.put_u16(IPVS_DAEMON_ATTR_MCAST_PORT, *d.port);
  if (d.ttl) b.put_u8(IPVS_DAEMON_ATTR_MCAST_TTL, *d.ttl);
  b.end(n);
  return b.done();
}

nl::Msg build_stop_daemon(SyncState state, int family_id) {
  Builder b(family_id, IPVS_CMD_DEL_DAEMON, NLM_F_ACK);
  nlattr* n = b.nest(IPVS_CMD_ATTR_DAEMON);
  b.put_u32(IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(state));
  b.end(n);
  return b.done();
}

}  // namespace hd::ipvs
