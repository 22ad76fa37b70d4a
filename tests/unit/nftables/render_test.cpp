// SPDX-License-Identifier: GPL-2.0-or-later
// The nftables data plane's scripts, written out by hand from nft's syntax.
#include "nftables/render.h"

#include <gtest/gtest.h>

#include <map>

namespace hd::nft {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

ipvs::Destination dest(const char* a, uint16_t port, int weight) {
  ipvs::Destination d;
  d.key = ipvs::DestKey{ip(a), port};
  d.weight = weight;
  return d;
}

ipvs::Service service(const char* vip, const char* sched, std::vector<ipvs::Destination> ds) {
  ipvs::Service s;
  s.key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip(vip), 80);
  s.scheduler = sched;
  s.destinations = std::move(ds);
  return s;
}

// wrr: as many slots as the weights (divided by their gcd), in IPVS's wrr order: every
// server of weight >= k, k from the largest down; so a counter restarted by a rewrite does
// not send a run of connections to one server.
TEST(NftRender, WrrSlotsFollowTheWeightsInterleavedAsIpvsOrdersThem) {
  auto s = service("10.9.0.100", "wrr", {dest("10.10.0.13", 80, 3), dest("10.10.0.11", 8080, 1),
                                         dest("10.10.0.12", 0, 2), dest("10.10.0.14", 80, 0)});
  EXPECT_EQ(chain_name(s.key), "s_0a090064_tcp_80");
  // Port 0 is the service's port (as IPVS); weight 0 takes nothing.
  EXPECT_EQ(service_rule(s),
            "meta l4proto tcp dnat ip addr . port to numgen inc mod 6 map { 0 : 10.10.0.13 . 80, "
            "1 : 10.10.0.12 . 80, 2 : 10.10.0.13 . 80, 3 : 10.10.0.11 . 8080, 4 : 10.10.0.12 . 80, "
            "5 : 10.10.0.13 . 80 }");
  // 200:200:400 is 1:1:2.
  auto big = service("10.9.0.100", "wrr", {dest("10.10.0.11", 80, 200), dest("10.10.0.12", 80, 200),
                                           dest("10.10.0.13", 80, 400)});
  EXPECT_EQ(service_rule(big),
            "meta l4proto tcp dnat ip addr . port to numgen inc mod 4 map { 0 : 10.10.0.13 . 80, "
            "1 : 10.10.0.11 . 80, 2 : 10.10.0.12 . 80, 3 : 10.10.0.13 . 80 }");
  // Read back, a server's slots add up to its (reduced) weight.
  std::string listing = "table ip hadirector {\n\tchain s_0a090064_tcp_80 {\n\t\t" +
                        service_rule(s) + "\n\t}\n}\n";
  auto t = parse_table(listing);
  ASSERT_EQ(t.size(), 1u);
  std::map<std::string, int> weights;
  for (auto& d : t.begin()->second.destinations) weights[d.key.str()] = d.weight;
  EXPECT_EQ(weights, (std::map<std::string, int>{{"10.10.0.11:8080", 1}, {"10.10.0.12:80", 2},
                                                 {"10.10.0.13:80", 3}}));
}

TEST(NftRender, RrIgnoresWeightsButNotWeightZero) {
  auto s = service("10.9.0.100", "rr", {dest("10.10.0.11", 80, 5), dest("10.10.0.12", 80, 0),
                                        dest("10.10.0.13", 80, 2)});
  EXPECT_EQ(service_rule(s),
            "meta l4proto tcp dnat ip addr . port to numgen inc mod 2 map { 0 : 10.10.0.11 . 80, "
            "1 : 10.10.0.13 . 80 }");
}

