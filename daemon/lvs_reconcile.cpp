// SPDX-License-Identifier: GPL-2.0-or-later
// LvsSubsystem: from health and config to the kernel. The desired table (whole, or one
// service after a health change), quorum and slow start, the reconciler's runs, and the
// drift sweep that reads the kernel back a few services per loop turn.
#include <cerrno>
#include <chrono>
#include <optional>
#include <set>

#include "core/log.h"
#include "daemon/events.h"
#include "daemon/lvs_subsystem.h"

namespace hd {

void LvsSubsystem::start_sweep() {
  // The last one is still going (a large table, a slow kernel): it finishes first. (Not
  // sweep_.active(): a timer that came due in the same loop turn is no longer active.)
  if (sweep_next_ < sweep_keys_.size()) return;
  if (!reconciler_ || !backend_ || !reconciler_->known()) {
    pending_full_ = true;
    return reconcile_now();
  }
  auto services = backend_->dump_services();
  if (!services) {  // the whole reconcile reads again and reports it
    pending_full_ = true;
    return reconcile_now();
  }
  sweep_services_ = std::move(*services);
  sweep_seq_ = reconciler_->seq();
  reconciler_->note_foreign_in(sweep_services_, desired_);
  // Ours: what we want, and what we own in the kernel (to delete if not wanted); foreign
  // services are left alone.
  std::set<ipvs::ServiceKey> keys;
  for (auto& [key, svc] : desired_) keys.insert(key);
  for (auto& [key, svc] : sweep_services_)
    if (reconciler_->owned().count(key)) keys.insert(key);
  sweep_keys_.assign(keys.begin(), keys.end());
  sweep_next_ = 0;
  sweep_.start(Duration::zero());
}

void LvsSubsystem::sweep_step() {
  if (!reconciler_ || !backend_) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  std::set<ipvs::ServiceKey> scope;
  ipvs::Table fresh;
  while (sweep_next_ < sweep_keys_.size() &&
         (scope.empty() || std::chrono::steady_clock::now() < until)) {
    const auto& key = sweep_keys_[sweep_next_++];
    // Changed by our own operations since the list was read (a health change, a reload):
    // the list is stale for it and the cached table right; the next sweep reads it.
    if (reconciler_->touched(key) > sweep_seq_) continue;
    scope.insert(key);
    auto listed = sweep_services_.find(key);
    if (listed == sweep_services_.end()) continue;  // not in the kernel: to be added
    auto dests = backend_->dump_destinations(key);
    if (!dests) {
      if (dests.error().code == ESRCH) continue;  // deleted since the list was read
      sweep_keys_.clear();
      sweep_services_.clear();
      pending_full_ = true;  // reads fail: the whole reconcile reads again and reports it
      return reconcile_now();
    }
    ipvs::Service svc = listed->second;
    svc.destinations = std::move(*dests);
    fresh.emplace(key, std::move(svc));
  }
  auto t0 = std::chrono::steady_clock::now();
  finish_reconcile(reconciler_->reconcile_fresh(desired_, fresh, scope), false, t0);
  if (sweep_next_ < sweep_keys_.size()) {
    sweep_.start(Duration::zero());
  } else {
    sweep_keys_.clear();
    sweep_services_.clear();
  }
}

void LvsSubsystem::schedule_reconcile(bool full) {
  pending_full_ = pending_full_ || full;
  // Anything but a health change (on_change names its service in changed_) may have
  // changed any service's desired entry (a finished drain): the whole desired table.
  recompute_all_ = true;
  // A burst of changes (a switch port flapping many servers) becomes one reconcile.
  if (!soon_.active()) soon_.start(Millis(1));
}

void LvsSubsystem::announce_quorum(const ipvs::VirtualServiceSpec& spec,
                                   const ipvs::QuorumState& q) {
  if (spec.quorum == 0 && !spec.sorry) return;  // no quorum configured: nothing to tell
  if (events_)
    events_->publish("quorum", [&](JsonWriter& e) {
      e.field("service", spec.key.str()).field("up", q.up);
      e.field("live_weight", q.live_weight).field("sorry_server", spec.sorry.has_value());
    });
  if (q.up)
    HD_LOG(info, "ipvs") << spec.key.str() << ": quorum regained (live weight " << q.live_weight
                         << ")";
  else
    HD_LOG(warning, "ipvs") << spec.key.str() << ": quorum lost (live weight " << q.live_weight
                            << ")" << (spec.sorry ? ", sorry server takes the traffic" : "");
}

void LvsSubsystem::reconcile_now() {
  soon_.stop();
  changed_.clear();
  recompute_all_ = false;
  auto before = quorum_;
  desired_ = ipvs::desired(specs_, health_, clock_.now(), quorum_, admin_);
  for (auto& spec : specs_) {
    auto it = before.find(spec.key);
    auto now_q = quorum_.find(spec.key);
    if (it == before.end() || now_q == quorum_.end() || it->second.up == now_q->second.up) continue;
    announce_quorum(spec, now_q->second);
  }
  tell_quorum();
  arm_slow_start();  // with dataplane = "none" too: the desired weights in status ramp
  if (!reconciler_) {
    tell_serving();
    return check_drains(false);
  }
  auto t0 = std::chrono::steady_clock::now();
  bool full = pending_full_;
  auto report = full ? reconciler_->reconcile(desired_) : reconciler_->reconcile_cached(desired_);
  finish_reconcile(std::move(report), full, t0);
}

void LvsSubsystem::reconcile_changed() {
  // Everything when asked for (a reload, an override), before the first whole table, and
  // for a burst over a quarter of the services (a switch losing a rack): one whole plan
  // is then cheaper than many small ones.
  if (pending_full_ || recompute_all_ || changed_.empty() || desired_.empty() ||
      (changed_.size() > 64 && changed_.size() * 4 > specs_.size()))
    return reconcile_now();
  soon_.stop();
  auto scope = std::move(changed_);
  changed_.clear();
  bool quorum_moved = false;
  const TimePoint now = clock_.now();
  for (auto& key : scope) {
    auto idx = spec_index_.find(key);
    if (idx == spec_index_.end()) continue;
    const auto& spec = specs_[idx->second];
    std::optional<ipvs::QuorumState> q;
    auto qi = quorum_.find(key);
    if (qi != quorum_.end()) q = qi->second;
    std::optional<bool> was_up;
    if (q) was_up = q->up;
    desired_[key] = ipvs::desired_service(spec, health_, now, q, admin_);
    quorum_[key] = *q;
    if (was_up && *was_up != q->up) {
      quorum_moved = true;
      announce_quorum(spec, *q);
    }
  }
  if (quorum_moved) tell_quorum();
  if (any_slow_start_) arm_slow_start();
  if (!reconciler_) {
    tell_serving();
    return check_drains(false);
  }
  auto t0 = std::chrono::steady_clock::now();
  finish_reconcile(reconciler_->reconcile_some(desired_, scope), false, t0);
}

void LvsSubsystem::finish_reconcile(ipvs::Report report, bool full,
                                    std::chrono::steady_clock::time_point t0) {
  reconcile_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (full) pending_full_ = false;  // a scoped run or a sweep step leaves a request standing
  if (report.ok()) last_sync_wall_ = wall_seconds();
  if (events_ && (report.applied > 0 || !report.errors.empty()))
    events_->publish("ipvs", [&](JsonWriter& e) {
      e.field("applied", report.applied).field("planned", report.planned);
      e.key("operations").begin_array();
      for (auto& op : report.applied_ops) e.value(op);
      e.end_array();
      e.field("operations_not_listed", report.applied - report.applied_ops.size());
      e.key("errors").begin_array();
      for (auto& err : report.errors) e.value(err.message);
      e.end_array();
    });
  last_report_ = std::move(report);
  check_drains(full);
  tell_serving();
}

void LvsSubsystem::tell_serving() {
  evaluated_ = true;
  if (serving_listener_) serving_listener_();
}

LvsSubsystem::Serving LvsSubsystem::serving(const std::string& name) const {
  Serving s;
  auto k = service_keys_.find(name);
  if (!running_ || k == service_keys_.end()) return s;
  s.evaluated = evaluated_;
  auto q = quorum_.find(k->second);
  s.quorum = q != quorum_.end() && q->second.up;
  if (!reconciler_) {
    s.in_sync = true;
  } else if (const auto& known = reconciler_->known()) {
    s.in_sync = in_sync(find_service(desired_, k->second), find_service(*known, k->second));
  }
  return s;
}

void LvsSubsystem::tell_quorum() {
  if (!quorum_listener_) return;
  std::map<std::string, bool> up;
  for (auto& [name, key] : service_keys_) {
    auto q = quorum_.find(key);
    up[name] = q != quorum_.end() && q->second.up;
  }
  quorum_listener_(up);
}

void LvsSubsystem::arm_slow_start() {
  auto next = ipvs::next_change(specs_, health_, clock_.now(), admin_);
  if (!next) {
    ramp_.stop();
    return;
  }
  auto after = *next - clock_.now();
  ramp_.start(after > Duration::zero() ? after : Millis(1));
}

}  // namespace hd
