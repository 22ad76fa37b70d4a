// SPDX-License-Identifier: GPL-2.0-or-later
// A TUN interface only this process holds: created (not persistent) and brought up by
// open(), gone with its addresses and routes when the descriptor closes, whether by the
// destructor or by the process dying (SIGKILL included). The anycast announcements live on
// one (docs/anycast.md), so a dead daemon announces nothing.
#pragma once
#include <memory>
#include <string>

namespace hd::rtnl {

class TunDevice {
 public:
  // Creates interface `name` and sets it up; nullptr and `error` (one line) when it cannot:
  // no /dev/net/tun, no CAP_NET_ADMIN, or `name` taken by an interface that is not a TUN
  // device free to attach.
  static std::unique_ptr<TunDevice> open(const std::string& name, std::string& error);
  ~TunDevice();
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }

 private:
  TunDevice(int fd, std::string name, int ifindex) : fd_(fd), name_(std::move(name)), ifindex_(ifindex) {}
  int fd_;
  std::string name_;
  int ifindex_;
};

}  // namespace hd::rtnl
