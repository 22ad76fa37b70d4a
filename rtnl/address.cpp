#include "vrrp/vip.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"

namespace hd::vrrp {
namespace {

struct AddrDeleter {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};

std::string describe(AddrOp op, const VipSpec& v) {
  return std::string(op == AddrOp::add ? "add " : "remove ") + v.address.str() + "/" +
         std::to_string(v.prefix_len) + (v.label.empty() ? "" : " label " + v.label);
}

}  // namespace

nl::Msg build_request(AddrOp op, const VipSpec& vip) {
  std::unique_ptr<rtnl_addr, AddrDeleter> a(rtnl_addr_alloc());
  int af = vip.address.is_v4() ? AF_INET : AF_INET6;
  std::unique_ptr<nl_addr, NlAddrDeleter> local(
      nl_addr_build(af, vip.address.bytes().data(), vip.address.bytes().size()));
  if (!a || !local) return nullptr;
  rtnl_addr_set_ifindex(a.get(), vip.ifindex);
  rtnl_addr_set_family(a.get(), af);
  rtnl_addr_set_local(a.get(), local.get());
  rtnl_addr_set_prefixlen(a.get(), vip.prefix_len);
  if (!vip.label.empty() && vip.address.is_v4()) rtnl_addr_set_label(a.get(), vip.label.c_str());
  if (!vip.address.is_v4()) {
    // A VIP must never be tentative: the backup may still hold it for a moment.
    rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
  }
  nl_msg* msg = nullptr;
  int rc = op == AddrOp::add ? rtnl_addr_build_add_request(a.get(), NLM_F_CREATE | NLM_F_REPLACE, &msg)
                             : rtnl_addr_build_delete_request(a.get(), 0, &msg);
  if (rc < 0) return nullptr;
  return nl::Msg(msg);
}

std::unique_ptr<NetlinkAddressManager> NetlinkAddressManager::create(Loop& loop,
                                                                     std::string& error) {
  nl::Sock s(nl_socket_alloc());
  if (!s || nl_connect(s.get(), NETLINK_ROUTE) < 0 || nl_socket_set_nonblocking(s.get()) < 0) {
    error = "cannot open rtnetlink socket";
    return nullptr;
  }
  nl_socket_disable_seq_check(s.get());
  return std::unique_ptr<NetlinkAddressManager>(new NetlinkAddressManager(loop, std::move(s)));
}

NetlinkAddressManager::NetlinkAddressManager(Loop& loop, nl::Sock sock)
    : loop_(loop), sock_(std::move(sock)) {
  nl_socket_modify_err_cb(sock_.get(), NL_CB_CUSTOM, &NetlinkAddressManager::on_error, this);
  watcher_ = std::make_unique<IoWatcher>(loop_, nl_socket_get_fd(sock_.get()), EV_READ,
                                         [this](int) { on_readable(); });
  watcher_->start();
}

NetlinkAddressManager::~NetlinkAddressManager() = default;

void NetlinkAddressManager::add(const VipSpec& vip) { send(AddrOp::add, vip); }
void NetlinkAddressManager::remove(const VipSpec& vip) { send(AddrOp::remove, vip); }

void NetlinkAddressManager::send(AddrOp op, const VipSpec& vip) {
  auto msg = build_request(op, vip);
  if (!msg) {
    ++errors_;
    HD_LOG(error, "vrrp") << "cannot build netlink request: " << describe(op, vip);
    return;
  }
  int rc = nl_send_auto(sock_.get(), msg.get());
  if (rc < 0) {
    ++errors_;
    HD_LOG(error, "vrrp") << "netlink " << describe(op, vip) << ": " << nl_geterror(rc);
    return;
  }
  HD_LOG(debug, "vrrp") << "netlink " << describe(op, vip);
}

int NetlinkAddressManager::on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* self = static_cast<NetlinkAddressManager*>(arg);
  // Adding an address that is there, or removing one that is gone, is fine.
  if (err->error == -EEXIST || err->error == -EADDRNOTAVAIL || err->error == 0) return NL_STOP;
  ++self->errors_;
  int type = err->msg.nlmsg_type;
  HD_LOG(error, "vrrp") << "kernel refused " << (type == RTM_NEWADDR ? "address add" : "address removal")
                        << ": " << std::strerror(-err->error);
  return NL_STOP;
}

