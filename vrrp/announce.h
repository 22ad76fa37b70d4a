// SPDX-License-Identifier: GPL-2.0-or-later
// Gratuitous ARP (IPv4) and unsolicited Neighbor Advertisements (IPv6) sent on
// becoming Master, so switches and neighbours learn the VIP's new MAC at once.
// ARP goes out on an AF_PACKET socket; NA on a raw ICMPv6 socket (the kernel
// fills the checksum) with hop limit 255 to ff02::1, Override flag set.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop.h"
#include "vrrp/packet.h"

namespace hd::vrrp {

using Mac = std::array<uint8_t, 6>;

// The 28-byte ARP request with sender = target = `ip` (RFC 5227 "ARP Announcement").
std::vector<uint8_t> build_garp(const Mac& mac, const IpAddress& ip);
// ICMPv6 type 136, flags Override (and Router = false, Solicited = false), target `ip`,
// with a Target Link-Layer Address option. Checksum left 0 for the kernel.
std::vector<uint8_t> build_unsolicited_na(const Mac& mac, const IpAddress& ip);

// The MAC of an interface, or nullopt.
std::optional<Mac> interface_mac(const std::string& ifname);

// What an instance asks of its announcer; tests record the calls.
class Announcements {
 public:
  virtual ~Announcements() = default;
  // Starts a burst of `count` rounds, `spacing` apart, each announcing every
  // address in `vips`; the first round goes out at once. Replaces any burst running.
  virtual void burst(const std::vector<IpAddress>& vips, int count, Duration spacing) = 0;
  virtual void cancel() = 0;
  virtual uint64_t sent() const = 0;  // packets sent so far
};

class Announcer final : public Announcements {
 public:
  Announcer(Loop& loop, std::string ifname, int ifindex);
  ~Announcer() override;
  void burst(const std::vector<IpAddress>& vips, int count, Duration spacing) override;
  void cancel() override;
  uint64_t sent() const override { return sent_; }
  uint64_t errors() const { return errors_; }

 private:
  void round();
  std::string ifname_;
  int ifindex_;
  int arp_fd_ = -1;
  int icmp6_fd_ = -1;
  std::vector<IpAddress> vips_;
  std::optional<Mac> mac_;  // looked up when a burst starts
  int left_ = 0;
  Duration spacing_{};
  Timer timer_;
  uint64_t sent_ = 0;
  uint64_t errors_ = 0;
};

}  // namespace hd::vrrp