// sh and dh hash the source (and its port with sh-port) or the destination over the same
// weight-wide ranges, with a fixed seed: both directors of a pair pick alike.
TEST(NftRender, ShAndDhHashOverTheWeights) {
  auto s = service("10.9.0.100", "sh", {dest("10.10.0.11", 80, 1), dest("10.10.0.12", 80, 2)});
  EXPECT_EQ(service_rule(s),
            "meta l4proto tcp dnat ip addr . port to jhash ip saddr mod 3 seed 0x0 map { 0 : "
            "10.10.0.11 . 80, 1-2 : 10.10.0.12 . 80 }");
  s.flags = ipvs::kShPort;
  EXPECT_NE(service_rule(s).find("jhash ip saddr . th sport mod 3 seed 0x0"), std::string::npos);
  s.scheduler = "dh";
  EXPECT_NE(service_rule(s).find("jhash ip daddr mod 3 seed 0x0"), std::string::npos);
}

TEST(NftRender, NoServerTakingConnectionsDrops) {
  EXPECT_EQ(service_rule(service("10.9.0.100", "wrr", {dest("10.10.0.11", 80, 0)})), "drop");
  EXPECT_EQ(service_rule(service("10.9.0.100", "wrr", {})), "drop");
}

TEST(NftRender, ChangesTouchOnlyWhatChanged) {
  ipvs::Table before, after;
  auto a = service("10.9.0.100", "wrr", {dest("10.10.0.11", 80, 1), dest("10.10.0.12", 80, 1)});
  auto b = service("10.9.0.101", "wrr", {dest("10.10.0.11", 80, 1)});
  auto c = service("10.9.0.102", "rr", {dest("10.10.0.12", 80, 1)});
  before[a.key] = a;
  before[b.key] = b;
  after[a.key] = a;
  after[a.key].destinations[1].weight = 0;  // a health change
  after[c.key] = c;                         // new; b is gone
  EXPECT_EQ(change_script(before, after),
            "delete element ip hadirector services { 10.9.0.101 . tcp . 80 }\n"
            "flush chain ip hadirector s_0a090065_tcp_80\n"
            "delete chain ip hadirector s_0a090065_tcp_80\n"
            "flush chain ip hadirector s_0a090064_tcp_80\n"
            "add rule ip hadirector s_0a090064_tcp_80 meta l4proto tcp dnat ip addr . port to "
            "numgen inc mod 1 map { 0 : 10.10.0.11 . 80 }\n"
            "add chain ip hadirector s_0a090066_tcp_80\n"
            "flush chain ip hadirector s_0a090066_tcp_80\n"
            "add rule ip hadirector s_0a090066_tcp_80 meta l4proto tcp dnat ip addr . port to "
            "numgen inc mod 1 map { 0 : 10.10.0.12 . 80 }\n"
            "add element ip hadirector services { 10.9.0.102 . tcp . 80 : jump s_0a090066_tcp_80 }\n");
  EXPECT_EQ(change_script(after, after), "");
}

TEST(NftRender, WhatThisDataPlaneCannotDoIsNamed) {
  EXPECT_TRUE(unsupported(service("10.9.0.100", "wrr", {dest("10.10.0.11", 80, 1)})).empty());
  auto s = service("10.9.0.100", "wlc", {dest("10.10.0.11", 80, 1)});
  s.flags = ipvs::kOnePacket | ipvs::kPersistent;  // persistence is supported
  s.destinations[0].method = ipvs::Method::dr;
  auto why = unsupported(s);
  ASSERT_EQ(why.size(), 3u);
  EXPECT_EQ(why[0], "scheduler wlc (rr, wrr, sh, dh and mh only)");
  EXPECT_EQ(why[1], "one-packet scheduling");
  EXPECT_EQ(why[2], "forwarding dr (nat only)");
  ipvs::Service v6;
  v6.key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip("2001:db8::1"), 80);
  v6.scheduler = "rr";
  EXPECT_TRUE(unsupported(v6).empty());
  ipvs::Service fwm;
  fwm.key = ipvs::ServiceKey::fwmark(7, Family::v4);
  fwm.scheduler = "rr";
  EXPECT_EQ(unsupported(fwm), std::vector<std::string>{"fwmark services"});
}

