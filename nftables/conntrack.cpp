// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/conntrack.h"

#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>

#include <cstring>
#include <memory>

namespace hd::nft {

void tally(ConnTally& t, const ConnEntry& e) {
  if (e.service == e.server && e.service_port == e.server_port) return;  // not translated
  auto key = std::make_pair(ipvs::ServiceKey::inet(e.protocol, e.service, e.service_port),
                            ipvs::DestKey{e.server, e.server_port});
  ConnCount& c = t[key];
  if (e.protocol == ipvs::Protocol::tcp && e.established) ++c.active;
  else ++c.inactive;
}

ConnCount count_of(const ConnTally& t, const ipvs::Service& s, const ipvs::DestKey& d) {
  ipvs::DestKey k = d;
  if (k.port == 0) k.port = s.key.port();
  auto it = t.find({s.key, k});
  return it == t.end() ? ConnCount{} : it->second;
}

namespace {

std::optional<IpAddress> address_of(const nl_addr* a) {
  if (!a) return std::nullopt;
  const int family = nl_addr_get_family(a);
  const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  const size_t len = nl_addr_get_len(a);
  if (family == AF_INET && len == 4) return IpAddress::from_bytes(Family::v4, {bytes, 4});
  if (family == AF_INET6 && len == 16) return IpAddress::from_bytes(Family::v6, {bytes, 16});
  return std::nullopt;
}

int on_entry(nl_msg* msg, void* arg) {
  auto* t = static_cast<ConnTally*>(arg);
  nfnl_ct* ct = nullptr;
  if (nfnlmsg_ct_parse(nlmsg_hdr(msg), &ct) < 0 || !ct) return NL_SKIP;
  std::unique_ptr<nfnl_ct, void (*)(nfnl_ct*)> hold(ct, nfnl_ct_put);
  const uint8_t proto = nfnl_ct_get_proto(ct);
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return NL_OK;
  auto service = address_of(nfnl_ct_get_dst(ct, 0));
  auto server = address_of(nfnl_ct_get_src(ct, 1));
  if (!service || !server) return NL_OK;
  ConnEntry e;
  e.protocol = proto == IPPROTO_TCP ? ipvs::Protocol::tcp : ipvs::Protocol::udp;
  e.service = *service;
  e.service_port = nfnl_ct_get_dst_port(ct, 0);
  e.server = *server;
  e.server_port = nfnl_ct_get_src_port(ct, 1);
  e.established = proto == IPPROTO_TCP && nfnl_ct_get_tcp_state(ct) == TCP_CONNTRACK_ESTABLISHED;
  tally(*t, e);
  return NL_OK;
}

}  // namespace

std::optional<ConnTally> count_connections(std::string* error) {
  auto fail = [&](const std::string& what, int err) -> std::optional<ConnTally> {
    if (error) *error = "conntrack: " + what + ": " + nl_geterror(err);
    return std::nullopt;
  };
  std::unique_ptr<nl_sock, void (*)(nl_sock*)> sk(nl_socket_alloc(), nl_socket_free);
  if (!sk) return fail("cannot allocate a netlink socket", -NLE_NOMEM);
  if (int err = nfnl_connect(sk.get()); err < 0) return fail("cannot open ctnetlink", err);
  ConnTally t;
  nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, on_entry, &t);
  if (int err = nfnl_ct_dump_request(sk.get()); err < 0) return fail("dump request refused", err);
  if (int err = nl_recvmsgs_default(sk.get()); err < 0) return fail("reading the dump", err);
  return t;
}

}  // namespace hd::nft
