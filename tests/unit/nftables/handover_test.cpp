// SPDX-License-Identifier: GPL-2.0-or-later
// The handover forwarding's tables: the text (pure), and that nf_tables takes it, in a
// network namespace of the test's own (unshare(CLONE_NEWNET): root, as CI runs).
#include "nftables/handover.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <string.h>

namespace hd::nft {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// VI_1 (the service side) and VI_GW (the gateway) share a sync group: the same services;
// VI_2 is Master elsewhere (active/active) with a service of its own.
HandoverServicesByInstance lab() {
  HandoverServices g;
  g.services = {{ip("10.9.0.100"), 80}, {ip("10.9.0.100"), 443}, {ip("2001:db8::100"), 80}};
  g.nat_reals = {{ip("10.10.0.12"), 80}, {ip("10.10.0.11"), 80}};
  HandoverServices other;
  other.services = {{ip("10.9.0.200"), 80}};
  other.nat_reals = {{ip("10.10.0.21"), 80}};
  return {{"VI_1", g}, {"VI_GW", g}, {"VI_2", other}, {"VI_6", g}, {"VI_EMPTY", {}}};
}

TEST(Handover, TheRulesForwardWhatIpvsLeftToTheOldMaster) {
  const std::vector<HandoverPeer> peers = {{"VI_1", "eth0", ip("10.9.0.2")},
                                           {"VI_GW", "eth1", ip("10.10.0.2")}};
  const std::string s = render_handover(peers, lab());
  EXPECT_EQ(s,
            "add table ip hadirector_handover\n"
            "delete table ip hadirector_handover\n"
            "table ip hadirector_handover {\n"
            "  chain input {\n"
            "    type filter hook input priority 300; policy accept;\n"
            "    iifname \"eth0\" ip daddr . tcp dport { 10.9.0.100 . 443, 10.9.0.100 . 80 } "
            "tcp flags & (syn | ack) != syn dup to 10.9.0.2 device \"eth0\" drop comment "
            "\"VI_1: to 10.9.0.2\"\n"
            "    iifname \"eth1\" ip daddr . tcp dport { 10.9.0.100 . 443, 10.9.0.100 . 80 } "
            "tcp flags & (syn | ack) != syn dup to 10.10.0.2 device \"eth1\" drop comment "
            "\"VI_GW: to 10.10.0.2\"\n"
            "  }\n"
            "  chain forward {\n"
            "    type filter hook forward priority 300; policy accept;\n"
            "    iifname \"eth0\" ip saddr . tcp sport { 10.10.0.11 . 80, 10.10.0.12 . 80 } dup to "
            "10.9.0.2 device \"eth0\" drop comment \"VI_1: to 10.9.0.2\"\n"
            "    iifname \"eth1\" ip saddr . tcp sport { 10.10.0.11 . 80, 10.10.0.12 . 80 } dup to "
            "10.10.0.2 device \"eth1\" drop comment \"VI_GW: to 10.10.0.2\"\n"
            "  }\n"
            "}\n"
            "add table ip6 hadirector_handover\n"
            "delete table ip6 hadirector_handover\n");
  // Nothing to forward: both tables go (and a missing one is no error: add, then delete).
  EXPECT_EQ(render_handover({}, lab()),
            "add table ip hadirector_handover\ndelete table ip hadirector_handover\n"
            "add table ip6 hadirector_handover\ndelete table ip6 hadirector_handover\n");
  // Active/active: an instance Master elsewhere forwards only its own services.
  const std::string aa = render_handover({{"VI_2", "eth0", ip("10.9.0.3")}}, lab());
  EXPECT_NE(aa.find("ip daddr . tcp dport { 10.9.0.200 . 80 }"), std::string::npos) << aa;
  EXPECT_EQ(aa.find("10.9.0.100"), std::string::npos) << aa;
  EXPECT_EQ(aa.find("10.10.0.11"), std::string::npos) << aa;
  // An instance with no services (or unknown) gets no rule.
  EXPECT_EQ(render_handover({{"VI_EMPTY", "eth0", ip("10.9.0.3")}}, lab()).find("dup"),
            std::string::npos);
  // An IPv6 peer gets the IPv6 services in the ip6 table.
  const std::string v6 = render_handover({{"VI_6", "eth0", ip("2001:db8::2")}}, lab());
  EXPECT_NE(v6.find("iifname \"eth0\" ip6 daddr . tcp dport { 2001:db8::100 . 80 } tcp flags & "
                    "(syn | ack) != syn dup to 2001:db8::2 device \"eth0\" drop"),
            std::string::npos)
      << v6;
  EXPECT_EQ(v6.find("table ip hadirector_handover {"), std::string::npos) << v6;
  // Without input (a lingering Backup): only what comes from the real servers.
  const std::string back = render_handover({{"VI_1", "eth0", ip("10.9.0.3"), false}}, lab());
  EXPECT_EQ(back.find("daddr"), std::string::npos) << back;
  EXPECT_NE(back.find("ip saddr . tcp sport { 10.10.0.11 . 80, 10.10.0.12 . 80 } dup to 10.9.0.3"),
            std::string::npos)
      << back;
  // A long instance name cannot make nft refuse the comment (128 bytes at most).
  const std::string longname(200, 'x');
  auto many = lab();
  many[longname] = many["VI_1"];
  const std::string l = render_handover({{longname, "eth0", ip("10.9.0.3")}}, many);
  EXPECT_NE(l.find("comment \"" + std::string(64, 'x') + ": to 10.9.0.3\""), std::string::npos);
}

// nf_tables takes the text, replaces it whole, and removes it (root: a namespace of its own).
TEST(Handover, TheKernelTakesTheTablesAndLetsThemGo) {
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root: " << strerror(errno);
  // `dup ... device` needs the interface to exist: the namespace's own loopback.
  const std::vector<HandoverPeer> peers = {{"VI_1", "lo", ip("10.9.0.2")},
                                           {"VI_6", "lo", ip("2001:db8::2")},
                                           {std::string(200, 'x'), "lo", ip("10.9.0.4")}};
  auto services = lab();
  services[std::string(200, 'x')] = services["VI_1"];
  ASSERT_EQ(run_nft_script(render_handover(peers, services)), "");
  ASSERT_EQ(run_nft_script(render_handover({peers[0]}, lab())), "");  // replaced whole
  ASSERT_EQ(run_nft_script("list table ip hadirector_handover"), "");
  EXPECT_NE(run_nft_script("list table ip6 hadirector_handover"), "");  // gone
  ASSERT_EQ(run_nft_script(render_handover({}, lab())), "");
  EXPECT_NE(run_nft_script("list table ip hadirector_handover"), "");
  ASSERT_EQ(run_nft_script(render_handover({}, lab())), "") << "removing nothing is no error";
  EXPECT_NE(run_nft_script("table ip x { chain c { dup to nonsense } }"), "");
}

}  // namespace
}  // namespace hd::nft
