// SPDX-License-Identifier: GPL-2.0-or-later
// Addresses on an interface, over rtnetlink (libnl-route): the VRRP side's
// VIPs and the real-server role's lo/tunl0 VIPs. Requests are built as values
// (build_request) and sent on a non-blocking socket; the kernel's
// acknowledgements are read when the socket is readable, so no loop ever
// waits on the kernel.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/loop.h"
#include "core/netlink.h"
#include "core/address.h"

namespace hd::rtnl {

struct AddressSpec {
  IpAddress address;
  uint8_t prefix_len = 32;
  std::string label;  // IPv4 only; empty for none
  int ifindex = 0;
  friend bool operator==(const AddressSpec&, const AddressSpec&) = default;
  std::string str() const;  // "192.0.2.1/24 label eth0:1"
};

enum class AddrOp { add, remove };

// The kernel's answer to one request: err 0 when it was applied (or already so: adding an
// address that is there, removing one that is gone), else a positive errno.
struct AddressResult {
  AddrOp op;
  AddressSpec spec;
  int err = 0;
};

// What the owners of addresses need; tests substitute FakeAddressManager.
class AddressManager {
 public:
  virtual ~AddressManager() = default;
  virtual void add(const AddressSpec& vip) = 0;
  virtual void remove(const AddressSpec& vip) = 0;
  virtual uint64_t errors() const { return 0; }  // requests the kernel refused
  // Called with every answer, on the loop that reads them (synchronously for a request
  // that could not even be sent).
  void on_result(std::function<void(const AddressResult&)> f) { listener_ = std::move(f); }

 protected:
  void report(const AddressResult& r) {
    if (listener_) listener_(r);
  }

 private:
  std::function<void(const AddressResult&)> listener_;
};
// An RTM_NEWADDR / RTM_DELADDR request with the address, prefix and label.
nl::Msg build_request(AddrOp op, const AddressSpec& vip);

class NetlinkAddressManager final : public AddressManager {
 public:
  // Returns nullptr and sets error when the netlink socket cannot be opened. `log_tag` names
  // the owner in log lines ("vrrp", "realserver").
  static std::unique_ptr<NetlinkAddressManager> create(Loop& loop, std::string& error,
                                                       std::string log_tag = "rtnl");
  ~NetlinkAddressManager() override;
  void add(const AddressSpec& vip) override;
  void remove(const AddressSpec& vip) override;
  uint64_t errors() const override { return errors_; }
  // Any other rtnetlink request on the same socket (routes: rtnl/route.h), answered the same
  // way: `done` gets 0 (applied, or already so) or a positive errno, from the loop.
  void request(nl::Msg msg, std::string what, std::function<void(int err)> done);

 private:
  NetlinkAddressManager(Loop& loop, nl::Sock sock, std::string log_tag);
  void send(AddrOp op, const AddressSpec& vip);
  void on_readable();
  static int on_error(sockaddr_nl*, nlmsgerr* err, void* arg);
  static int on_ack(nl_msg* msg, void* arg);
  void answer(uint32_t seq, int err);
  Loop& loop_;
  nl::Sock sock_;
  std::unique_ptr<IoWatcher> watcher_;
  std::string tag_;
  // Requests sent and not yet answered, by netlink sequence number (bounded: the oldest
  // are forgotten past 4,096, which only loses their answer's report).
  struct Pending {
    std::string what;
    std::function<void(int)> done;
  };
  std::map<uint32_t, Pending> pending_;
  uint64_t errors_ = 0;
};

}  // namespace hd::rtnl
