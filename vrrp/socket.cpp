// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vrrp/rules.h"

namespace hd::vrrp {
namespace {
std::string err(const char* what) { return std::string(what) + ": " + std::strerror(errno); }
}  // namespace

IpAddress Socket::multicast_group(Family f) {
  if (f == Family::v4) return IpAddress::of(224, 0, 0, 18);
  return *IpAddress::parse("ff02::12");
}

std::unique_ptr<Socket> Socket::open(Family family, const std::string& ifname, int ifindex,
                                     bool join_multicast, std::string& error) {
  int af = family == Family::v4 ? AF_INET : AF_INET6;
  int fd = ::socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtocol);
  if (fd < 0) {
    error = err("socket(IPPROTO_VRRP)");
    return nullptr;
  }
  std::unique_ptr<Socket> s(new Socket(fd, family, ifname, ifindex));
  auto fail = [&](const char* what) {
    error = err(what);
    return nullptr;
  };
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size() + 1) < 0)
    return fail("SO_BINDTODEVICE");
  // A datagram is at most the interface's MTU (the IPv4 header included, as raw IPv4 sockets
  // deliver it); a longer one is cut by recvmsg and dropped in receive(). Read once: an MTU
  // raised later takes a restart or reload of the instance.
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) return fail("SIOCGIFMTU");
  s->rx_buf_.resize(std::max<size_t>(ifr.ifr_mtu > 0 ? ifr.ifr_mtu : 0, kAdvertMtu));
  int ttl = kRequiredTtl, off = 0, on = 1;
  if (family == Family::v4) {
    int tos = IPTOS_PREC_INTERNETCONTROL;
    if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0) return fail("IP_TTL");
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0)
      return fail("IP_MULTICAST_TTL");
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off) < 0)
      return fail("IP_MULTICAST_LOOP");
    if (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) < 0) return fail("IP_TOS");
    ip_mreqn mreq{};
    mreq.imr_ifindex = ifindex;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0)
      return fail("IP_MULTICAST_IF");
    if (join_multicast) {
      inet_pton(AF_INET, "224.0.0.18", &mreq.imr_multiaddr);
      if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
        return fail("IP_ADD_MEMBERSHIP 224.0.0.18");
    }
  } else {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) < 0)
      return fail("IPV6_UNICAST_HOPS");
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) < 0)
      return fail("IPV6_MULTICAST_HOPS");
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof off) < 0)
      return fail("IPV6_MULTICAST_LOOP");
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) < 0)
      return fail("IPV6_MULTICAST_IF");
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0)
      return fail("IPV6_RECVHOPLIMIT");
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0)
      return fail("IPV6_RECVPKTINFO");
    int tclass = IPTOS_PREC_INTERNETCONTROL;
    setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass);
  }
  {
    // Adverts leave ahead of bulk traffic queued on the same interface: the precedence bits
    // above do not set the kernel's queueing priority (IPv4's IP_TOS even resets it to best
    // effort), SO_PRIORITY does. TC_PRIO_CONTROL needs CAP_NET_ADMIN (which the daemon has);
    // without it, TC_PRIO_INTERACTIVE, the highest anyone may set.
    int prio = 7;  // TC_PRIO_CONTROL
    if (setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof prio) < 0) {
      prio = 6;  // TC_PRIO_INTERACTIVE
      setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof prio);
    }
  }
  if (family == Family::v6) {
    if (join_multicast) {
      ipv6_mreq mreq{};
      inet_pton(AF_INET6, "ff02::12", &mreq.ipv6mr_multiaddr);
      mreq.ipv6mr_interface = ifindex;
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) < 0)
        return fail("IPV6_JOIN_GROUP ff02::12");
    }
  }
  return s;
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Socket::send(const IpAddress& src, const IpAddress& dst,
                         std::span<const uint8_t> payload) {
  iovec iov{const_cast<uint8_t*>(payload.data()), payload.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[kPktinfoSpace];
  sockaddr_storage to;
  msg.msg_name = &to;
  msg.msg_namelen = to_sockaddr(dst, 0, to);
  if (family_ == Family::v6) reinterpret_cast<sockaddr_in6&>(to).sin6_scope_id = ifindex_;
  msg.msg_control = control;
  msg.msg_controllen = put_pktinfo(control, src, ifindex_);
  ssize_t n = ::sendmsg(fd_, &msg, MSG_DONTWAIT);
  if (n < 0) return err("sendmsg");
  if (static_cast<size_t>(n) != payload.size()) return "sendmsg: short write";
  return "";
}

std::optional<RxPacket> parse_received(Family family, int ifindex,
                                       std::span<const uint8_t> datagram,
                                       const sockaddr_storage& from,
                                       std::span<const uint8_t> control) {
  const uint8_t* buf = datagram.data();
  const size_t n = datagram.size();
  RxPacket p;
  p.ifindex = ifindex;
  if (family == Family::v4) {
    // Raw IPv4 sockets deliver the IP header.
    if (n < 20) return std::nullopt;
    size_t ihl = (buf[0] & 0x0f) * 4u;
    size_t total = (size_t(buf[2]) << 8) | buf[3];
    if ((buf[0] >> 4) != 4 || ihl < 20 || n < ihl || buf[9] != kIpProtocol) return std::nullopt;
    if (total > n || total < ihl) total = n;
    p.meta.ttl = buf[8];
    p.meta.source = *IpAddress::from_bytes(Family::v4, std::span<const uint8_t>(buf + 12, 4));
    p.meta.destination = *IpAddress::from_bytes(Family::v4, std::span<const uint8_t>(buf + 16, 4));
    p.payload.assign(buf + ihl, buf + total);
    return p;
  }
  const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&from);
  p.meta.source = *IpAddress::from_bytes(
      Family::v6, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&s6->sin6_addr), 16));
  p.meta.ttl = 0;
  msghdr msg{};
  msg.msg_control = const_cast<uint8_t*>(control.data());
  msg.msg_controllen = control.size();
  // Whether `c` holds `n` bytes of data, within `control`: CMSG_FIRSTHDR / CMSG_NXTHDR only
  // see that the header fits (and a control buffer cut short, MSG_CTRUNC, keeps the full length).
  auto holds = [&](const cmsghdr* c, size_t need) {
    size_t at = static_cast<size_t>(reinterpret_cast<const uint8_t*>(c) - control.data());
    return c->cmsg_len >= CMSG_LEN(need) && control.size() - at >= CMSG_LEN(need);
  };
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT && holds(c, sizeof(int))) {
      int hl;
      std::memcpy(&hl, CMSG_DATA(c), sizeof hl);
      p.meta.ttl = static_cast<uint8_t>(hl);
    } else if (c->cmsg_type == IPV6_PKTINFO && holds(c, sizeof(in6_pktinfo))) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      p.meta.destination = *IpAddress::from_bytes(
          Family::v6, std::span<const uint8_t>(reinterpret_cast<uint8_t*>(&pi.ipi6_addr), 16));
    }
  }
  p.payload.assign(buf, buf + n);
  return p;
}

std::optional<RxPacket> Socket::receive() {
  uint8_t* buf = rx_buf_.data();
  alignas(cmsghdr) char control[256];
  sockaddr_storage from{};
  iovec iov{buf, rx_buf_.size()};
  msghdr msg{};
  for (;;) {
    msg = msghdr{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (msg.msg_flags & MSG_TRUNC) {
      // Longer than the link's MTU: decoding what fits would read a cut advert as another.
      ++malformed_;
      continue;
    }
    auto p = parse_received(
        family_, ifindex_, std::span<const uint8_t>(buf, static_cast<size_t>(n)), from,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(control), msg.msg_controllen));
    if (!p) {
      ++malformed_;
      continue;
    }
    return p;
  }
}

}  // namespace hd::vrrp
