// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/reconciler.h"

#include <algorithm>

#include <cerrno>
#include <sstream>

#include "core/log.h"
#include "ipvs/table_apply.h"

namespace hd::ipvs {

Reconciler::Reconciler(Backend& backend, const Clock& clock, std::set<ServiceKey> owned)
    : backend_(backend), clock_(clock), owned_(std::move(owned)) {
  counters_.owned_services = owned_.size();
}

Report Reconciler::reconcile(const Table& desired) {
  ++counters_.reconciles;
  Result<Table> actual = backend_.dump();
  if (!actual) {
    ++counters_.dump_errors;
    known_.reset();
    if (!dump_failing_) {
      HD_LOG(warning, "ipvs") << actual.error().message;
    } else {
      HD_LOG(debug, "ipvs") << actual.error().message;
    }
    dump_failing_ = true;
    Report r;
    r.dump_error = actual.error();
    return r;
  }
  if (dump_failing_) HD_LOG(info, "ipvs") << "reading the IPVS table works again";
  dump_failing_ = false;
  known_ = std::move(*actual);
  return run(desired);
}

Report Reconciler::reconcile_cached(const Table& desired) {
  if (!known_) return reconcile(desired);
  ++counters_.reconciles;
  return run(desired);
}

Report Reconciler::reconcile_some(const Table& desired, const std::set<ServiceKey>& scope) {
  if (!known_) return reconcile(desired);
  ++counters_.reconciles;
  return run(desired, &scope);
}

Report Reconciler::reconcile_fresh(const Table& desired, const Table& fresh,
                                   const std::set<ServiceKey>& scope) {
  if (!known_) return reconcile(desired);
  for (const auto& key : scope) {
    if (auto f = fresh.find(key); f != fresh.end())
      (*known_)[key] = f->second;
    else
      known_->erase(key);
  }
  ++counters_.reconciles;
  return run(desired, &scope);
}

void Reconciler::note_foreign_in(const Table& listed, const Table& desired) {
  std::vector<ServiceKey> foreign;
  for (const auto& [key, svc] : listed)
    if (!desired.count(key) && !owned_.count(key)) foreign.push_back(key);
  note_foreign(foreign);
}

Report Reconciler::run(const Table& desired, const std::set<ServiceKey>* scope) {
  TimePoint started = clock_.now();
  Plan p;
  if (scope) {
    Table want, have;
    for (const auto& key : *scope) {
      if (auto it = desired.find(key); it != desired.end()) want.emplace(*it);
      if (auto it = known_->find(key); it != known_->end()) have.emplace(*it);
    }
    p = plan(want, have, owned_);
    for (const auto& [key, svc] : want) owned_.insert(key);
  } else {
    p = plan(desired, *known_, owned_);
    note_foreign(p.foreign);  // only a whole plan sees every foreign service
    for (const auto& [key, svc] : desired) owned_.insert(key);
  }

  Report report;
  report.services = scope ? scope->size() : std::max(desired.size(), known_->size());
  report.planned = p.ops.size();
  report.foreign = p.foreign;
  std::vector<Result<void>> results = backend_.apply_all(p.ops);
  for (size_t i = 0; i < p.ops.size(); ++i) {
    record(p.ops[i], results[i], report);
    if (results[i]) apply_to(*known_, p.ops[i]);  // in place: no copy of the whole table
  }
  // Failures not planned again (the wish changed) are no longer failing. A scoped run
  // planned only its services: the others' failures wait for the next whole plan.
  if (!scope) {
    std::set<std::string> planned;
    for (const auto& op : p.ops) planned.insert(describe(op));
    std::erase_if(failing_, [&](const auto& f) { return !planned.count(f.first); });
  }

  if (report.errors.empty()) {
    counters_.last_sync = clock_.now();
  } else {
    known_.reset();  // plan from a fresh dump next time
  }
  counters_.owned_services = owned_.size();
  if (!p.ops.empty()) {
    std::string kinds;
    std::array<size_t, kOpKinds> by_kind{};
    for (const auto& op : p.ops) ++by_kind[static_cast<size_t>(kind(op))];
    for (size_t k = 0; k < kOpKinds; ++k)
      if (by_kind[k])
        kinds += (kinds.empty() ? "" : ", ") + std::to_string(by_kind[k]) + " " +
                 std::string(to_string(static_cast<OpKind>(k)));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started);
    std::ostringstream line;
    line << "applied " << report.applied << " of " << report.planned << " operations (" << kinds
         << ") in " << ms.count() << " ms";
    // Nothing applied: the failures were logged (once) above; do not repeat a summary.
    if (report.applied > 0) {
      HD_LOG(info, "ipvs") << line.str();
    } else {
      HD_LOG(debug, "ipvs") << line.str();
    }
  }
  return report;
}

void Reconciler::record(const Operation& op, const Result<void>& r, Report& report) {
  std::string what = describe(op);
  if (r) {
    touched_[service_of(op)] = ++seq_;
    ++report.applied;
    ++counters_.applied[static_cast<size_t>(kind(op))];
    if (report.applied_ops.size() < Report::kMaxListedOps) report.applied_ops.push_back(what);
    if (auto* d = std::get_if<DelService>(&op)) owned_.erase(d->key);
    if (failing_.erase(what)) HD_LOG(info, "ipvs") << "recovered: " << what;
    HD_LOG(debug, "ipvs") << what;
    return;
  }
  ++counters_.op_errors;
  report.errors.push_back(r.error());
  auto [it, fresh] = failing_.try_emplace(what, r.error().message);
  if (fresh || it->second != r.error().message) {
    it->second = r.error().message;
    HD_LOG(warning, "ipvs") << r.error().message << "; will retry";
  } else {
    HD_LOG(debug, "ipvs") << r.error().message << " (again)";
  }
}

void Reconciler::note_foreign(const std::vector<ServiceKey>& foreign) {
  counters_.foreign_services = foreign.size();
  std::set<ServiceKey> now(foreign.begin(), foreign.end());
  for (const auto& k : now)
    if (!foreign_seen_.count(k))
      HD_LOG(info, "ipvs") << "leaving foreign service " << k.str()
                           << " alone (not in the configuration)";
  foreign_seen_ = std::move(now);
}

Report Reconciler::cleanup(CleanupPolicy policy) {
  Report report;
  if (policy == CleanupPolicy::keep) return report;
  std::vector<Operation> ops;
  for (const auto& key : owned_) ops.push_back(DelService{key});
  report.planned = ops.size();
  std::vector<Result<void>> results = backend_.apply_all(ops);
  for (size_t i = 0; i < ops.size(); ++i) {
    // Already gone is as good as deleted.
    if (!results[i] && results[i].error().code == ESRCH) results[i] = Result<void>();
    record(ops[i], results[i], report);
  }
  known_.reset();
  counters_.owned_services = owned_.size();
  if (!ops.empty())
    HD_LOG(info, "ipvs") << "cleanup: deleted " << report.applied << " of " << report.planned
                         << " owned services";
  return report;
}

}  // namespace hd::ipvs
