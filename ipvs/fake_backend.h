// SPDX-License-Identifier: GPL-2.0-or-later
// An in-memory Backend for tests (here and in other subsystems): it keeps a
// table, answers as the kernel does (EEXIST, ESRCH, ENOENT, EINVAL) and records
// every operation. Failures can be injected.
#pragma once
#include <functional>
#include <optional>
#include <vector>

#include "ipvs/backend.h"

namespace hd::ipvs {

class FakeBackend final : public Backend {
 public:
  Result<void> apply(const Operation& op) override;
  Result<Table> dump() override;
  Result<Table> dump_services() override;
  Result<std::vector<Destination>> dump_destinations(const ServiceKey& key) override;
  Result<void> set_timeouts(const Timeouts& t) override;
  Result<void> start_sync_daemon(const SyncDaemon& d) override;
  Result<void> stop_sync_daemon(SyncState state) override;

  // The "kernel" table; tests edit it to simulate drift or foreign services.
  Table& table() { return table_; }
  const Table& table() const { return table_; }
  // Operations that succeeded / were attempted, in order.
  const std::vector<Operation>& applied() const { return applied_; }
  const std::vector<Operation>& attempted() const { return attempted_; }
  void clear_log();
  size_t dumps() const { return dumps_; }  // whole-table dumps
  size_t service_dumps() const { return service_dumps_; }
  size_t destination_dumps() const { return destination_dumps_; }
  const Timeouts& timeouts() const { return timeouts_; }
  const std::optional<SyncDaemon>& sync_master() const { return master_; }
  const std::optional<SyncDaemon>& sync_backup() const { return backup_; }

  // The next `times` operations matching `pred` fail with errno `err` (-1: all of them).
  void fail_when(std::function<bool(const Operation&)> pred, int err, int times = -1);
  // The next `times` dumps fail.
  void fail_dumps(Error e, int times = 1);
  void clear_failures();

 private:
  struct Failure {
    std::function<bool(const Operation&)> pred;
    int err;
    int times;
  };
  Table table_;
  std::vector<Operation> applied_, attempted_;
  std::vector<Failure> failures_;
  std::optional<Error> dump_error_;
  int dump_failures_ = 0;
  size_t dumps_ = 0;
  size_t service_dumps_ = 0;
  size_t destination_dumps_ = 0;
  bool dump_fails();
  Timeouts timeouts_;
  std::optional<SyncDaemon> master_, backup_;
};

}  // namespace hd::ipvs