void NetlinkAddressManager::on_readable() {
  for (int i = 0; i < 64; ++i) {
    int rc = nl_recvmsgs_default(sock_.get());
    if (rc == -NLE_AGAIN) return;
    if (rc < 0 && rc != -NLE_AGAIN) {
      // Errors were reported by on_error; anything else is logged once.
      if (rc != -NLE_EXIST && rc != -NLE_NOADDR) HD_LOG(debug, "vrrp") << "netlink: " << nl_geterror(rc);
    }
  }
}

std::unique_ptr<LinkMonitor> LinkMonitor::create(Loop& loop, Callbacks cb, std::string& error) {
  nl::Sock s(nl_socket_alloc());
  if (!s) {
    error = "cannot allocate netlink socket";
    return nullptr;
  }
  nl_socket_disable_seq_check(s.get());
  if (nl_connect(s.get(), NETLINK_ROUTE) < 0 || nl_socket_set_nonblocking(s.get()) < 0 ||
      nl_socket_add_memberships(s.get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                0) < 0) {
    error = "cannot subscribe to rtnetlink link and address events";
    return nullptr;
  }
  return std::unique_ptr<LinkMonitor>(new LinkMonitor(loop, std::move(s), std::move(cb)));
}

LinkMonitor::LinkMonitor(Loop& loop, nl::Sock sock, Callbacks cb)
    : sock_(std::move(sock)), cb_(std::move(cb)) {
  nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, &LinkMonitor::on_msg, this);
  watcher_ = std::make_unique<IoWatcher>(loop, nl_socket_get_fd(sock_.get()), EV_READ, [this](int) {
    for (int i = 0; i < 64; ++i)
      if (nl_recvmsgs_default(sock_.get()) < 0) break;
  });
  watcher_->start();
}

LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::on_msg(nl_msg* msg, void* arg) {
  auto* self = static_cast<LinkMonitor*>(arg);
  // libnl's cache parsers turn the message into a route/link or route/addr object.
  nl_msg_parse(
      msg,
      [](nl_object* obj, void* a) {
        auto* me = static_cast<LinkMonitor*>(a);
        int type = nl_object_get_msgtype(obj);
        std::string kind = nl_object_get_type(obj);
        if (kind == "route/link" && (type == RTM_NEWLINK || type == RTM_DELLINK)) {
          auto* link = reinterpret_cast<rtnl_link*>(obj);
          unsigned flags = rtnl_link_get_flags(link);
          bool up = type == RTM_NEWLINK && (flags & IFF_UP) && (flags & IFF_RUNNING);
          const char* name = rtnl_link_get_name(link);
          if (me->cb_.link) me->cb_.link(rtnl_link_get_ifindex(link), name ? name : "", up);
        } else if (kind == "route/addr" && type == RTM_DELADDR) {
          auto* addr = reinterpret_cast<rtnl_addr*>(obj);
          nl_addr* local = rtnl_addr_get_local(addr);
          if (!local) return;
          int fam = nl_addr_get_family(local);
          size_t n = fam == AF_INET ? 4 : 16;
          if ((fam != AF_INET && fam != AF_INET6) || nl_addr_get_len(local) != n) return;
          auto ip = IpAddress::from_bytes(
              fam == AF_INET ? Family::v4 : Family::v6,
              std::span<const uint8_t>(static_cast<const uint8_t*>(nl_addr_get_binary_addr(local)), n));
          if (ip && me->cb_.address_removed)
            me->cb_.address_removed(rtnl_addr_get_ifindex(addr), *ip,
                                    static_cast<uint8_t>(rtnl_addr_get_prefixlen(addr)));
        }
      },
      self);
  return NL_OK;
}

bool link_is_up(const std::string& ifname) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  bool up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
  ::close(fd);
  return up;
}

}  // namespace hd::vrrp
