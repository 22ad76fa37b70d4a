// SPDX-License-Identifier: GPL-2.0-or-later
#include "rtnl/link.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/rtnl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"

namespace hd::rtnl {

std::unique_ptr<LinkMonitor> LinkMonitor::create(Loop& loop, Callbacks cb, std::string& error,
                                                 int rcvbuf) {
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
  if (rcvbuf > 0) nl_socket_set_buffer_size(s.get(), rcvbuf, 0);
  // Dumps (the resync after lost events) run on a socket of their own: a dump into the
  // overflowing event socket could never make progress.
  nl::Sock d(nl_socket_alloc());
  if (!d || nl_connect(d.get(), NETLINK_ROUTE) < 0 || nl_socket_set_nonblocking(d.get()) < 0) {
    error = "cannot open an rtnetlink socket for link dumps";
    return nullptr;
  }
  nl_socket_disable_seq_check(d.get());
  return std::unique_ptr<LinkMonitor>(
      new LinkMonitor(loop, std::move(s), std::move(d), std::move(cb), rcvbuf));
}

LinkMonitor::LinkMonitor(Loop& loop, nl::Sock sock, nl::Sock dump, Callbacks cb, int rcvbuf)
    : sock_(std::move(sock)),
      dump_(std::move(dump)),
      cb_(std::move(cb)),
      rcvbuf_(rcvbuf),
      retry_(loop, [this] { request_resync(); }) {
  nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, &LinkMonitor::on_msg, this);
  nl_socket_modify_cb(dump_.get(), NL_CB_VALID, NL_CB_CUSTOM, &LinkMonitor::on_msg, this);
  nl_socket_modify_cb(dump_.get(), NL_CB_FINISH, NL_CB_CUSTOM, &LinkMonitor::on_finish, this);
  watcher_ = std::make_unique<IoWatcher>(loop, nl_socket_get_fd(sock_.get()), EV_READ,
                                         [this](int) { on_readable(); });
  watcher_->start();
  dump_watcher_ = std::make_unique<IoWatcher>(loop, nl_socket_get_fd(dump_.get()), EV_READ,
                                              [this](int) {
                                                for (int i = 0; i < 64; ++i)
                                                  if (nl_recvmsgs_default(dump_.get()) < 0) break;
                                              });
  dump_watcher_->start();
}

void LinkMonitor::on_readable() {
  for (int i = 0; i < 64; ++i) {
    int rc = nl_recvmsgs_default(sock_.get());
    if (rc == -NLE_NOMEM) {
      // ENOBUFS: the kernel dropped events for us. Whatever they said is unknown now: ask
      // for every link again, and tell the owners of addresses once that is done. The
      // buffer doubles (up to 8 MiB, or once when a test set it) so a burst of that size
      // fits next time.
      ++overflows_;
      if (!dumping_ && !retry_.active())
        HD_LOG(warning, "rtnl") << "link and address events lost (receive buffer overflow); "
                                << "re-reading every link";
      if (rcvbuf_ == 0 && buffer_ < (8 << 20)) {
        buffer_ = buffer_ ? buffer_ * 2 : (1 << 20);
        nl_socket_set_buffer_size(sock_.get(), buffer_, 0);
      }
      request_resync();
      continue;
    }
    if (rc < 0) break;  // nothing more to read now (or an error already reported)
  }
}

void LinkMonitor::request_resync() {
  if (dumping_) {
    dump_again_ = true;
    return;
  }
  int rc = nl_rtgen_request(dump_.get(), RTM_GETLINK, AF_UNSPEC, NLM_F_DUMP);
  if (rc < 0) {
    // The socket could not take it now: try again shortly, never blocking the loop.
    retry_.start(Millis(100));
    return;
  }
  dumping_ = true;
}

int LinkMonitor::on_finish(nl_msg*, void* arg) {
  auto* self = static_cast<LinkMonitor*>(arg);
  if (!self->dumping_) return NL_OK;
  self->dumping_ = false;
  if (self->dump_again_) {
    self->dump_again_ = false;
    self->request_resync();
    return NL_OK;
  }
  ++self->resyncs_;
  if (self->cb_.resynced) self->cb_.resynced();
  return NL_OK;
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

}  // namespace hd::rtnl
