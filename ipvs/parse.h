// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel's IPVS dump replies (IPVS_CMD_NEW_SERVICE / IPVS_CMD_NEW_DEST
// messages, as the GET dumps return them) parsed back into model values.
// Pure and defensive: input is validated against the policies in policy.h, a
// malformed message gives an Error, never a crash (fuzzed: tests/fuzz/ipvs).
#pragma once
#include <linux/netlink.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ipvs/model.h"
#include "ipvs/result.h"

namespace hd::ipvs {

// The netlink messages in one received datagram of `len` bytes; stops at the
// first that does not fit (NLMSG_OK).
std::vector<const nlmsghdr*> split_datagram(const void* buf, size_t len);

// An NLMSG_ERROR reply (an ack when `err` is 0), as split_datagram gives it: the errno the
// kernel answered, and for a failure the message of its extended ack (NLMSGERR_ATTR_MSG,
// present when the reply has NLM_F_ACK_TLVS; "" otherwise). An error field that is no negated
// errno (positive, below -4095) reads as EPROTO. nullopt when `msg` is not an NLMSG_ERROR or too
// short to hold an nlmsgerr. Fuzzed: tests/fuzz/netlink_ack.
struct AckReply {
  int err = 0;
  std::string detail;
};
std::optional<AckReply> parse_ack(const nlmsghdr* msg);

// A service reply: genl header, then IPVS_CMD_ATTR_SERVICE. The service has no
// destinations (they come from a separate dump). The kernel's internal
// IP_VS_SVC_F_HASHED bit is dropped; a full-length netmask becomes nullopt.
Result<Service> parse_service_reply(const nlmsghdr* msg);

// A destination reply: genl header, then IPVS_CMD_ATTR_DEST. `service_family`
// is the address family when the reply carries none (kernels before 3.18).
Result<Destination> parse_dest_reply(const nlmsghdr* msg, Family service_family);

}  // namespace hd::ipvs