// IPv6 services: a table of their own (ip6 hadirector), ip6 expressions, a chain named by the
// whole address; read back as written.
TEST(NftRender, Ipv6ServicesLiveInTheirOwnTable) {
  ipvs::Service s;
  s.key = ipvs::ServiceKey::inet(ipvs::Protocol::udp, ip("2001:db8::1"), 53);
  s.scheduler = "sh";
  s.flags = ipvs::kShPort;
  ipvs::Destination a, b;
  a.key = ipvs::DestKey{ip("2001:db8:1::11"), 53};
  b.key = ipvs::DestKey{ip("2001:db8:1::12"), 5353};
  b.weight = 2;
  s.destinations = {a, b};
  EXPECT_EQ(table(Family::v6), "ip6 hadirector");
  EXPECT_EQ(chain_name(s.key), "s6_20010db8000000000000000000000001_udp_53");
  EXPECT_EQ(service_rule(s),
            "meta l4proto udp dnat ip6 addr . port to jhash ip6 saddr . th sport mod 3 seed 0x0 "
            "map { 0 : 2001:db8:1::11 . 53, 1-2 : 2001:db8:1::12 . 5353 }");
  const std::string script = change_script({}, {{s.key, s}});
  EXPECT_EQ(script,
            "add chain ip6 hadirector s6_20010db8000000000000000000000001_udp_53\n"
            "flush chain ip6 hadirector s6_20010db8000000000000000000000001_udp_53\n"
            "add rule ip6 hadirector s6_20010db8000000000000000000000001_udp_53 " +
                service_rule(s) +
                "\nadd element ip6 hadirector services { 2001:db8::1 . udp . 53 : jump "
                "s6_20010db8000000000000000000000001_udp_53 }\n");
  EXPECT_NE(base_script(Family::v6).find("type ipv6_addr . inet_proto . inet_service : verdict"),
            std::string::npos);
  EXPECT_NE(base_script(Family::v6).find("prerouting ip6 daddr . meta l4proto . th dport vmap @services"),
            std::string::npos);
  // As nft lists it (it drops the l4proto match the port implies): the same service back.
  const std::string listing =
      "table ip6 hadirector {\n\tmap services {\n"
      "\t\ttype ipv6_addr . inet_proto . inet_service : verdict\n"
      "\t\telements = { 2001:db8::1 . udp . 53 : jump s6_20010db8000000000000000000000001_udp_53 }\n"
      "\t}\n\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
      "\t\tip6 daddr . meta l4proto . th dport vmap @services\n\t}\n\n"
      "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
      "\t\tip6 daddr . meta l4proto . th dport vmap @services\n\t}\n\n"
      "\tchain keep_nat {\n\t\tmeta l4proto 6 dnat to [::1]:9\n\t}\n\n"
      "\tchain s6_20010db8000000000000000000000001_udp_53 {\n"
      "\t\tdnat ip6 to jhash ip6 saddr . udp sport mod 3 seed 0x0 map { 0 : 2001:db8:1::11 . 53, "
      "1-2 : 2001:db8:1::12 . 5353 }\n\t}\n}\n";
  Listing l = parse_listing(listing);
  EXPECT_TRUE(l.has6);
  EXPECT_TRUE(l.base6);
  EXPECT_FALSE(l.base) << "no ip table in this listing";
  ASSERT_EQ(l.services.size(), 1u);
  EXPECT_EQ(l.services.at(s.key).scheduler, "sh");
  EXPECT_TRUE(holds(l, s));
}

}  // namespace
}  // namespace hd::nft

