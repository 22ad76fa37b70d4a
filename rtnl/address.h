// Virtual IP addresses on an interface, over rtnetlink (libnl-route).
// Requests are built as values (build_request) and sent on a non-blocking
// socket; the kernel's acknowledgements are read when the socket is readable,
// so the VRRP loop never waits on the kernel.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/loop.h"
#include "core/netlink.h"
#include "vrrp/packet.h"

namespace hd::vrrp {

struct VipSpec {
  IpAddress address;
  uint8_t prefix_len = 32;
  std::string label;  // IPv4 only; empty for none
  int ifindex = 0;
  friend bool operator==(const VipSpec&, const VipSpec&) = default;
};

// What the instance needs; tests substitute a fake.
class AddressManager {
 public:
  virtual ~AddressManager() = default;
  virtual void add(const VipSpec& vip) = 0;
  virtual void remove(const VipSpec& vip) = 0;
};

enum class AddrOp { add, remove };
// An RTM_NEWADDR / RTM_DELADDR request with the address, prefix and label.
nl::Msg build_request(AddrOp op, const VipSpec& vip);

class NetlinkAddressManager final : public AddressManager {
 public:
  // Returns nullptr and sets error when the netlink socket cannot be opened.
  static std::unique_ptr<NetlinkAddressManager> create(Loop& loop, std::string& error);
  ~NetlinkAddressManager() override;
  void add(const VipSpec& vip) override;
  void remove(const VipSpec& vip) override;
  uint64_t errors() const { return errors_; }

 private:
  NetlinkAddressManager(Loop& loop, nl::Sock sock);
  void send(AddrOp op, const VipSpec& vip);
  void on_readable();
  static int on_error(sockaddr_nl*, nlmsgerr* err, void* arg);
  Loop& loop_;
  nl::Sock sock_;
  std::unique_ptr<IoWatcher> watcher_;
  uint64_t errors_ = 0;
};

// Kernel events the VRRP side reacts to: a link going up or down
// (track_interfaces) and an address removed behind our back (VIP restore).
class LinkMonitor {
 public:
  struct Callbacks {
    std::function<void(int ifindex, const std::string& ifname, bool up)> link;
    std::function<void(int ifindex, const IpAddress& address, uint8_t prefix_len)> address_removed;
  };
  static std::unique_ptr<LinkMonitor> create(Loop& loop, Callbacks cb, std::string& error);
  ~LinkMonitor();

 private:
  LinkMonitor(Loop& loop, nl::Sock sock, Callbacks cb);
  static int on_msg(nl_msg* msg, void* arg);
  nl::Sock sock_;
  Callbacks cb_;
  std::unique_ptr<IoWatcher> watcher_;
};

// Current link state (IFF_UP and IFF_RUNNING), read synchronously at start-up.
bool link_is_up(const std::string& ifname);

}  // namespace hd::vrrp
