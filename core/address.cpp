// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace hd {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1) return std::nullopt;
    return from_v4(v4);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  return from_v6(v6);
}

IpAddress IpAddress::from_v4(const in_addr& a) {
  IpAddress r;
  r.family_ = Family::v4;
  std::memcpy(r.bytes_.data(), &a, 4);
  return r;
}

IpAddress IpAddress::from_v6(const in6_addr& a) {
  IpAddress r;
  r.family_ = Family::v6;
  std::memcpy(r.bytes_.data(), &a, 16);
  return r;
}

IpAddress IpAddress::of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress r;
  r.family_ = Family::v4;
  r.bytes_[0] = a, r.bytes_[1] = b, r.bytes_[2] = c, r.bytes_[3] = d;
  return r;
}

std::optional<IpAddress> IpAddress::from_bytes(Family family, std::span<const uint8_t> bytes) {
  if (bytes.size() != (family == Family::v4 ? 4u : 16u)) return std::nullopt;
  IpAddress r;
  r.family_ = family;
  std::memcpy(r.bytes_.data(), bytes.data(), bytes.size());
  return r;
}

std::ostream& operator<<(std::ostream& os, const IpAddress& a) { return os << a.str(); }

in_addr IpAddress::v4() const {
  in_addr a{};
  std::memcpy(&a, bytes_.data(), 4);
  return a;
}

in6_addr IpAddress::v6() const {
  in6_addr a{};
  std::memcpy(&a, bytes_.data(), 16);
  return a;
}

bool IpAddress::is_unspecified() const {
  for (size_t i = 0; i < size(); ++i)
    if (bytes_[i]) return false;
  return true;
}

bool IpAddress::is_multicast() const {
  return is_v4() ? (bytes_[0] & 0xf0) == 0xe0 : bytes_[0] == 0xff;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(af(), bytes_.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int max = addr->is_v4() ? 32 : 128;
  int len = max;
  if (slash != std::string_view::npos) {
    auto rest = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), len);
    if (rest.empty() || ec != std::errc() || p != rest.data() + rest.size() || len < 0 || len > max)
      return std::nullopt;
  }
  return IpPrefix{*addr, static_cast<uint8_t>(len)};
}

std::string IpPrefix::str() const { return address.str() + "/" + std::to_string(length); }

socklen_t to_sockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = a.v4();
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_addr = a.v6();
  return sizeof(sockaddr_in6);
}

size_t put_pktinfo(void* control, const IpAddress& source, int ifindex) {
  std::memset(control, 0, kPktinfoSpace);
  auto* c = static_cast<cmsghdr*>(control);
  if (source.is_v4()) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_ifindex = ifindex;
    pi.ipi_spec_dst = source.v4();
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof(in_pktinfo));
  }
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo pi{};
  pi.ipi6_ifindex = static_cast<unsigned>(ifindex);
  pi.ipi6_addr = source.v6();
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof(in6_pktinfo));
}

std::optional<IpAddress> from_sockaddr(const sockaddr_storage& s) {
  if (s.ss_family == AF_INET) return IpAddress::from_v4(reinterpret_cast<const sockaddr_in&>(s).sin_addr);
  if (s.ss_family == AF_INET6)
    return IpAddress::from_v6(reinterpret_cast<const sockaddr_in6&>(s).sin6_addr);
  return std::nullopt;
}

}  // namespace hd
