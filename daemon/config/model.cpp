// SPDX-License-Identifier: GPL-2.0-or-later
// The model's own functions: names of its enums, a virtual server's key.
#include "daemon/config/model.h"

namespace hd::config {

const char* to_string(Forwarding f) {
  switch (f) {
    case Forwarding::nat: return "nat";
    case Forwarding::dr: return "dr";
    case Forwarding::tun: return "tun";
  }
  return "?";
}
const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp: return "tcp";
    case Protocol::udp: return "udp";
    case Protocol::sctp: return "sctp";
  }
  return "?";
}
const char* to_string(Dataplane d) { return d == Dataplane::none ? "none" : "kernel"; }

std::string VirtualServer::key() const {
  if (fwmark) return "fwmark " + std::to_string(fwmark) + (family_ == Family::v6 ? " inet6" : " inet");
  std::string a = address ? address->str() : "?";
  if (address && !address->is_v4()) a = "[" + a + "]";
  return std::string(to_string(protocol)) + " " + a + ":" + std::to_string(port);
}


}  // namespace hd::config