namespace hd::nft {
namespace {

// What the drift check reads: map elements with protocols named (nft's default) or numbered
// (the backend's listing thread), rules counted per chain, the base chains judged.
TEST(NftListing, ElementsRulesAndBaseChainsAreRead) {
  const std::string listing =
      "table ip hadirector {\n"
      "\tmap services {\n"
      "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
      "\t\telements = { 10.9.0.101 . 17 . 53 : jump s_0a090065_udp_53,\n"
      "\t\t\t     10.9.0.100 . tcp . 80 : jump s_0a090064_tcp_80 }\n"
      "\t}\n\n"
      "\tchain prerouting {\n"
      "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
      "\t\tip daddr . meta l4proto . th dport vmap @services\n"
      "\t}\n\n"
      "\tchain output {\n"
      "\t\ttype nat hook output priority -100; policy accept;\n"
      "\t\tip daddr . meta l4proto . th dport vmap @services\n"
      "\t}\n\n"
      "\tchain keep_nat {\n"
      "\t\tmeta l4proto tcp dnat to 127.0.0.1:9\n"
      "\t}\n\n"
      "\tchain s_0a090064_tcp_80 {\n"
      "\t\tmeta l4proto 6 dnat ip to numgen inc mod 1 map { 0 : 10.10.0.11 . 80 }\n"
      "\t\tcounter packets 0 bytes 0\n"
      "\t}\n\n"
      "\tchain s_0a090065_udp_53 {\n"
      "\t\tdrop\n"
      "\t}\n"
      "}\n";
  Listing l = parse_listing(listing);
  EXPECT_TRUE(l.base);
  const auto tcp = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, *IpAddress::parse("10.9.0.100"), 80);
  const auto udp = ipvs::ServiceKey::inet(ipvs::Protocol::udp, *IpAddress::parse("10.9.0.101"), 53);
  ASSERT_EQ(l.elements.size(), 2u);
  EXPECT_EQ(l.elements.at(tcp), "s_0a090064_tcp_80");
  EXPECT_EQ(l.elements.at(udp), "s_0a090065_udp_53");
  EXPECT_EQ(l.rules.at("s_0a090064_tcp_80"), 2);
  EXPECT_EQ(l.rules.at("s_0a090065_udp_53"), 1);
  ipvs::Service want;
  want.key = tcp;
  want.scheduler = "rr";
  ipvs::Destination d;
  d.key = ipvs::DestKey{*IpAddress::parse("10.10.0.11"), 80};
  want.destinations = {d};
  EXPECT_FALSE(holds(l, want)) << "a second rule in its chain";
  EXPECT_EQ(difference(l, want), "its chain holds 2 rules, not 1");
  // One rule: held (rr with one server renders as the listed wrr one does).
  Listing one = parse_listing(listing.substr(0, listing.find("\t\tcounter")) +
                              listing.substr(listing.find("\t}\n\n\tchain s_0a090065")));
  EXPECT_TRUE(holds(one, want));
  want.destinations[0].weight = 0;
  EXPECT_FALSE(holds(one, want)) << "the rule would be drop";
  EXPECT_EQ(difference(one, want), "its rule is not the one written");
  EXPECT_EQ(difference(Listing{}, want), "its map element is gone");
  // prerouting flushed: the base chains are not as written.
  std::string flushed = listing;
  flushed.erase(flushed.find("\t\tip daddr"), std::string("\t\tip daddr . meta l4proto . th dport vmap @services\n").size());
  EXPECT_FALSE(parse_listing(flushed).base);
  // keep_nat gone (or flushed): not as written either.
  std::string kept = listing;
  kept.erase(kept.find("\t\tmeta l4proto tcp dnat to 127.0.0.1:9\n"),
             std::string("\t\tmeta l4proto tcp dnat to 127.0.0.1:9\n").size());
  EXPECT_FALSE(parse_listing(kept).base);
}

}  // namespace
}  // namespace hd::nft

