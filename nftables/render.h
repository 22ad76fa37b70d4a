// SPDX-License-Identifier: GPL-2.0-or-later
// The nftables data plane's rules as text (nft's own syntax), from the same ipvs::Table the
// IPVS backend programs: pure functions, unit-tested against literal scripts; backend.h runs
// them through libnftables, one atomic transaction per call. Written by render.cpp; read back
// (parse_listing, holds) by listing.cpp.
//
// Layout: one table, `ip hadirector` (and `ip6 hadirector` for IPv6 services), that nothing
// else writes. A verdict map `services` (address . protocol . port -> jump to the service's
// chain) is consulted at prerouting and output (dstnat priority); each service has a chain
// `s_<address hex>_<proto>_<port>` with one rule: DNAT to a real server picked by
// `numgen inc mod W` (rr, wrr) or `jhash ... mod W` (sh, dh: over ranges as wide as the
// weights; mh: over a Maglev table), or `drop` when no real server takes new connections.
// A health change rewrites only its service's chain (flush + one rule); connections already
// tracked keep their real server (conntrack), as IPVS keeps its connection entries.
//
// A persistent service (persistence_timeout) has, per real server, a set of the clients it
// holds (`p_...`: source addresses, masked by persistence_netmask) and a chain (`r_...`) that
// refreshes the client's element (its timeout starts again) and DNATs to the server. The
// service's chain sends a client found in a server's set to that server's chain (one rule per
// server, weight 0 included: its clients stay, as IPVS's templates keep them on a quiescent
// server) and a new client to the chain the scheduler picks (the same pick, as a vmap).
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/model.h"

