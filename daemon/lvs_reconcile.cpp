// SPDX-License-Identifier: GPL-2.0-or-later
// LvsSubsystem: from health and config to the kernel. The desired table (whole, or one
// service after a health change), quorum and slow start, the reconciler's runs (the
// backend's reads and operations on its executor, one at a time), and the drift sweep
// that reads the kernel back a few services a step.
#include <cerrno>
#include <chrono>
#include <optional>
#include <set>

#include "core/log.h"
#include "daemon/events.h"
#include "daemon/lvs_subsystem.h"

namespace hd {

void LvsSubsystem::start_sweep() {
  // The last one is still going (a large table, a slow kernel): it finishes first (its
  // keys stay until end_sweep(), its last batch's answer included).
  if (!sweep_keys_.empty()) return;
  if (!reconciler_ || !exec_ || !reconciler_->known()) {
    pending_full_ = true;
    return reconcile_now();
  }
  if (busy_) {
    sweep_wanted_ = true;  // once the kernel answers, unless a sweep is under way by then
    return;
  }
  sweep_wanted_ = false;
  mark_busy();
  exec_->post<ipvs::Result<ipvs::Table>>(
      [](ipvs::Backend& b) { return b.dump_services(); },
      [this](ipvs::Result<ipvs::Table> services) {
        busy_ = false;
        if (!services) {  // the whole reconcile reads again and reports it
          pending_full_ = true;
          return reconcile_now();
        }
        sweep_services_ = std::move(*services);
        sweep_seq_ = reconciler_->seq();
        reconciler_->note_foreign_in(sweep_services_, desired_);
        // Ours: what we want, and what we own in the kernel (to delete if not wanted);
        // foreign services are left alone.
        std::set<ipvs::ServiceKey> keys;
        for (auto& [key, svc] : desired_) keys.insert(key);
        for (auto& [key, svc] : sweep_services_)
          if (reconciler_->owned().count(key)) keys.insert(key);
        sweep_keys_.assign(keys.begin(), keys.end());
        sweep_next_ = 0;
        resume();  // what was asked for meanwhile first; then the sweep's steps
      });
}

void LvsSubsystem::end_sweep() {
  sweep_wanted_ = false;  // a period that came due during the sweep is not owed a new one
  sweep_keys_.clear();
  sweep_services_.clear();
  sweep_next_ = 0;
  ++sweep_gen_;
}

// One step: the destinations of the next services read on the executor (for ~2 ms of its
// time: inline, that is the main loop's), then planned against their desired entries.
void LvsSubsystem::sweep_step() {
  if (!reconciler_ || !exec_ || busy_) return;  // busy: resume() comes back here
  constexpr size_t kBatch = 64;
  struct Entry {
    size_t at;  // in sweep_keys_
    bool listed;
  };
  std::vector<Entry> batch;
  std::vector<ipvs::ServiceKey> to_read;
  while (sweep_next_ < sweep_keys_.size() && batch.size() < kBatch) {
    const size_t at = sweep_next_++;
    const auto& key = sweep_keys_[at];
    // Changed by our own operations since the list was read (a health change, a reload):
    // the list is stale for it and the cached table right; the next sweep reads it.
    if (reconciler_->touched(key) > sweep_seq_) continue;
    const bool listed = sweep_services_.count(key) > 0;  // else not in the kernel: to add
    batch.push_back({at, listed});
    if (listed) to_read.push_back(key);
  }
  if (batch.empty()) return end_sweep();
  using Reads = std::vector<ipvs::Result<std::vector<ipvs::Destination>>>;
  mark_busy();
  exec_->post<Reads>(
      [to_read](ipvs::Backend& b) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
        Reads r;
        for (auto& key : to_read) {
          if (!r.empty() && std::chrono::steady_clock::now() >= until) break;  // the rest later
          r.push_back(b.dump_destinations(key));
        }
        return r;
      },
      [this, batch = std::move(batch), gen = sweep_gen_](Reads reads) {
        busy_ = false;
        if (gen != sweep_gen_) return resume();  // abandoned meanwhile
        if (!reconciler_->known()) {  // an operation failed meanwhile: read it all again
          end_sweep();
          pending_full_ = true;
          return reconcile_now();
        }
        std::set<ipvs::ServiceKey> scope;
        ipvs::Table fresh;
        size_t read = 0;
        for (const auto& e : batch) {
          const auto& key = sweep_keys_[e.at];
          if (e.listed) {
            if (read == reads.size()) {  // not read in time: this one and the rest next step
              sweep_next_ = e.at;
              break;
            }
            auto& dests = reads[read++];
            if (!dests && dests.error().code != ESRCH) {
              end_sweep();
              pending_full_ = true;  // reads fail: the whole reconcile reads again, reports it
              return reconcile_now();
            }
            if (dests) {  // ESRCH: deleted since the list was read; gone from the cache too
              ipvs::Service svc = sweep_services_.at(key);
              svc.destinations = std::move(*dests);
              fresh.emplace(key, std::move(svc));
            }
          }
          scope.insert(key);
        }
        reconciler_->take_fresh(fresh, scope);
        if (sweep_next_ >= sweep_keys_.size()) end_sweep();
        apply_plan(reconciler_->prepare(desired_, &scope), false, std::chrono::steady_clock::now());
      });
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
  program_all();
}