namespace hd::nft {
namespace {

std::vector<ipvs::DestKey> servers(int n) {
  std::vector<ipvs::DestKey> out;
  for (int i = 1; i <= n; ++i)
    out.push_back(ipvs::DestKey{*IpAddress::parse("10.10.0." + std::to_string(10 + i)), 80});
  return out;
}

// mh: every slot has an owner, the shares follow the weights, and a server leaving moves its
// own slots and few others (the point of consistent hashing: flows of the other servers stay).
TEST(NftMaglev, SharesFollowTheWeightsAndALeavingServerMovesLittleElse) {
  EXPECT_EQ(mh_size(3), 257u);
  EXPECT_EQ(mh_size(55), 881u);  // the first prime from 880
  auto keys = servers(10);
  std::vector<int64_t> w(10, 1);
  w[0] = 3;  // three times the others' share
  const size_t m = mh_size(12);
  auto t = mh_table(keys, w, m);
  std::vector<int> count(10, 0);
  for (int owner : t) {
    ASSERT_GE(owner, 0);
    ++count[owner];
  }
  EXPECT_NEAR(count[0], 3.0 * m / 12, 2);
  for (int i = 1; i < 10; ++i) EXPECT_NEAR(count[i], 1.0 * m / 12, 2) << i;
  EXPECT_EQ(mh_table(keys, w, m), t) << "the same servers, the same table (every director alike)";
  // Server 5 leaves: its slots go to the others; of the rest, few change hands.
  auto keys9 = keys;
  auto w9 = w;
  keys9.erase(keys9.begin() + 5);
  w9.erase(w9.begin() + 5);
  auto t9 = mh_table(keys9, w9, m);
  size_t moved = 0;
  for (size_t s = 0; s < m; ++s) {
    if (t[s] == 5) continue;
    const ipvs::DestKey& before = keys[static_cast<size_t>(t[s])];
    if (keys9[static_cast<size_t>(t9[s])] != before) ++moved;
  }
  EXPECT_LT(moved, m / 10) << moved << " of " << m << " slots of the staying servers moved";
}

// As a rule: jhash over the table, the weights in the comment; read back, the same service.
TEST(NftMaglev, TheRuleCarriesTheWeightsAndReadsBackWhole) {
  ipvs::Service s;
  s.key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, *IpAddress::parse("10.9.0.100"), 80);
  s.scheduler = "mh";
  s.flags = ipvs::kMhPort;
  for (auto& k : servers(3)) {
    ipvs::Destination d;
    d.key = k;
    d.weight = 2 * static_cast<int>(s.destinations.size() + 1);  // 2, 4, 6: over the gcd 1, 2, 3
    s.destinations.push_back(d);
  }
  const std::string rule = service_rule(s);
  EXPECT_EQ(rule.rfind("meta l4proto tcp dnat ip addr . port to jhash ip saddr . th sport mod 257 seed 0x0 map { ", 0), 0u)
      << rule;
  EXPECT_NE(rule.find("} comment \"mh 1,2,3\""), std::string::npos) << rule;
  // As nft lists it: "dnat ip to", "tcp sport".
  std::string listed = rule;
  listed.replace(listed.find("dnat ip addr . port to"), 22, "dnat ip to");
  listed.replace(listed.find("th sport"), 8, "tcp sport");
  Listing l = parse_listing("table ip hadirector {\n\tmap services {\n\t\telements = { 10.9.0.100 . tcp . 80 : jump "
                            "s_0a090064_tcp_80 }\n\t}\n\tchain s_0a090064_tcp_80 {\n\t\t" + listed + "\n\t}\n}\n");
  ASSERT_EQ(l.services.size(), 1u);
  const ipvs::Service& back = l.services.at(s.key);
  EXPECT_EQ(back.scheduler, "mh");
  EXPECT_TRUE(back.flags & ipvs::kMhPort);
  ASSERT_EQ(back.destinations.size(), 3u);
  EXPECT_EQ(back.destinations[2].weight, 3);
  EXPECT_EQ(service_rule(back), rule) << "adoption reads back what was written";
  EXPECT_TRUE(holds(l, s));
  ipvs::Service other = s;
  other.destinations[0].weight = 4;
  EXPECT_FALSE(holds(l, other)) << "another table";
}

// wrr over .11:80 (1), .12:8080 (2) and .13:80 (0), persistent for 5 minutes per /24.
ipvs::Service persistent_service() {
  auto s = service("10.9.0.100", "wrr", {dest("10.10.0.12", 8080, 2), dest("10.10.0.11", 80, 1),
                                         dest("10.10.0.13", 80, 0)});
  s.flags = ipvs::kPersistent;
  s.timeout = 300;
  s.netmask = 24;
  return s;
}

// Persistence: per real server a set of its clients (masked by the netmask) and a chain that
// refreshes the client's element and DNATs; the service's chain looks a client up in every
// server's set (weight 0 too: its clients stay, as IPVS keeps a quiescent server's templates)
// and sends a new one to the chain its scheduler picks.
TEST(NftRender, PersistentServicesKeepAClientOnItsServer) {
  const auto s = persistent_service();
  const std::string r11 = "r_0a090064_tcp_80_0a0a000b_80", r12 = "r_0a090064_tcp_80_0a0a000c_8080",
                    r13 = "r_0a090064_tcp_80_0a0a000d_80";
  EXPECT_EQ(persist_chain_name(s.key, s.destinations[1].key), r11);
  EXPECT_EQ(persist_set_name(s.key, s.destinations[1].key), "p_0a090064_tcp_80_0a0a000b_80");
  auto owner = persist_owner("p_0a090064_tcp_80_0a0a000c_8080");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->first, s.key);
  EXPECT_EQ(owner->second, s.destinations[0].key);
  EXPECT_FALSE(persist_owner("r_0a090064_tcp_80"));
  EXPECT_FALSE(persist_owner("r_0a090064_tcp_80_0a0a0c_80"));
  const ServiceObjects o = service_objects(s);
  EXPECT_EQ(o.rules, (std::vector<std::string>{
                         "ip saddr & 255.255.255.0 @p_0a090064_tcp_80_0a0a000b_80 goto " + r11,
                         "ip saddr & 255.255.255.0 @p_0a090064_tcp_80_0a0a000c_8080 goto " + r12,
                         "ip saddr & 255.255.255.0 @p_0a090064_tcp_80_0a0a000d_80 goto " + r13,
                         "numgen inc mod 3 vmap { 0 : goto " + r12 + ", 1 : goto " + r11 + ", 2 : goto " + r12 + " }"}));
  EXPECT_EQ(o.chains.at(r12), (std::vector<std::string>{
                                  "update @p_0a090064_tcp_80_0a0a000c_8080 { ip saddr & 255.255.255.0 timeout 5m }",
                                  "meta l4proto tcp dnat to 10.10.0.12:8080"}));
  EXPECT_EQ(o.chains.size(), 3u);
  EXPECT_EQ(o.sets.at("p_0a090064_tcp_80_0a0a000d_80"),
            "{ type ipv4_addr ; flags dynamic,timeout ; size 262144 ; }");
  // Every server down: new clients dropped; known ones still looked up.
  auto down = s;
  for (auto& d : down.destinations) d.weight = 0;
  EXPECT_EQ(service_objects(down).rules.back(), "drop");
  EXPECT_EQ(service_objects(down).rules.size(), 4u);

