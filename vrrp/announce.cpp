// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/announce.h"

#include <arpa/inet.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace hd::vrrp {

std::vector<uint8_t> build_garp(const Mac& mac, const IpAddress& ip) {
  std::vector<uint8_t> p(28, 0);
  p[0] = 0x00, p[1] = 0x01;  // hardware type Ethernet
  p[2] = 0x08, p[3] = 0x00;  // protocol IPv4
  p[4] = 6, p[5] = 4;        // address lengths
  p[6] = 0x00, p[7] = 0x01;  // request
  std::memcpy(&p[8], mac.data(), 6);
  std::memcpy(&p[14], ip.bytes().data(), 4);
  // target hardware address stays zero; target protocol address = sender's
  std::memcpy(&p[24], ip.bytes().data(), 4);
  return p;
}

std::vector<uint8_t> build_unsolicited_na(const Mac& mac, const IpAddress& ip) {
  std::vector<uint8_t> p(32, 0);
  p[0] = ND_NEIGHBOR_ADVERT;  // 136
  p[1] = 0;                   // code
  // p[2..3] checksum: computed by the kernel for ICMPv6 raw sockets
  p[4] = 0x20;  // flags: R=0 S=0 O=1
  std::memcpy(&p[8], ip.bytes().data(), 16);
  p[24] = ND_OPT_TARGET_LINKADDR;  // option type 2
  p[25] = 1;                       // length in units of 8 bytes
  std::memcpy(&p[26], mac.data(), 6);
  return p;
}

std::optional<Mac> interface_mac(const std::string& ifname) {
  // One ioctl on the interface, not a getifaddrs() dump of every interface and address.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFHWADDR, &ifr);
  ::close(fd);
  if (rc < 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) return std::nullopt;
  Mac m;
  std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
  return m;
}

Announcer::Announcer(Loop& loop, std::string ifname, int ifindex)
    : ifname_(std::move(ifname)), ifindex_(ifindex), timer_(loop, [this] { round(); }) {}

Announcer::~Announcer() {
  if (arp_fd_ >= 0) ::close(arp_fd_);
  if (icmp6_fd_ >= 0) ::close(icmp6_fd_);
}

void Announcer::burst(const std::vector<IpAddress>& vips, int count, Duration spacing) {
  vips_ = vips;
  left_ = count;
  spacing_ = spacing;
  timer_.stop();
  mac_ = interface_mac(ifname_);  // once per burst, not per round
  if (left_ > 0) round();
}

void Announcer::cancel() {
  left_ = 0;
  timer_.stop();
}

void Announcer::round() {
  if (left_ <= 0) return;
  --left_;
  const auto& mac = mac_;
  if (!mac) {
    ++errors_;
    HD_LOG(warning, "vrrp") << "no MAC address on " << ifname_ << ": gratuitous ARP skipped";
  } else {
    for (auto& ip : vips_) {
      if (ip.is_v4()) {
        if (arp_fd_ < 0) arp_fd_ = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
        auto pkt = build_garp(*mac, ip);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_protocol = htons(ETH_P_ARP);
        to.sll_ifindex = ifindex_;
        to.sll_halen = 6;
        std::memset(to.sll_addr, 0xff, 6);
        if (arp_fd_ < 0 || ::sendto(arp_fd_, pkt.data(), pkt.size(), MSG_DONTWAIT,
                                    reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
          ++errors_;
          HD_LOG(warning, "vrrp") << "gratuitous ARP for " << ip << " on " << ifname_ << ": "
                                  << std::strerror(errno);
        } else {
          ++sent_;
        }
      } else {
        if (icmp6_fd_ < 0) {
          icmp6_fd_ = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
          int hops = 255;
          if (icmp6_fd_ >= 0) {
            setsockopt(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
            setsockopt(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex_, sizeof ifindex_);
          }
        }
        auto pkt = build_unsolicited_na(*mac, ip);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
        to.sin6_scope_id = ifindex_;
        if (icmp6_fd_ < 0 || ::sendto(icmp6_fd_, pkt.data(), pkt.size(), MSG_DONTWAIT,
                                      reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
          ++errors_;
          HD_LOG(warning, "vrrp") << "unsolicited NA for " << ip << " on " << ifname_ << ": "
                                  << std::strerror(errno);
        } else {
          ++sent_;
        }
      }
    }
  }
  if (left_ > 0) timer_.start(spacing_);
}

}  // namespace hd::vrrp
