// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/fake_backend.h"

#include <cerrno>

#include "ipvs/table_apply.h"

namespace hd::ipvs {

void FakeBackend::clear_log() {
  applied_.clear();
  attempted_.clear();
}

void FakeBackend::fail_when(std::function<bool(const Operation&)> pred, int err, int times) {
  failures_.push_back(Failure{std::move(pred), err, times});
}

void FakeBackend::fail_dumps(Error e, int times) {
  dump_error_ = std::move(e);
  dump_failures_ = times;
}

void FakeBackend::clear_failures() {
  failures_.clear();
  dump_error_.reset();
  dump_failures_ = 0;
}

Result<void> FakeBackend::apply(const Operation& op) {
  attempted_.push_back(op);
  for (auto& f : failures_) {
    if (f.times == 0 || !f.pred(op)) continue;
    if (f.times > 0) --f.times;
    return operation_error(op, f.err);
  }
  if (int err = apply_to(table_, op)) return operation_error(op, err);
  applied_.push_back(op);
  return {};
}

bool FakeBackend::dump_fails() {
  if (!dump_error_ || dump_failures_ == 0) return false;
  if (dump_failures_ > 0) --dump_failures_;
  return true;
}

Result<Table> FakeBackend::dump() {
  ++dumps_;
  if (dump_fails()) return *dump_error_;
  return table_;
}

Result<Table> FakeBackend::dump_services() {
  ++service_dumps_;
  if (dump_fails()) return *dump_error_;
  Table t = table_;
  for (auto& [key, svc] : t) svc.destinations.clear();
  return t;
}

Result<std::vector<Destination>> FakeBackend::dump_destinations(const ServiceKey& key) {
  ++destination_dumps_;
  if (dump_fails()) return *dump_error_;
  auto it = table_.find(key);
  // As the kernel answers a destination dump of a service that is not there: nothing.
  if (it == table_.end()) return std::vector<Destination>{};
  return it->second.destinations;
}

Result<void> FakeBackend::set_timeouts(const Timeouts& t) {
  if (t.tcp) timeouts_.tcp = t.tcp;
  if (t.tcp_fin) timeouts_.tcp_fin = t.tcp_fin;
  if (t.udp) timeouts_.udp = t.udp;
  return {};
}

Result<void> FakeBackend::start_sync_daemon(const SyncDaemon& d) {
  auto& slot = d.state == SyncState::master ? master_ : backup_;
  if (slot) return Error{"start sync daemon: File exists (already running)", EEXIST};
  slot = d;
  return {};
}

Result<void> FakeBackend::stop_sync_daemon(SyncState state) {
  auto& slot = state == SyncState::master ? master_ : backup_;
  if (!slot) return Error{"stop sync daemon: No such process (not running)", ESRCH};
  slot.reset();
  return {};
}

}  // namespace hd::ipvs
