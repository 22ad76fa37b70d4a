// SPDX-License-Identifier: GPL-2.0-or-later
// The IPVS table as values: virtual services, their destinations (real
// servers) and the kernel's flag bits. Nothing here talks to the kernel; the
// same values describe what we want (desired.h), what the kernel has (a dump)
// and what changes between the two (diff.h).
//
// Units: ports in host order, persistence timeout in whole seconds (as the
// kernel stores it), netmask as a prefix length.
#pragma once
#include <linux/ip_vs.h>
#include <netinet/in.h>

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/address.h"

namespace hd::ipvs {

// The values are the IPPROTO_* numbers the kernel uses.
enum class Protocol : uint8_t { tcp = IPPROTO_TCP, udp = IPPROTO_UDP, sctp = IPPROTO_SCTP };
std::string_view to_string(Protocol p);  // "TCP", "UDP", "SCTP" (as ipvsadm prints them)
std::optional<Protocol> parse_protocol(std::string_view s);  // "tcp", "udp", "sctp"

// A virtual service is either protocol + address + port, or a firewall mark
// (with a family: IPv4 and IPv6 services may share a mark).
class ServiceKey {
 public:
  ServiceKey() = default;  // TCP 0.0.0.0:0, a placeholder only
  static ServiceKey inet(Protocol protocol, const IpAddress& address, uint16_t port);
  static ServiceKey fwmark(uint32_t mark, Family family);

  bool is_fwmark() const { return mark_ != 0; }
  uint32_t mark() const { return mark_; }
  Family family() const { return family_; }
  int af() const { return family_ == Family::v4 ? AF_INET : AF_INET6; }
  Protocol protocol() const { return protocol_; }        // tcp for fwmark services
  const IpAddress& address() const { return address_; }  // unspecified for fwmark services
  uint16_t port() const { return port_; }                // 0 for fwmark services

  // As ipvsadm -Ln writes the service: "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53",
  // "FWM 7", "FWM 7 IPv6".
  std::string str() const;

  // Services with an address sort first, then by mark.
  auto operator<=>(const ServiceKey&) const = default;

 private:
  uint32_t mark_ = 0;
  Family family_ = Family::v4;
  Protocol protocol_ = Protocol::tcp;
  IpAddress address_;
  uint16_t port_ = 0;
};

struct DestKey {
  IpAddress address;
  uint16_t port = 0;
  std::string str() const;  // "10.0.0.2:80", "[2001:db8::2]:80"
  auto operator<=>(const DestKey&) const = default;
};

// Forwarding method; the values are the kernel's IP_VS_CONN_F_* codes.
enum class Method : uint8_t {
  nat = IP_VS_CONN_F_MASQ,
  local = IP_VS_CONN_F_LOCALNODE,  // only ever read back, never configured
  tun = IP_VS_CONN_F_TUNNEL,
  dr = IP_VS_CONN_F_DROUTE,
};
std::string_view to_string(Method m);  // "nat", "local", "tun", "dr"
std::optional<Method> parse_method(std::string_view s);

// Tunnel encapsulation (kernel 5.2+ for gue, 5.3+ for gre and the checksum flags).
enum class TunType : uint8_t {
  ipip = IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  gue = IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  gre = IP_VS_CONN_F_TUNNEL_TYPE_GRE,
};
std::string_view to_string(TunType t);  // "ipip", "gue", "gre"
std::optional<TunType> parse_tun_type(std::string_view s);

// IP_VS_TUNNEL_ENCAP_FLAG_* bits.
inline constexpr uint16_t kTunNoCsum = IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM;
inline constexpr uint16_t kTunCsum = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
inline constexpr uint16_t kTunRemCsum = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;

struct Tunnel {
  TunType type = TunType::ipip;
  uint16_t port = 0;   // UDP destination port, gue only (required there)
  uint16_t flags = 0;  // kTunCsum / kTunRemCsum
  friend bool operator==(const Tunnel&, const Tunnel&) = default;
};

// What the kernel would refuse or ignore in a tunnel, and which field says so: a gue tunnel
// needs its UDP port, a port is for gue only, remote checksum offload is for gue only.
struct TunnelProblem {
  enum class Field { type, port, checksum } field;
  std::string message;
};
std::optional<TunnelProblem> validate_tunnel(const Tunnel& t);

// What the kernel counts for a service or destination (IPVS_*_ATTR_STATS64: what
// `ipvsadm --stats --exact` prints): totals since the entry was made. The kernel's rate
// estimates in the same attribute are not read: rate() over the totals gives them.
struct Stats {
  uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
  bool operator==(const Stats&) const = default;
};

// A destination's counters as the kernel reported them in a dump.
struct DestCounters {
  uint32_t active_conns = 0, inactive_conns = 0, persistent_conns = 0;
  Stats stats;
  // Counted from conntrack (the nftables data plane, nftables/conntrack.h): the active and
  // inactive connections only; persistent_conns and stats are not known.
  bool conntrack = false;
  bool operator==(const DestCounters&) const = default;
};

struct Destination {
  DestKey key;
  Method method = Method::nat;
  int32_t weight = 1;        // >= 0; 0 takes no new connections (drain)
  uint32_t u_threshold = 0;  // max connections, 0 = no limit
  uint32_t l_threshold = 0;  // re-enable below this many connections
  Tunnel tunnel;             // meaningful for Method::tun only
  // Only in tables read from the kernel, and never compared (operator== ignores them):
  // shared, so copying a dumped table does not copy them.
  std::shared_ptr<const DestCounters> counters;

