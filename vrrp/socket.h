// SPDX-License-Identifier: GPL-2.0-or-later
// Raw IPPROTO_VRRP sockets: one per (interface, address family), shared by the
// instances on that interface, which the engine picks by VRID. TTL / hop limit
// 255 on send; the receive side reports the IP header fields decode() checks.
#pragma once
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vrrp/packet.h"

namespace hd::vrrp {

struct RxPacket {
  RxMeta meta;
  int ifindex = 0;
  std::vector<uint8_t> payload;  // the VRRP message (IP header stripped)
};

// The receive side without the socket (pure; unit-tested, and fuzzed by tests/fuzz/vrrp_socket):
// one datagram as recvmsg() returned it on a `family` socket, made into the RxPacket the engine
// decodes, or nullopt when it is not VRRP over IP (Socket::receive counts it as malformed).
// v4: `datagram` starts with the IPv4 header (raw IPv4 sockets deliver it); TTL, source and
//     destination come from it, the payload is what follows it, up to the total length.
// v6: `datagram` is the VRRP message; the source is `from` (msg_name, a sockaddr_in6), hop limit
//     and destination come from the IPV6_HOPLIMIT / IPV6_PKTINFO messages in `control` (the
//     msg_control bytes recvmsg filled, aligned for cmsghdr); one that is cut short is ignored.
std::optional<RxPacket> parse_received(Family family, int ifindex,
                                       std::span<const uint8_t> datagram,
                                       const sockaddr_storage& from,
                                       std::span<const uint8_t> control);

// Where an instance's adverts go: a Socket, or a recorder in tests.
class AdvertSender {
 public:
  virtual ~AdvertSender() = default;
  // Sends `payload` from `src` to `dst` (the group, or a unicast peer).
  // Returns "" on success, else the error.
  virtual std::string send(const IpAddress& src, const IpAddress& dst,
                           std::span<const uint8_t> payload) = 0;
};

// A socket the engine reads adverts from and instances send on: a Socket, or a
// fake in tests (whose fd() is a pipe the test makes readable).
class Channel : public AdvertSender {
 public:
  virtual int fd() const = 0;
  virtual Family family() const = 0;
  virtual const std::string& ifname() const = 0;
  // One datagram, or nullopt when none is waiting.
  virtual std::optional<RxPacket> receive() = 0;
  virtual uint64_t malformed() const = 0;
};

class Socket final : public Channel {
 public:
  // Opens the socket on `ifname`; joins 224.0.0.18 / ff02::12 when `join_multicast`.
  // Returns nullptr and sets `error` on failure.
  static std::unique_ptr<Socket> open(Family family, const std::string& ifname, int ifindex,
                                      bool join_multicast, std::string& error);
  ~Socket() override;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const override { return fd_; }
  Family family() const override { return family_; }
  const std::string& ifname() const override { return ifname_; }
  std::string send(const IpAddress& src, const IpAddress& dst,
                   std::span<const uint8_t> payload) override;
  // One datagram, or nullopt when none is waiting (or it was not VRRP/IP at all, or
  // longer than the receive buffer: those are counted in malformed(), never decoded cut).
  std::optional<RxPacket> receive() override;
  uint64_t malformed() const override { return malformed_; }
  // Bytes of the receive buffer: the interface's MTU when open() ran (SIOCGIFMTU), at least
  // vrrp::kAdvertMtu, so an advert the loader accepts is whole even when it came in fragments.
  size_t receive_buffer_size() const { return rx_buf_.size(); }

  static IpAddress multicast_group(Family f);

 private:
  Socket(int fd, Family f, std::string ifname, int ifindex)
      : fd_(fd), family_(f), ifname_(std::move(ifname)), ifindex_(ifindex) {}
  int fd_;
  Family family_;
  std::string ifname_;
  int ifindex_;
  std::vector<uint8_t> rx_buf_;
  uint64_t malformed_ = 0;
};

}  // namespace hd::vrrp
