// SPDX-License-Identifier: GPL-2.0-or-later
// ipvs::parse_ack: the kernel's NLMSG_ERROR replies as netlink_ack() writes them
// (net/netlink/af_netlink.c): nlmsgerr, the request's payload echoed unless capped (padded to
// 4 bytes), then with NLM_F_ACK_TLVS the extended-ack attributes.
#include <gtest/gtest.h>
#include <linux/netlink.h>

#include <cerrno>
#include <climits>
#include <map>

#include "ipvs/parse.h"
#include "kernel_replies.h"
#include "tests/unit/seed_corpus.h"

namespace hd::ipvs {
namespace {

using testing::bytes;

// `error` for a request with `request_payload`; `ext` the NLMSGERR_ATTR_MSG, if any; `offset`
// an NLMSGERR_ATTR_OFFS before it (the kernel's pointer to the bad attribute), when not 0.
nl::Msg kernel_ack(int error, const std::string& request_payload, bool capped,
                   const char* ext = nullptr, uint32_t offset = 0) {
  nl::Msg m(nlmsg_alloc());
  const bool tlvs = ext != nullptr || offset != 0;
  int flags = (capped ? NLM_F_CAPPED : 0) | (tlvs ? NLM_F_ACK_TLVS : 0);
  nlmsghdr* h = nlmsg_put(m.get(), 4242, 7, NLMSG_ERROR, sizeof(nlmsgerr), flags);
  auto* e = static_cast<nlmsgerr*>(nlmsg_data(h));
  e->error = error;
  e->msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + request_payload.size());
  e->msg.nlmsg_type = testing::kFamilyId;
  e->msg.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  e->msg.nlmsg_seq = 7;
  e->msg.nlmsg_pid = 4242;
  if (!capped)
    nlmsg_append(m.get(), const_cast<char*>(request_payload.data()), request_payload.size(),
                 NLMSG_ALIGNTO);
  if (offset != 0) nla_put_u32(m.get(), NLMSGERR_ATTR_OFFS, offset);
  if (ext != nullptr) nla_put_string(m.get(), NLMSGERR_ATTR_MSG, ext);
  return m;
}

// A genl request's payload: genlmsghdr and one attribute (12 bytes).
const std::string kRequest("\x01\x01\x00\x00\x08\x00\x01\x00\x02\x00\x00\x00", 12);

TEST(Ack, Acknowledgement) {
  auto a = parse_ack(nlmsg_hdr(kernel_ack(0, kRequest, true).get()));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->err, 0);
  EXPECT_EQ(a->detail, "");
  // A warning on success is not a detail: there is no failure to explain.
  a = parse_ack(nlmsg_hdr(kernel_ack(0, kRequest, true, "deprecated").get()));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->err, 0);
  EXPECT_EQ(a->detail, "");
}

TEST(Ack, ErrorWithAndWithoutExtendedAck) {
  auto a = parse_ack(nlmsg_hdr(kernel_ack(-EEXIST, kRequest, false).get()));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->err, EEXIST);
  EXPECT_EQ(a->detail, "");
  for (bool capped : {true, false}) {
    SCOPED_TRACE(capped);
    a = parse_ack(nlmsg_hdr(kernel_ack(-EINVAL, kRequest, capped, "unknown scheduler", 20).get()));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->err, EINVAL);
    EXPECT_EQ(a->detail, "unknown scheduler");
  }
}

// The echoed request is padded to 4 bytes before the attributes; they were read from the end
// of the unpadded request, so a request of a length not a multiple of 4 lost its message.
TEST(Ack, ExtendedAckAfterAnEchoedRequestOfOddLength) {
  for (size_t len : {0, 1, 2, 3, 5, 13}) {
    SCOPED_TRACE(len);
    auto a = parse_ack(
        nlmsg_hdr(kernel_ack(-EINVAL, std::string(len, '\x7f'), false, "bad attribute").get()));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->detail, "bad attribute");
  }
}

// Found by tests/fuzz/netlink_ack: an error field of INT_MIN was negated (undefined behaviour).
// The kernel sends 0 or a negated errno; anything else reads as EPROTO, a failure.
TEST(Ack, ErrorThatIsNoErrnoIsAProtocolError) {
  for (int error : {INT_MIN, -4096, 1, INT_MAX}) {
    SCOPED_TRACE(error);
    auto a = parse_ack(nlmsg_hdr(kernel_ack(error, kRequest, true).get()));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->err, EPROTO);
  }
  auto a = parse_ack(nlmsg_hdr(kernel_ack(-4095, kRequest, true).get()));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->err, 4095);
}

TEST(Ack, MalformedReplies) {
  // Not an NLMSG_ERROR, or too short for an nlmsgerr.
  nl::Msg m = kernel_ack(-EINVAL, kRequest, true);
  nlmsg_hdr(m.get())->nlmsg_type = NLMSG_DONE;
  EXPECT_FALSE(parse_ack(nlmsg_hdr(m.get())));
  m = kernel_ack(-EINVAL, kRequest, true);
  nlmsg_hdr(m.get())->nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr)) - 1;
  EXPECT_FALSE(parse_ack(nlmsg_hdr(m.get())));
  // An echoed request longer than the reply, or shorter than a header: no message read.
  m = kernel_ack(-EINVAL, kRequest, false, "unknown scheduler");
  auto* e = static_cast<nlmsgerr*>(nlmsg_data(nlmsg_hdr(m.get())));
  for (uint32_t len : {1000u, 15u, 0u, UINT32_MAX}) {
    e->msg.nlmsg_len = len;
    auto a = parse_ack(nlmsg_hdr(m.get()));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->err, EINVAL);
    EXPECT_EQ(a->detail, "");
  }
  // A message without its terminating NUL is refused by the attribute policy.
  m = kernel_ack(-EINVAL, kRequest, true, "abc");
  nlmsghdr* h = nlmsg_hdr(m.get());
  reinterpret_cast<char*>(h)[NLMSG_LENGTH(sizeof(nlmsgerr)) + NLA_HDRLEN + 3] = 'd';
  auto a = parse_ack(h);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->detail, "");
}

// The fuzzer's seeds (tests/fuzz/netlink_ack/corpus) are kernel-style acks built here;
// HD_WRITE_CORPUS=1 rewrites them (tests/unit/seed_corpus.h).
TEST(Ack, FuzzCorpusIsKernelStyleAcks) {
  const std::map<std::string, std::string> seeds = {
      {"ack_and_error",
       bytes(kernel_ack(0, kRequest, true)) + bytes(kernel_ack(-EEXIST, kRequest, false))},
      {"ext_ack_capped", bytes(kernel_ack(-EINVAL, kRequest, true, "unknown scheduler", 24))},
      {"ext_ack_echoed_odd_request",
       bytes(kernel_ack(-EOPNOTSUPP, std::string(13, '\x01'), false, "no such attribute"))},
  };
  for (const auto& [name, data] : seeds) {
    hd::corpus::expect_seed(HD_NETLINK_ACK_CORPUS_DIR, name, data);
    for (const nlmsghdr* h : split_datagram(data.data(), data.size())) {
      auto a = parse_ack(h);
      ASSERT_TRUE(a) << name;
      EXPECT_EQ(a->err == 0 || a->err == EEXIST, a->detail.empty()) << name;
    }
  }
}

}  // namespace
}  // namespace hd::ipvs