void LvsSubsystem::program_all() {
  if (busy_) {
    again_ = true;
    return;
  }
  again_ = false;
  again_scope_.clear();  // this plan covers them
  const auto t0 = std::chrono::steady_clock::now();
  if (!pending_full_ && reconciler_->known()) return apply_plan(reconciler_->prepare(desired_), false, t0);
  // This read answers every request for one so far; one made while it is out (a drain's
  // poll) gets a read of its own afterwards.
  pending_full_ = false;
  mark_busy();
  exec_->post<ipvs::Result<ipvs::Table>>(
      [](ipvs::Backend& b) { return b.dump(); },
      [this, t0](ipvs::Result<ipvs::Table> table) {
        busy_ = false;
        if (auto failed = reconciler_->take_dump(std::move(table))) {
          finish_reconcile(std::move(*failed), true, t0);
          return resume();
        }
        apply_plan(reconciler_->prepare(desired_), true, t0);
      });
}

void LvsSubsystem::program_some(std::set<ipvs::ServiceKey> scope) {
  if (busy_) {
    again_scope_.insert(scope.begin(), scope.end());
    return;
  }
  if (!reconciler_->known()) return program_all();
  apply_plan(reconciler_->prepare(desired_, &scope), false, std::chrono::steady_clock::now());
}

void LvsSubsystem::apply_plan(ipvs::Reconciler::Prepared p, bool full,
                              std::chrono::steady_clock::time_point t0) {
  if (p.ops.empty()) {
    finish_reconcile(reconciler_->complete(std::move(p), {}), full, t0);
    return resume();
  }
  mark_busy();
  auto plan = std::make_shared<ipvs::Reconciler::Prepared>(std::move(p));
  exec_->post<std::vector<ipvs::Result<void>>>(
      [plan](ipvs::Backend& b) { return b.apply_all(plan->ops); },
      [this, plan, full, t0](std::vector<ipvs::Result<void>> results) {
        busy_ = false;
        finish_reconcile(reconciler_->complete(std::move(*plan), results), full, t0);
        resume();
      });
}

void LvsSubsystem::resume() {
  if (busy_ || !reconciler_ || !running_) return;
  if (again_) return program_all();
  if (!again_scope_.empty()) {
    auto scope = std::move(again_scope_);
    again_scope_.clear();
    return program_some(std::move(scope));
  }
  if (sweep_next_ < sweep_keys_.size()) return sweep_.start(Duration::zero());
  if (sweep_wanted_) {
    sweep_wanted_ = false;
    start_sweep();
  }
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
  program_some(std::move(scope));
}

void LvsSubsystem::finish_reconcile(ipvs::Report report, bool full,
                                    std::chrono::steady_clock::time_point t0) {
  reconcile_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
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