  std::string str() const;  // "10.0.0.2:80 nat w3", "10.0.0.4:80 tun/gue:6080 w1 u100 l50"
  // The tunnel settings are compared only for Method::tun (the kernel ignores them otherwise).
  friend bool operator==(const Destination& a, const Destination& b);
};

// IP_VS_SVC_F_* bits. The kernel sets IP_VS_SVC_F_HASHED on every service it
// holds: it is internal state, never part of a Service value (parsing drops it).
inline constexpr uint32_t kPersistent = IP_VS_SVC_F_PERSISTENT;
inline constexpr uint32_t kHashed = IP_VS_SVC_F_HASHED;
inline constexpr uint32_t kOnePacket = IP_VS_SVC_F_ONEPACKET;
inline constexpr uint32_t kShFallback = IP_VS_SVC_F_SCHED_SH_FALLBACK;
inline constexpr uint32_t kShPort = IP_VS_SVC_F_SCHED_SH_PORT;
// The mh scheduler reuses the same two bits (defined in ip_vs_mh.c, not in the uapi header).
inline constexpr uint32_t kMhFallback = IP_VS_SVC_F_SCHED1;
inline constexpr uint32_t kMhPort = IP_VS_SVC_F_SCHED2;

// Scheduler flag names as ipvsadm -b takes them: "sh-fallback", "sh-port",
// "mh-fallback", "mh-port". The bit, or nothing for an unknown name.
std::optional<uint32_t> parse_sched_flag(std::string_view name);
// "sh-fallback,sh-port"-style text of the scheduler bits, named after `scheduler`
// (sh or mh; "flag-1,flag-2" for others); empty when none is set.
std::string sched_flags_str(uint32_t flags, std::string_view scheduler);

// Every scheduler of Linux 6.1, in ipvsadm's order: the one list of scheduler names (the
// config's choices, the fake backend's). kSchedulers[s] is the name of Scheduler s.
enum class Scheduler : uint8_t { rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh };
inline constexpr std::array<std::string_view, 13> kSchedulers = {
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"};
static_assert(static_cast<size_t>(Scheduler::mh) + 1 == kSchedulers.size());
std::string_view to_string(Scheduler s);  // "wlc"
std::optional<Scheduler> parse_scheduler(std::string_view name);
bool is_known_scheduler(std::string_view name);
// The scheduler a flag name (parse_sched_flag) belongs to, sh for "sh-port", mh for
// "mh-fallback": its bit means something to that scheduler only. Nothing for an unknown name.
std::optional<Scheduler> sched_flag_scheduler(std::string_view flag);

// Tunnel checksum modes as the config names them: "none" (0), "csum" (kTunCsum),
// "remcsum" (kTunRemCsum, gue only). The flag bits, or nothing for an unknown name.
std::optional<uint16_t> parse_tun_checksum(std::string_view name);
std::string_view tun_checksum_str(uint16_t flags);  // "none", "csum", "remcsum"

struct Service {
  ServiceKey key;
  std::string scheduler = "wlc";
  uint32_t flags = 0;    // kPersistent | kOnePacket | scheduler bits
  uint32_t timeout = 0;  // persistence timeout, seconds
  // Persistence granularity as a prefix length; nullopt means the whole
  // address (32 or 128), the kernel's and ipvsadm's default.
  std::optional<uint8_t> netmask;
  std::string pe_name;  // persistence engine ("sip"), usually empty
  std::vector<Destination> destinations;
  std::shared_ptr<const Stats> stats;  // as for Destination::counters: dumps only, not compared

  uint8_t netmask_len() const;  // netmask, or 32 / 128 when unset
  const Destination* find(const DestKey& key) const;
  // Everything but the destinations: what EditService changes.
  bool same_settings(const Service& o) const;
  std::string str() const;  // "TCP 10.0.0.1:80 wrr persistent 300 mask 24 (sh-port)"
  // Settings equal and the same destinations in any order.
  friend bool operator==(const Service& a, const Service& b);
};

// The whole table, keyed by service.
using Table = std::map<ServiceKey, Service>;

}  // namespace hd::ipvs

template <>
struct std::hash<hd::ipvs::ServiceKey> {
  size_t operator()(const hd::ipvs::ServiceKey& k) const noexcept;
};
template <>
struct std::hash<hd::ipvs::DestKey> {
  size_t operator()(const hd::ipvs::DestKey& k) const noexcept;
};

namespace hd::ipvs {

// A service's destinations by key, for many lookups in one service (Service::find is a
// linear scan): the diff, service comparison and the metrics use it.
using DestIndex = std::unordered_map<DestKey, const Destination*>;
DestIndex index_destinations(const Service& s);

}  // namespace hd::ipvs
