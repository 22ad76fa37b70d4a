// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel's IPVS table over the "IPVS" generic netlink family (libnl-genl-3).
//
// Synchronous: each call sends its requests and waits for the kernel's
// answers (bounded by a receive timeout) before it returns. The kernel handles
// a generic netlink request inside the sender's sendmsg(), so a round trip
// costs two syscalls and no scheduling delay; apply_all() packs up to
// kBatchMessages requests into one sendmsg() and reads their acks together.
// The backend owns its socket and touches no event loop, so a Reconciler
// using it can run on a thread of its own.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/netlink.h"
#include "ipvs/backend.h"

namespace hd::ipvs {

class NetlinkBackend final : public Backend {
 public:
  static constexpr size_t kBatchMessages = 64;
  static constexpr int kReplyTimeoutMs = 5000;

  // Connects and resolves the family. Without IPVS in the kernel the error is
  // one line saying so and what to do about it.
  static Result<std::unique_ptr<NetlinkBackend>> open();
  ~NetlinkBackend() override;

  Result<void> apply(const Operation& op) override;
  std::vector<Result<void>> apply_all(const std::vector<Operation>& ops) override;
  Result<Table> dump() override;
  Result<Table> dump_services() override;
  Result<std::vector<Destination>> dump_destinations(const ServiceKey& key) override;
  Result<void> set_timeouts(const Timeouts& t) override;
  Result<void> start_sync_daemon(const SyncDaemon& d) override;
  Result<void> stop_sync_daemon(SyncState state) override;

  int family_id() const { return family_; }
  // Netlink requests sent and syscalls made (for benchmarks and status).
  uint64_t requests() const { return requests_; }
  uint64_t syscalls() const { return syscalls_; }

 private:
  NetlinkBackend(nl::Sock sock, int family);
  // errno per message (0: acknowledged), in order; `detail` gets the kernel's
  // extended-ack message, when it sent one.
  struct Ack {
    int err = 0;
    std::string detail;
  };
  std::vector<Ack> transact(const std::vector<nl::Msg>& msgs);
  Ack transact_one(nl::Msg msg);
  // Sends a dump request; calls `each` for every reply message.
  template <typename F>
  Result<void> dump_request(nl::Msg msg, F&& each);
  ssize_t receive();

  nl::Sock sock_;
  int fd_;
  int family_;
  uint32_t seq_;
  std::vector<char> rx_;
  uint64_t requests_ = 0;
  uint64_t syscalls_ = 0;
};

}  // namespace hd::ipvs
