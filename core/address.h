// SPDX-License-Identifier: GPL-2.0-or-later
// IP addresses and prefixes as values (IPv4 or IPv6).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

namespace hd {

enum class Family : uint8_t { v4 = 4, v6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress from_v4(const in_addr& a);
  static IpAddress from_v6(const in6_addr& a);
  // a.b.c.d
  static IpAddress of(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  // `bytes` must hold exactly 4 (v4) or 16 (v6) bytes, in network order.
  static std::optional<IpAddress> from_bytes(Family family, std::span<const uint8_t> bytes);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::v4; }
  int af() const { return is_v4() ? AF_INET : AF_INET6; }
  // Raw bytes in network order: 4 for IPv4, 16 for IPv6.
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size()}; }
  in_addr v4() const;
  in6_addr v6() const;
  bool is_unspecified() const;
  bool is_multicast() const;
  std::string str() const;

  // Orders by family, then numerically (the VRRP tie-break compares numerically).
  auto operator<=>(const IpAddress&) const = default;

 private:
  Family family_ = Family::v4;
  std::array<uint8_t, 16> bytes_{};
};

std::ostream& operator<<(std::ostream& os, const IpAddress& a);

// The socket address of a:port (AF_INET or AF_INET6); returns its length.
socklen_t to_sockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& out);
// The address in an AF_INET / AF_INET6 socket address; nullopt for any other family.
std::optional<IpAddress> from_sockaddr(const sockaddr_storage& s);

// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
inline constexpr size_t kPktinfoSpace = CMSG_SPACE(sizeof(in6_pktinfo));
// Writes into `control` (kPktinfoSpace bytes, cmsghdr-aligned) the control message that
// makes sendmsg() use `source` (and interface `ifindex`, 0: any); returns its length.
size_t put_pktinfo(void* control, const IpAddress& source, int ifindex = 0);

struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;
  static std::optional<IpPrefix> parse(std::string_view text);  // "a/n" or "a" (host)
  std::string str() const;
  auto operator<=>(const IpPrefix&) const = default;
};

}  // namespace hd
