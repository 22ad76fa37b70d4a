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
  // After events were lost (the socket's buffer overflowed: ENOBUFS), every link has been
  // reported again through `link` and this is called: whoever owns addresses puts back
  // any that may have been removed unseen.
  std::function<void()> resynced;
};

// A subscription to link and address events; dropping it ends the events.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
};

class LinkMonitor final : public LinkEvents {
 public:
  using Callbacks = LinkCallbacks;
  // `rcvbuf` > 0 sets the socket's receive buffer (tests make it overflow on purpose).
  static std::unique_ptr<LinkMonitor> create(Loop& loop, Callbacks cb, std::string& error,
                                             int rcvbuf = 0);
  ~LinkMonitor() override;
  uint64_t overflows() const { return overflows_; }  // ENOBUFS: events lost
  uint64_t resyncs() const { return resyncs_; }      // link dumps completed after a loss

 private:
  LinkMonitor(Loop& loop, nl::Sock sock, nl::Sock dump, Callbacks cb, int rcvbuf);
  static int on_msg(nl_msg* msg, void* arg);
  static int on_finish(nl_msg* msg, void* arg);
  void on_readable();
  void request_resync();
  nl::Sock sock_;  // subscribed to link and address events
  nl::Sock dump_;  // link dumps after lost events
  Callbacks cb_;
  int rcvbuf_;      // set by the caller (kept), or 0 (grows on overflow)
  int buffer_ = 0;  // what it grew to
  std::unique_ptr<IoWatcher> watcher_;
  std::unique_ptr<IoWatcher> dump_watcher_;
  Timer retry_;            // a dump request the socket could not take yet
  bool dumping_ = false;   // a link dump is in flight
  bool dump_again_ = false;  // events were lost during the dump: one more after it
  uint64_t overflows_ = 0, resyncs_ = 0;
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
