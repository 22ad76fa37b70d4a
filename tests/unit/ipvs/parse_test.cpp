// SPDX-License-Identifier: GPL-2.0-or-later
// Dump replies parsed back into model values; malformed replies are errors.
#include "ipvs/parse.h"

#include <gtest/gtest.h>


#include "ipvs/message.h"
#include "kernel_replies.h"
#include "test_util.h"
#include "tests/unit/seed_corpus.h"

namespace hd::ipvs {
namespace {

using testing::bytes;
using testing::dest;
using testing::ip;
using testing::kernel_dest_reply;
using testing::kernel_service_reply;
using testing::tcp;

Service udp_sh() {
  Service s;
  s.key = ServiceKey::inet(Protocol::udp, ip("10.0.0.1"), 53);
  s.scheduler = "sh";
  s.flags = kPersistent | kShFallback | kShPort;
  s.timeout = 300;
  s.netmask = 24;
  return s;
}

Service fwmark_v6() {
  Service s;
  s.key = ServiceKey::fwmark(7, Family::v6);
  s.scheduler = "lc";
  s.flags = kPersistent;
  s.timeout = 60;
  s.netmask = 64;
  return s;
}

Destination gue() {
  Destination d = dest("10.0.0.4", 80, 1, Method::tun);
  d.tunnel = Tunnel{TunType::gue, 6080, kTunCsum};
  d.u_threshold = 100;
  d.l_threshold = 50;
  return d;
}

TEST(Parse, ServiceAsTheKernelSendsIt) {
  for (const Service& s :
       {udp_sh(), fwmark_v6(), testing::service(tcp("10.0.0.1", 80), "wrr"),
        testing::service(ServiceKey::inet(Protocol::sctp, ip("2001:db8::1"), 9), "mh")}) {
    nl::Msg m = kernel_service_reply(s);
    auto parsed = parse_service_reply(nlmsg_hdr(m.get()));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, s) << s.str() << " read back as " << parsed->str();
    EXPECT_EQ(parsed->flags & kHashed, 0u);  // the kernel's bookkeeping bit is dropped
  }
}

TEST(Parse, FullNetmaskReadsAsUnset) {
  nl::Msg m = kernel_service_reply(testing::service(tcp("10.0.0.1", 80)));
  EXPECT_EQ(parse_service_reply(nlmsg_hdr(m.get()))->netmask, std::nullopt);
  Service s = udp_sh();
  s.netmask = 0;
  nl::Msg zero = kernel_service_reply(s);
  EXPECT_EQ(parse_service_reply(nlmsg_hdr(zero.get()))->netmask, 0);
}

TEST(Parse, PersistenceEngine) {
  Service s = testing::service(tcp("10.0.0.9", 5060), "rr");
  s.flags = kPersistent;
  s.timeout = 360;
  s.pe_name = "sip";
  nl::Msg m = kernel_service_reply(s);
  EXPECT_EQ(parse_service_reply(nlmsg_hdr(m.get()))->pe_name, "sip");
}

TEST(Parse, DestinationsAsTheKernelSendsThem) {
  for (const Destination& d :
       {dest("10.0.0.2", 80, 3), dest("10.0.0.3", 80, 0, Method::dr), gue(),
        dest("2001:db8::2", 0, 1, Method::dr), dest("10.1.1.1", 443, 1, Method::tun)}) {
    nl::Msg m = kernel_dest_reply(d);
    auto parsed = parse_dest_reply(nlmsg_hdr(m.get()), Family::v4);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, d) << d.str() << " read back as " << parsed->str();
    EXPECT_EQ(parsed->tunnel, d.tunnel);
  }
}