  // Made: sets, then the servers' chains, then the service's chain and its element.
  auto one = service("10.9.0.100", "rr", {dest("10.10.0.11", 80, 1)});
  one.flags = ipvs::kPersistent;
  one.timeout = 90;
  EXPECT_EQ(change_script({}, {{one.key, one}}),
            "add set ip hadirector p_0a090064_tcp_80_0a0a000b_80 { type ipv4_addr ; flags dynamic,timeout ; size 262144 ; }\n"
            "add chain ip hadirector " + r11 + "\n"
            "flush chain ip hadirector " + r11 + "\n"
            "add rule ip hadirector " + r11 + " update @p_0a090064_tcp_80_0a0a000b_80 { ip saddr timeout 1m30s }\n"
            "add rule ip hadirector " + r11 + " meta l4proto tcp dnat to 10.10.0.11:80\n"
            "add chain ip hadirector s_0a090064_tcp_80\n"
            "flush chain ip hadirector s_0a090064_tcp_80\n"
            "add rule ip hadirector s_0a090064_tcp_80 ip saddr @p_0a090064_tcp_80_0a0a000b_80 goto " + r11 + "\n"
            "add rule ip hadirector s_0a090064_tcp_80 numgen inc mod 1 vmap { 0 : goto " + r11 + " }\n"
            "add element ip hadirector services { 10.9.0.100 . tcp . 80 : jump s_0a090064_tcp_80 }\n");
  // A health change rewrites the service's chain only: the servers' chains and sets (with their
  // clients) stay. A server removed loses its chain and set, in a second transaction (after
  // the one that rewrote the service's chain: cleanup_script).
  auto after = s;
  after.destinations[1].weight = 0;
  after.destinations.pop_back();
  const ipvs::Table t0{{s.key, s}}, t1{{after.key, after}};
  EXPECT_EQ(change_script(t0, t1),
            "flush chain ip hadirector s_0a090064_tcp_80\n"
            "add rule ip hadirector s_0a090064_tcp_80 ip saddr & 255.255.255.0 @p_0a090064_tcp_80_0a0a000b_80 goto " + r11 + "\n"
            "add rule ip hadirector s_0a090064_tcp_80 ip saddr & 255.255.255.0 @p_0a090064_tcp_80_0a0a000c_8080 goto " + r12 + "\n"
            "add rule ip hadirector s_0a090064_tcp_80 numgen inc mod 1 vmap { 0 : goto " + r12 + " }\n");
  EXPECT_EQ(cleanup_script(t0, t1),
            "flush chain ip hadirector " + r13 + "\n"
            "delete chain ip hadirector " + r13 + "\n"
            "delete set ip hadirector p_0a090064_tcp_80_0a0a000d_80\n");
  EXPECT_EQ(cleanup_script(t0, t0), "");
  // The service removed: all of its servers' objects go in the cleanup.
  const std::string gone = cleanup_script(t0, {});
  for (const std::string& x : {r11, r12, r13}) EXPECT_NE(gone.find("delete chain ip hadirector " + x), std::string::npos);
  EXPECT_EQ(change_script(t0, {}).find("_0a0a000"), std::string::npos);
  // A new timeout rewrites the servers' chains, not the sets.
  auto longer = s;
  longer.timeout = 3661;
  const std::string t = change_script({{s.key, s}}, {{s.key, longer}});
  EXPECT_NE(t.find("timeout 1h1m1s }"), std::string::npos) << t;
  EXPECT_EQ(t.find("set"), std::string::npos) << t;
  EXPECT_EQ(t.find("flush chain ip hadirector s_"), std::string::npos) << t;
  // Leaving persistence: the plain rule, the servers' objects gone.
  auto plain = s;
  plain.flags = 0;
  const std::string p = change_script({{s.key, s}}, {{s.key, plain}});
  EXPECT_NE(p.find("add rule ip hadirector s_0a090064_tcp_80 meta l4proto tcp dnat ip addr . port to"),
            std::string::npos) << p;
  EXPECT_NE(cleanup_script({{s.key, s}}, {{s.key, plain}}).find("delete set ip hadirector p_0a090064_tcp_80_0a0a000b_80"),
            std::string::npos);
}

