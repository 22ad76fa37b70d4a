// SPDX-License-Identifier: GPL-2.0-or-later
// What executes operations on an IPVS table: the kernel over generic netlink
// (netlink_backend.h) or memory (fake_backend.h). Every call returns a Result;
// nothing throws.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "ipvs/model.h"
#include "ipvs/operation.h"
#include "ipvs/result.h"

namespace hd::ipvs {

// Connection timeouts (ipvsadm --set). nullopt leaves a value as it is.
struct Timeouts {
  std::optional<std::chrono::seconds> tcp, tcp_fin, udp;
  friend bool operator==(const Timeouts&, const Timeouts&) = default;
};

// Connection synchronisation daemon (ipvsadm --start-daemon).
enum class SyncState : uint32_t { master = IP_VS_STATE_MASTER, backup = IP_VS_STATE_BACKUP };
std::string_view to_string(SyncState s);  // "master", "backup"

struct SyncDaemon {
  SyncState state = SyncState::master;
  std::string interface;  // multicast interface
  uint8_t sync_id = 0;
  // Kernel defaults when unset: 1472-byte messages, 224.0.0.81 (or ff02::81), port 8848, TTL 1.
  std::optional<uint16_t> max_len;
  std::optional<IpAddress> group;
  std::optional<uint16_t> port;
  std::optional<uint8_t> ttl;
  friend bool operator==(const SyncDaemon&, const SyncDaemon&) = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<void> apply(const Operation& op) = 0;
  // In order, one result per operation. A failure does not stop the rest
  // (an operation that depended on a failed one fails on its own account).
  // Backends may batch (the netlink backend sends many requests per syscall).
  virtual std::vector<Result<void>> apply_all(const std::vector<Operation>& ops);
  // The whole table: every service (ours and foreign) with its destinations.
  virtual Result<Table> dump() = 0;
  // The same read a piece at a time, so a table of 100,000 destinations is not read in one
  // go on the main loop (LvsSubsystem's drift sweep): every service without destinations,
  // then one service's destinations (the kernel answers none for a service that is not
  // there, as the fake backend does). The defaults read the whole table; the netlink
  // backend asks the kernel for just that.
  virtual Result<Table> dump_services();
  virtual Result<std::vector<Destination>> dump_destinations(const ServiceKey& key);
  virtual Result<void> set_timeouts(const Timeouts& t) = 0;
  virtual Result<void> start_sync_daemon(const SyncDaemon& d) = 0;
  virtual Result<void> stop_sync_daemon(SyncState state) = 0;
};

// The error both backends report for a failed operation: the operation, the
// errno text and what it usually means, e.g. "add destination 10.0.0.2:80 nat w1
// to TCP 10.0.0.1:80: No such process (no such service)".
Error operation_error(const Operation& op, int err, std::string_view detail = {});

}  // namespace hd::ipvs
