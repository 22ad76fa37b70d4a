// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/netlink_backend.h"

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "ipvs/message.h"
#include "ipvs/parse.h"

namespace hd::ipvs {
namespace {

constexpr const char* kNoIpvs =
    "the kernel has no IPVS (generic netlink family \"IPVS\" not found): load it with "
    "`modprobe ip_vs`, or use a kernel built with CONFIG_IP_VS; set dataplane = \"none\" in "
    "[global] to run without programming IPVS";

// Requests of one sendmsg(): well under the 64 KiB a netlink skb may hold.
constexpr size_t kBatchBytes = 32 * 1024;
// Replies: the kernel sizes dump datagrams up to 32 KiB when the reader's buffer allows.
constexpr size_t kReceiveBuffer = 64 * 1024;

std::string errno_text(int err) {
  std::string s = std::strerror(err);
  if (err == EPERM) s += " (needs CAP_NET_ADMIN)";
  return s;
}

void set_int_option(int fd, int level, int name, int value) {
  // Best effort: older kernels lack NETLINK_CAP_ACK / NETLINK_EXT_ACK, and
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; everything works without them.
  (void)setsockopt(fd, level, name, &value, sizeof(value));
}

}  // namespace

Result<std::unique_ptr<NetlinkBackend>> NetlinkBackend::open() {
  nl::Sock sock(nl_socket_alloc());
  if (!sock) return Error{"cannot allocate a netlink socket", ENOMEM};
  if (int rc = genl_connect(sock.get()); rc < 0)
    return Error{std::string("cannot open a generic netlink socket: ") + nl_geterror(rc), 0};
  int family = genl_ctrl_resolve(sock.get(), IPVS_GENL_NAME);
  if (family == -NLE_OBJ_NOTFOUND) return Error{kNoIpvs, ENOENT};
  if (family < 0)
    return Error{
        std::string("cannot resolve generic netlink family \"IPVS\": ") + nl_geterror(family), 0};
  return std::unique_ptr<NetlinkBackend>(new NetlinkBackend(std::move(sock), family));
}

NetlinkBackend::NetlinkBackend(nl::Sock sock, int family)
    : sock_(std::move(sock)),
      fd_(nl_socket_get_fd(sock_.get())),
      family_(family),
      seq_(static_cast<uint32_t>(time(nullptr))),
      rx_(kReceiveBuffer) {
  nl_socket_set_buffer_size(sock_.get(), 1 << 20, 1 << 20);
  set_int_option(fd_, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20);
  set_int_option(fd_, SOL_NETLINK, NETLINK_CAP_ACK, 1);  // acks without our request echoed
  set_int_option(fd_, SOL_NETLINK, NETLINK_EXT_ACK, 1);  // the kernel's reason, when it has one
  timeval tv{kReplyTimeoutMs / 1000, (kReplyTimeoutMs % 1000) * 1000};
  (void)setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

NetlinkBackend::~NetlinkBackend() = default;

ssize_t NetlinkBackend::receive() {
  for (;;) {
    ++syscalls_;
    ssize_t n = recv(fd_, rx_.data(), rx_.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) errno = ETIMEDOUT;
    if (n > static_cast<ssize_t>(rx_.size())) {
      errno = EMSGSIZE;
      return -1;
    }
    return n;
  }
}

std::vector<NetlinkBackend::Ack> NetlinkBackend::transact(const std::vector<nl::Msg>& msgs) {
  std::vector<Ack> acks(msgs.size());
  std::vector<char> batch;
  batch.reserve(kBatchBytes);
  uint32_t port = nl_socket_get_local_port(sock_.get());
  size_t i = 0;
  while (i < msgs.size()) {
    // One batch: consecutive sequence numbers from `base`, index_of[seq - base].
    batch.clear();
    uint32_t base = seq_;
    std::vector<size_t> index_of;
    for (; i < msgs.size() && index_of.size() < kBatchMessages; ++i) {
      if (!msgs[i]) {
        acks[i] = Ack{ENOMEM, "cannot build the request"};
        continue;
      }
      const nlmsghdr* h = nlmsg_hdr(msgs[i].get());
      size_t len = NLMSG_ALIGN(h->nlmsg_len);
      if (!index_of.empty() && batch.size() + len > kBatchBytes) break;
      size_t at = batch.size();
      batch.resize(at + len);
      std::memcpy(batch.data() + at, h, h->nlmsg_len);
      auto* copy = reinterpret_cast<nlmsghdr*>(batch.data() + at);
      copy->nlmsg_seq = seq_++;
      copy->nlmsg_pid = port;
      index_of.push_back(i);
    }
    if (index_of.empty()) continue;

    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ++syscalls_;
    requests_ += index_of.size();
    ssize_t sent = sendto(fd_, batch.data(), batch.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                          sizeof(kernel));
    std::vector<bool> done(index_of.size(), false);
    size_t pending = index_of.size();
    int failure = sent < 0 ? errno : 0;
    while (!failure && pending > 0) {
      ssize_t n = receive();
      if (n < 0) {
        failure = errno;
        break;
      }
      for (const nlmsghdr* h : split_datagram(rx_.data(), static_cast<size_t>(n))) {
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        uint32_t k = h->nlmsg_seq - base;
        if (k >= index_of.size() || done[k]) continue;  // a stale reply
        std::optional<AckReply> ack = parse_ack(h);
        if (!ack) continue;  // too short for an nlmsgerr
        acks[index_of[k]] = Ack{ack->err, std::move(ack->detail)};
        done[k] = true;
        --pending;
      }
    }
    if (failure) {
      // No answer for these (the socket failed or the kernel went silent):
      // their outcome is unknown, so they count as failed; the next dump tells.
      for (size_t k = 0; k < index_of.size(); ++k)
        if (!done[k]) acks[index_of[k]] = Ack{failure, "no reply from the kernel"};
    }
  }
  return acks;
}

NetlinkBackend::Ack NetlinkBackend::transact_one(nl::Msg msg) {
  std::vector<nl::Msg> one;
  one.push_back(std::move(msg));
  return transact(one).front();
}

template <typename F>
Result<void> NetlinkBackend::dump_request(nl::Msg msg, F&& each) {
  if (!msg) return Error{"cannot build the dump request", ENOMEM};
  nlmsghdr* h = nlmsg_hdr(msg.get());
  uint32_t seq = seq_++;
  h->nlmsg_seq = seq;
  h->nlmsg_pid = nl_socket_get_local_port(sock_.get());
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ++syscalls_;
  ++requests_;
  if (sendto(fd_, h, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
    return Error{errno_text(errno), errno};
  // Read to NLMSG_DONE even after a bad message, so the next request starts clean.
  std::optional<Error> first_error;
  for (;;) {
    ssize_t n = receive();
    if (n < 0) return Error{errno_text(errno), errno};
    for (const nlmsghdr* r : split_datagram(rx_.data(), static_cast<size_t>(n))) {
      if (r->nlmsg_seq != seq) continue;
      if (r->nlmsg_type == NLMSG_DONE) {
        if (first_error) return *first_error;
        return {};
      }
      if (r->nlmsg_type == NLMSG_ERROR) {
        std::optional<AckReply> ack = parse_ack(r);
        if (!ack) return Error{"truncated error reply", 0};
        if (ack->err == 0) continue;
        const std::string& detail = ack->detail;
        return Error{errno_text(ack->err) + (detail.empty() ? "" : " (kernel: " + detail + ")"),
                     ack->err};
      }
      if (r->nlmsg_type != family_) continue;
      Result<void> res = each(r);
      if (!res && !first_error) first_error = res.error();
    }
  }
}

Result<void> NetlinkBackend::apply(const Operation& op) {
  Ack a = transact_one(build_message(op, family_));
  if (a.err == 0) return {};
  return operation_error(op, a.err, a.detail.empty() ? "" : "kernel: " + a.detail);
}

std::vector<Result<void>> NetlinkBackend::apply_all(const std::vector<Operation>& ops) {
  std::vector<nl::Msg> msgs;
  msgs.reserve(ops.size());
  for (const auto& op : ops) msgs.push_back(build_message(op, family_));
  std::vector<Ack> acks = transact(msgs);
  std::vector<Result<void>> out;
  out.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (acks[i].err == 0) {
      out.emplace_back();
    } else {
      out.push_back(operation_error(ops[i], acks[i].err,
                                    acks[i].detail.empty() ? "" : "kernel: " + acks[i].detail));
    }
  }
  return out;
}

Result<Table> NetlinkBackend::dump() {
  auto table = dump_services();
  if (!table) return table.error();
  for (auto& entry : *table) {
    // A service deleted meanwhile dumps no destinations; the next dump drops it.
    auto dests = dump_destinations(entry.first);
    if (!dests) return dests.error();
    entry.second.destinations = std::move(*dests);
  }
  return table;
}

Result<Table> NetlinkBackend::dump_services() {
  Table table;
  auto services = dump_request(build_get_services(family_), [&](const nlmsghdr* h) -> Result<void> {
    auto s = parse_service_reply(h);
    if (!s) return s.error();
    ServiceKey key = s->key;
    table.insert_or_assign(key, std::move(*s));
    return {};
  });
  if (!services)
    return Error{"dump IPVS services: " + services.error().message, services.error().code};
  return table;
}

Result<std::vector<Destination>> NetlinkBackend::dump_destinations(const ServiceKey& key) {
  std::vector<Destination> out;
  auto dests = dump_request(build_get_dests(key, family_), [&](const nlmsghdr* h) -> Result<void> {
    auto d = parse_dest_reply(h, key.family());
    if (!d) return d.error();
    out.push_back(std::move(*d));
    return {};
  });
  if (!dests)
    return Error{"dump destinations of " + key.str() + ": " + dests.error().message,
                 dests.error().code};
  return out;
}

Result<void> NetlinkBackend::set_timeouts(const Timeouts& t) {
  Ack a = transact_one(build_set_timeouts(t, family_));
  if (a.err == 0) return {};
  return Error{"set IPVS timeouts: " + errno_text(a.err), a.err};
}

Result<void> NetlinkBackend::start_sync_daemon(const SyncDaemon& d) {
  Ack a = transact_one(build_start_daemon(d, family_));
  if (a.err == 0) return {};
  return Error{"start " + std::string(to_string(d.state)) + " sync daemon on " + d.interface +
                   " (syncid " + std::to_string(d.sync_id) + "): " + errno_text(a.err) +
                   (a.detail.empty() ? "" : " (kernel: " + a.detail + ")"),
               a.err};
}

Result<void> NetlinkBackend::stop_sync_daemon(SyncState state) {
  Ack a = transact_one(build_stop_daemon(state, family_));
  if (a.err == 0) return {};
  return Error{"stop " + std::string(to_string(state)) + " sync daemon: " + errno_text(a.err),
               a.err};
}

}  // namespace hd::ipvs