namespace hd::nft {

inline constexpr const char* kTable = "hadirector";
// The clients a persistent service's set holds per real server (elements are made as clients
// come, so a set costs what it holds): a client arriving at a full set is forwarded as a new
// one, unrecorded (IPVS has no bound).
inline constexpr size_t kPersistClients = 262144;

// What this data plane cannot do for `s` (empty: it can): the loader's errors say these.
// Supported: IPv4 and IPv6 TCP/UDP services (no fwmark), NAT, schedulers rr and wrr (both
// exact per cycle of the weights' sum), sh (with sh-port) and dh (a hash over weight-wide
// ranges), mh (with mh-port; Maglev), persistence (timeout and netmask; no persistence
// engine), no connection thresholds.
std::vector<std::string> unsupported(const ipvs::Service& s);

// mh (Maglev): the table's size for servers whose weights (over their gcd) sum to
// `total_weight`: a prime, at least 257 and 16 slots a unit of weight, at most 65,521.
size_t mh_size(int64_t total_weight);
// The Maglev table: slot -> index of its server in `servers`. Each server walks the slots
// from an offset with a stride, both fixed hashes of its address:port, taking `weights[i]`
// free slots a round; so every director computes the same table, and a server leaving moves
// its own slots and few others.
std::vector<int> mh_table(const std::vector<ipvs::DestKey>& servers,
                          const std::vector<int64_t>& weights, size_t size);

// "ip" or "ip6": a table's family, and the keyword of its address expressions.
std::string family_keyword(Family f);
// "ip hadirector", "ip6 hadirector": IPv6 services live in a table of their own, made when
// the first one is programmed.
std::string table(Family f);
std::string chain_name(const ipvs::ServiceKey& k);  // "s_0a090064_tcp_80", "s6_<32 hex>_tcp_80"
std::string element_of(const ipvs::ServiceKey& k);  // its key in the map: "10.9.0.100 . tcp . 80"
// The rule of a service's chain (without "add rule ...").
std::string service_rule(const ipvs::Service& s);

// Everything a service is in the table but its map element: its chain's rules, in order; for a
// persistent service, its servers' r_ chains (name -> rules) and p_ sets (name -> definition).
struct ServiceObjects {
  std::vector<std::string> rules;
  std::map<std::string, std::vector<std::string>> chains;
  std::map<std::string, std::string> sets;
  friend bool operator==(const ServiceObjects&, const ServiceObjects&) = default;
};
ServiceObjects service_objects(const ipvs::Service& s);
// A persistent service's per-server objects: "r_0a090064_tcp_80_0a0a000b_80" (chain) and
// "p_..." (set); "r6_"/"p6_" with 32 hex digits for IPv6.
std::string persist_chain_name(const ipvs::ServiceKey& k, const ipvs::DestKey& d);
std::string persist_set_name(const ipvs::ServiceKey& k, const ipvs::DestKey& d);
// The service and server a persistent object's name ("r_..." or "p_...") belongs to.
std::optional<std::pair<ipvs::ServiceKey, ipvs::DestKey>> persist_owner(const std::string& name);
// A duration as nft writes one: "5m", "1h1m1s", "1d"; and back (seconds; nullopt when it is
// not one, or not whole seconds).
std::string nft_duration(uint32_t seconds);
std::optional<uint32_t> parse_nft_duration(std::string_view text);

// A chain nothing jumps to, holding one DNAT rule that never runs: while a table in the
// namespace holds no NAT expression at all (one service, drained to its last server: its rule
// is `drop`), the kernel stops translating the connections NAT already made, and their next
// packets are answered with RST by the director (measured here, Linux 6.18). Part of the base.
inline constexpr const char* kKeepNat = "keep_nat";
std::string keep_nat_rule(Family f);

// The script that makes sure the table, its map and base chains exist, keeping the services
// a previous run left (their chains and map elements): a restart changes nothing in the
// kernel until the reconciler asks for a change.
std::string base_script(Family f = Family::v4);
// The services of `nft list table ip hadirector` output (what base_script and change_script
// wrote): each s_ chain's key, its real servers with their range widths as weights, the
// scheduler from the rule (numgen: "wrr", jhash saddr: "sh", jhash daddr: "dh"). What a
// restarted daemon adopts, and what the drill reads back.
ipvs::Table parse_table(const std::string& listing);
// Everything parse_table reads, and what the drift check needs besides: the services map's
// elements (service -> the chain it jumps to), each s_ chain's number of rules, and whether
// both base chains hold their one vmap rule.
struct Listing {
  ipvs::Table services;
  std::map<ipvs::ServiceKey, std::string> elements;  // -> the chain it jumps to, or its verdict
  std::map<std::string, int> rules;  // s_ chain name -> rules in it
  // Every chain but the base ones (s_ and r_) -> its rules as normalize_rule() spells them;
  // every named set but the services map.
  std::map<std::string, std::vector<std::string>> chains;
  std::set<std::string> sets;
  bool base = false;   // ip hadirector's base chains as written
  bool base6 = false;  // ip6 hadirector's
  bool has6 = false;   // whether ip6 hadirector is there at all
};
Listing parse_listing(const std::string& listing);
// A rule as written or as nft lists it, spelled one way: blanks collapsed, no "==" before a set
// lookup, protocols by name.
std::string normalize_rule(std::string_view rule);
// Why the listed table does not hold `s` as change_script writes it (the first difference
// found), or nullopt when it does: its map element jumps to its chain, whose rules are the
// ones written (the pick compared by what it does, rule_signature, so nft's own spelling does
// not matter), and a persistent service's server chains and sets are there as written.
std::optional<std::string> difference(const Listing& l, const ipvs::Service& s);
inline bool holds(const Listing& l, const ipvs::Service& s) { return !difference(l, s); }
// The script that turns `before` into `after` (services added, removed, changed; unchanged
// ones untouched): run as one transaction.
std::string change_script(const ipvs::Table& before, const ipvs::Table& after);
// What change_script leaves for a second transaction: the server chains and sets of persistent
// services that `after` no longer has. Apart, because a kernel before 6.4 (without 628bd3e49cba)
// releases a flushed rule's references to them only at the commit: deleting them in the same
// transaction would fail it whole (EBUSY). What a failed cleanup leaves, the drift sweep removes.
std::string cleanup_script(const ipvs::Table& before, const ipvs::Table& after);
}  // namespace hd::nft