// The kernel's counters (STATS64 and the connection counts) are read, and play no part in
// comparing a dumped entry with a desired one.
TEST(Parse, CountersAreReadAndNeverCompared) {
  nl::Msg m = kernel_dest_reply(dest("10.0.0.2", 80, 3));
  auto d = parse_dest_reply(nlmsg_hdr(m.get()), Family::v4);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->counters);
  EXPECT_EQ(d->counters->active_conns, 3u);
  EXPECT_EQ(d->counters->inactive_conns, 4u);
  EXPECT_EQ(d->counters->persistent_conns, 5u);
  // kernel_replies.h puts 1000 + n for attribute n (STATS64) and 100 + n in the old STATS.
  Stats want{1001, 1002, 1003, 1004, 1005};
  EXPECT_EQ(d->counters->stats, want);
  EXPECT_EQ(*d, dest("10.0.0.2", 80, 3));
  nl::Msg sm = kernel_service_reply(udp_sh());
  auto s = parse_service_reply(nlmsg_hdr(sm.get()));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->stats);
  EXPECT_EQ(*s->stats, want);
  EXPECT_EQ(*s, udp_sh());
  // What we build ourselves carries none.
  EXPECT_FALSE(dest("10.0.0.2", 80, 3).counters);
}

TEST(Parse, DestinationWithoutFamilyTakesTheServices) {
  nl::Msg m = kernel_dest_reply(dest("2001:db8::2", 80), false);
  auto parsed = parse_dest_reply(nlmsg_hdr(m.get()), Family::v6);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key.address, ip("2001:db8::2"));
}

