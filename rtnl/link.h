// SPDX-License-Identifier: GPL-2.0-or-later
// Link state over rtnetlink: events (a link going up or down, an address
// removed behind our back) on a loop, and a one-off read of a link's state.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/address.h"
#include "core/loop.h"
#include "core/netlink.h"

namespace hd::rtnl {

// Kernel events: a link going up or down (VRRP track_interfaces) and an address
// removed behind our back (VIP restore).
struct LinkCallbacks {
  std::function<void(int ifindex, const std::string& ifname, bool up)> link;
  std::function<void(int ifindex, const IpAddress& address, uint8_t prefix_len)> address_removed;
};

// A subscription to link and address events; dropping it ends the events.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
};

class LinkMonitor final : public LinkEvents {
 public:
  using Callbacks = LinkCallbacks;
  static std::unique_ptr<LinkMonitor> create(Loop& loop, Callbacks cb, std::string& error);
  ~LinkMonitor() override;

 private:
  LinkMonitor(Loop& loop, nl::Sock sock, Callbacks cb);
  static int on_msg(nl_msg* msg, void* arg);
  nl::Sock sock_;
  Callbacks cb_;
  std::unique_ptr<IoWatcher> watcher_;
};

// Current link state (IFF_UP and IFF_RUNNING), read synchronously at start-up.
bool link_is_up(const std::string& ifname);

// What the VRRP side asks about links; tests substitute their own.
class LinkState {
 public:
  virtual ~LinkState() = default;
  virtual bool is_up(const std::string& ifname) const = 0;
};

class KernelLinkState final : public LinkState {
 public:
  bool is_up(const std::string& ifname) const override { return link_is_up(ifname); }
};

}  // namespace hd::rtnl
