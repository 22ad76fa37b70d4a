// SPDX-License-Identifier: GPL-2.0-or-later
#include "rtnl/address.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"

namespace hd::rtnl {
namespace {

struct AddrDeleter {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};

std::string describe(AddrOp op, const AddressSpec& v) {
  return std::string(op == AddrOp::add ? "add " : "remove ") + v.str();
}

}  // namespace

std::string AddressSpec::str() const {
  return address.str() + "/" + std::to_string(prefix_len) + (label.empty() ? "" : " label " + label);
}

nl::Msg build_request(AddrOp op, const AddressSpec& vip) {
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
                                                                     std::string& error,
                                                                     std::string log_tag) {
  nl::Sock s(nl_socket_alloc());
  if (!s || nl_connect(s.get(), NETLINK_ROUTE) < 0 || nl_socket_set_nonblocking(s.get()) < 0) {
    error = "cannot open rtnetlink socket";
    return nullptr;
  }
  nl_socket_disable_seq_check(s.get());
  return std::unique_ptr<NetlinkAddressManager>(
      new NetlinkAddressManager(loop, std::move(s), std::move(log_tag)));
}

NetlinkAddressManager::NetlinkAddressManager(Loop& loop, nl::Sock sock, std::string log_tag)
    : loop_(loop), sock_(std::move(sock)), tag_(std::move(log_tag)) {
  nl_socket_modify_err_cb(sock_.get(), NL_CB_CUSTOM, &NetlinkAddressManager::on_error, this);
  nl_socket_modify_cb(sock_.get(), NL_CB_ACK, NL_CB_CUSTOM, &NetlinkAddressManager::on_ack, this);
  watcher_ = std::make_unique<IoWatcher>(loop_, nl_socket_get_fd(sock_.get()), EV_READ,
                                         [this](int) { on_readable(); });
  watcher_->start();
}

NetlinkAddressManager::~NetlinkAddressManager() = default;

void NetlinkAddressManager::add(const AddressSpec& vip) { send(AddrOp::add, vip); }
void NetlinkAddressManager::remove(const AddressSpec& vip) { send(AddrOp::remove, vip); }

void NetlinkAddressManager::send(AddrOp op, const AddressSpec& vip) {
  request(build_request(op, vip), describe(op, vip),
          [this, op, vip](int err) { report({op, vip, err}); });
}

void NetlinkAddressManager::request(nl::Msg msg, std::string what, std::function<void(int)> done) {
  if (!msg) {
    ++errors_;
    HD_LOG(error, tag_) << "cannot build netlink request: " << what;
    done(ENOMEM);
    return;
  }
  int rc = nl_send_auto(sock_.get(), msg.get());
  if (rc < 0) {
    ++errors_;
    HD_LOG(error, tag_) << "netlink " << what << ": " << nl_geterror(rc);
    done(EIO);
    return;
  }
  if (pending_.size() >= 4096) pending_.erase(pending_.begin());
  HD_LOG(debug, tag_) << "netlink " << what;
  pending_[nlmsg_hdr(msg.get())->nlmsg_seq] = {std::move(what), std::move(done)};
}

void NetlinkAddressManager::answer(uint32_t seq, int err) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (err) HD_LOG(error, tag_) << "kernel refused " << p.what << ": " << std::strerror(err);
  p.done(err);
}

int NetlinkAddressManager::on_ack(nl_msg* msg, void* arg) {
  static_cast<NetlinkAddressManager*>(arg)->answer(nlmsg_hdr(msg)->nlmsg_seq, 0);
  return NL_SKIP;  // on to the next message: NL_STOP would drop the rest of the datagram
}

int NetlinkAddressManager::on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* self = static_cast<NetlinkAddressManager*>(arg);
  // Adding an address that is there, or removing one (or a route: ESRCH) that is gone, is fine.
  int e = -err->error;
  bool gone = err->msg.nlmsg_type == RTM_DELROUTE && e == ESRCH;
  if (e == EEXIST || e == EADDRNOTAVAIL || e == 0 || gone) {
    self->answer(err->msg.nlmsg_seq, 0);
    return NL_SKIP;
  }
  ++self->errors_;
  self->answer(err->msg.nlmsg_seq, e);
  return NL_SKIP;
}

void NetlinkAddressManager::on_readable() {
  for (int i = 0; i < 64; ++i) {
    int rc = nl_recvmsgs_default(sock_.get());
    if (rc == -NLE_AGAIN) return;
    if (rc < 0 && rc != -NLE_AGAIN) {
      // Errors were reported by on_error; anything else is logged once.
      if (rc != -NLE_EXIST && rc != -NLE_NOADDR) HD_LOG(debug, tag_) << "netlink: " << nl_geterror(rc);
    }
  }
}

}  // namespace hd::rtnl