TEST(Parse, RequestsWeBuildParseBack) {
  // The request and the reply carry the same attributes: a round trip through our encoder.
  Service s = udp_sh();
  s.pe_name = "sip";
  nl::Msg m = build_message(AddService{s}, testing::kFamilyId);
  auto parsed = parse_service_reply(nlmsg_hdr(m.get()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, s);
  nl::Msg d = build_message(AddDest{s.key, gue()}, testing::kFamilyId);
  auto pd = parse_dest_reply(nlmsg_hdr(d.get()), Family::v4);
  ASSERT_TRUE(pd.ok()) << pd.error().message;
  EXPECT_EQ(*pd, gue());
}

TEST(Parse, SplitDatagram) {
  std::string dgram =
      bytes(kernel_service_reply(udp_sh())) + bytes(kernel_service_reply(fwmark_v6()));
  auto msgs = split_datagram(dgram.data(), dgram.size());
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(parse_service_reply(msgs[1])->key, fwmark_v6().key);
  // Truncated: the second message no longer fits and is not returned.
  EXPECT_EQ(split_datagram(dgram.data(), dgram.size() - 1).size(), 1u);
  EXPECT_EQ(split_datagram(dgram.data(), 10).size(), 0u);
}

nl::Msg service_without(int skip) {
  nl::Msg m(nlmsg_alloc());
  genlmsg_put(m.get(), 0, 1, testing::kFamilyId, 0, 0, IPVS_CMD_NEW_SERVICE, 1);
  nlattr* n = nla_nest_start(m.get(), IPVS_CMD_ATTR_SERVICE);
  auto put = [&](int type, auto fn) {
    if (type != skip) fn();
  };
  put(IPVS_SVC_ATTR_AF, [&] { nla_put_u16(m.get(), IPVS_SVC_ATTR_AF, AF_INET); });
  put(IPVS_SVC_ATTR_PROTOCOL, [&] { nla_put_u16(m.get(), IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP); });
  put(IPVS_SVC_ATTR_ADDR,
      [&] { testing::put_addr16(m.get(), IPVS_SVC_ATTR_ADDR, ip("10.0.0.1")); });
  put(IPVS_SVC_ATTR_PORT, [&] { nla_put_u16(m.get(), IPVS_SVC_ATTR_PORT, htons(80)); });
  put(IPVS_SVC_ATTR_SCHED_NAME, [&] { nla_put_string(m.get(), IPVS_SVC_ATTR_SCHED_NAME, "rr"); });
  ip_vs_flags f{0, ~0u};
  put(IPVS_SVC_ATTR_FLAGS, [&] { nla_put(m.get(), IPVS_SVC_ATTR_FLAGS, sizeof(f), &f); });
  put(IPVS_SVC_ATTR_TIMEOUT, [&] { nla_put_u32(m.get(), IPVS_SVC_ATTR_TIMEOUT, 0); });
  put(IPVS_SVC_ATTR_NETMASK, [&] { nla_put_u32(m.get(), IPVS_SVC_ATTR_NETMASK, ~0u); });
  nla_nest_end(m.get(), n);
  return m;
}

TEST(Parse, MissingAttributesAreErrors) {
  nl::Msg whole = service_without(0);
  ASSERT_TRUE(parse_service_reply(nlmsg_hdr(whole.get())).ok());
  for (int a : {IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_PORT,
                IPVS_SVC_ATTR_SCHED_NAME, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_TIMEOUT,
                IPVS_SVC_ATTR_NETMASK}) {
    nl::Msg m = service_without(a);
    auto r = parse_service_reply(nlmsg_hdr(m.get()));
    ASSERT_FALSE(r.ok()) << "without attribute " << a;
    EXPECT_NE(r.error().message.find("malformed IPVS reply"), std::string::npos);
  }
}

TEST(Parse, BadValuesAreErrors) {
  Destination d = dest("10.0.0.2", 80);
  d.method = static_cast<Method>(4);  // bypass: not a configurable method
  nl::Msg m = kernel_dest_reply(d);
  EXPECT_FALSE(parse_dest_reply(nlmsg_hdr(m.get()), Family::v4).ok());
  Destination t = gue();
  t.tunnel.type = static_cast<TunType>(9);
  nl::Msg mt = kernel_dest_reply(t);
  EXPECT_FALSE(parse_dest_reply(nlmsg_hdr(mt.get()), Family::v4).ok());
  // A service reply is not a destination reply.
  nl::Msg svc = kernel_service_reply(udp_sh());
  EXPECT_FALSE(parse_dest_reply(nlmsg_hdr(svc.get()), Family::v4).ok());
}

TEST(Parse, ShortAttributesAreRejectedByThePolicy) {
  nl::Msg m(nlmsg_alloc());
  genlmsg_put(m.get(), 0, 1, testing::kFamilyId, 0, 0, IPVS_CMD_NEW_SERVICE, 1);
  nlattr* n = nla_nest_start(m.get(), IPVS_CMD_ATTR_SERVICE);
  uint8_t one = AF_INET;
  nla_put(m.get(), IPVS_SVC_ATTR_AF, 1, &one);  // a u16 in one byte
  nla_nest_end(m.get(), n);
  EXPECT_FALSE(parse_service_reply(nlmsg_hdr(m.get())).ok());
}

// The fuzzer's seeds (tests/fuzz/ipvs/corpus) are kernel-style dump datagrams
// built here; HD_WRITE_CORPUS=1 rewrites them (tests/unit/seed_corpus.h).
std::map<std::string, std::string> seeds() {
  return {
      {"services_v4_v6",
       bytes(kernel_service_reply(udp_sh())) + bytes(kernel_service_reply(fwmark_v6()))},
      {"service_pe_sip",
       [] {
         Service s = testing::service(tcp("10.0.0.9", 5060), "rr");
         s.pe_name = "sip";
         return bytes(kernel_service_reply(s));
       }()},
      {"dests_nat_dr_gue", bytes(kernel_dest_reply(dest("10.0.0.2", 80, 3))) +
                               bytes(kernel_dest_reply(dest("10.0.0.3", 80, 0, Method::dr))) +
                               bytes(kernel_dest_reply(gue()))},
      {"dest_v6_no_family", bytes(kernel_dest_reply(dest("2001:db8::2", 80), false))},
  };
}

TEST(Parse, FuzzCorpusIsKernelStyleReplies) {
  for (const auto& [name, data] : seeds()) {
    hd::corpus::expect_seed(HD_IPVS_CORPUS_DIR, name, data);
    for (const nlmsghdr* h : split_datagram(data.data(), data.size())) {
      auto* g = static_cast<const genlmsghdr*>(NLMSG_DATA(h));
      bool ok = g->cmd == IPVS_CMD_NEW_SERVICE ? parse_service_reply(h).ok()
                                               : parse_dest_reply(h, Family::v6).ok();
      EXPECT_TRUE(ok) << name;
    }
  }
}

}  // namespace
}  // namespace hd::ipvs