// As nft 1.0.6 lists a persistent service (terse: no clients; "==" before a masked lookup;
// the timeout as a duration): the same service back, and holds() sees it as written; a server's
// chain changed, or its set gone, is not.
TEST(NftRender, PersistentServicesAreReadBackAsWritten) {
  const auto s = persistent_service();
  const std::string p = "p_0a090064_tcp_80_0a0a00", r = "r_0a090064_tcp_80_0a0a00";
  auto listing = [&](const std::string& dnat11, bool set13) {
    std::string out = "table ip hadirector {\n\tmap services {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
                      "\t\telements = { 10.9.0.100 . tcp . 80 : jump s_0a090064_tcp_80 }\n\t}\n";
    for (const char* x : {"0b_80", "0c_8080", "0d_80"}) {
      if (std::string(x) == "0d_80" && !set13) continue;
      out += "\tset " + p + x + " {\n\t\ttype ipv4_addr\n\t\tsize 262144\n\t\tflags dynamic,timeout\n\t}\n";
    }
    out += "\tchain " + r + "0b_80 {\n\t\tupdate @" + p + "0b_80 { ip saddr & 255.255.255.0 timeout 5m }\n\t\t" + dnat11 + "\n\t}\n";
    out += "\tchain " + r + "0c_8080 {\n\t\tupdate @" + p + "0c_8080 { ip saddr & 255.255.255.0 timeout 5m }\n\t\tmeta l4proto 6 dnat to 10.10.0.12:8080\n\t}\n";
    out += "\tchain " + r + "0d_80 {\n\t\tupdate @" + p + "0d_80 { ip saddr & 255.255.255.0 timeout 5m }\n\t\tmeta l4proto tcp dnat to 10.10.0.13:80\n\t}\n";
    out += "\tchain s_0a090064_tcp_80 {\n";
    for (const char* x : {"0b_80", "0c_8080", "0d_80"})
      out += "\t\tip saddr & 255.255.255.0 == @" + p + x + " goto " + r + x + "\n";
    out += "\t\tnumgen inc mod 3 vmap { 0 : goto " + r + "0c_8080, 1 : goto " + r + "0b_80, 2 : goto " + r + "0c_8080 }\n\t}\n}\n";
    return out;
  };
  const Listing l = parse_listing(listing("meta l4proto tcp dnat to 10.10.0.11:80", true));
  ASSERT_EQ(l.services.size(), 1u);
  EXPECT_EQ(l.services.begin()->second, s) << l.services.begin()->second.str();
  EXPECT_EQ(l.services.begin()->second.timeout, 300u);
  EXPECT_TRUE(holds(l, s));
  EXPECT_FALSE(holds(parse_listing(listing("meta l4proto tcp dnat to 10.10.0.99:80", true)), s));
  EXPECT_FALSE(holds(parse_listing(listing("meta l4proto tcp dnat to 10.10.0.11:80", false)), s));
  auto other = s;
  other.timeout = 600;
  EXPECT_FALSE(holds(l, other));
}

TEST(NftRender, DurationsAsNftWritesThem) {
  EXPECT_EQ(nft_duration(300), "5m");
  EXPECT_EQ(nft_duration(90), "1m30s");
  EXPECT_EQ(nft_duration(3661), "1h1m1s");
  EXPECT_EQ(nft_duration(86400), "1d");
  EXPECT_EQ(nft_duration(7), "7s");
  EXPECT_EQ(parse_nft_duration("1h1m1s"), 3661u);
  EXPECT_EQ(parse_nft_duration("1d2h"), 93600u);
  EXPECT_EQ(parse_nft_duration("1500ms"), std::nullopt);  // not whole seconds
  EXPECT_EQ(parse_nft_duration("2000ms"), 2u);
  EXPECT_EQ(parse_nft_duration("5x"), std::nullopt);
  EXPECT_EQ(parse_nft_duration(""), std::nullopt);
  for (uint32_t v : {1u, 59u, 60u, 3599u, 86399u, 31536000u}) EXPECT_EQ(parse_nft_duration(nft_duration(v)), v);
}

}  // namespace
}  // namespace hd::nft
