// IP addresses and prefixes as values (IPv4 or IPv6).
#pragma once
#include <netinet/in.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
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

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::v4; }
  int af() const { return is_v4() ? AF_INET : AF_INET6; }
  // Raw bytes in network order: 4 for IPv4, 16 for IPv6.
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
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

struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;
  static std::optional<IpPrefix> parse(std::string_view text);  // "a/n" or "a" (host)
  std::string str() const;
  auto operator<=>(const IpPrefix&) const = default;
};

}  // namespace hd
