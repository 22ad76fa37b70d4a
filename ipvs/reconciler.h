// SPDX-License-Identifier: GPL-2.0-or-later
// Makes the kernel's IPVS table what desired() says it should be: dump, plan
// (diff.h), apply through a Backend, count. The only writer of IPVS in the
// process.
//
//  * Owned services: the desired keys of every reconcile so far, plus those
//    given at construction (e.g. remembered across a restart). Only owned
//    services are edited or deleted; others are foreign, left alone, counted
//    and logged once when first seen.
//  * A failed operation is counted, logged once (repeats of the same failure
//    log at debug level; success after failure logs "recovered") and, since
//    the next reconcile plans from a fresh dump, retried then.
//  * Adoption: a restart with an unchanged config finds the table it wants
//    and plans zero operations: no connection is disturbed.
//  * Synchronous, loop-free: reconcile() returns when the backend has answered,
//    so the object can live on a thread of its own.
#pragma once
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "ipvs/backend.h"
#include "ipvs/diff.h"

namespace hd::ipvs {

struct Report {
  std::optional<Error> dump_error;  // set: the table could not be read, nothing was applied
  size_t services = 0;  // services the plan compared (all of them, or a scoped run's)
  size_t planned = 0;
  size_t applied = 0;
  std::vector<Error> errors;  // one per failed operation
  std::vector<ServiceKey> foreign;
  // The first kMaxListedOps operations applied, described ("add destination ..."), for the
  // event stream; `applied` counts them all.
  static constexpr size_t kMaxListedOps = 64;
  std::vector<std::string> applied_ops;
  bool ok() const { return !dump_error && errors.empty(); }
};

struct Counters {
  std::array<uint64_t, kOpKinds> applied{};  // successful operations by OpKind
  uint64_t op_errors = 0;                    // failed operations
  uint64_t dump_errors = 0;
  uint64_t reconciles = 0;
  std::optional<TimePoint> last_sync;  // last reconcile that left the table as desired
  size_t foreign_services = 0;         // at the last dump
  size_t owned_services = 0;
};

enum class CleanupPolicy {
  keep,          // leave the table: traffic keeps flowing while the daemon is away
  remove_owned,  // delete every owned service (foreign ones stay)
};

class Reconciler {
 public:
  Reconciler(Backend& backend, const Clock& clock, std::set<ServiceKey> owned = {});

  // Dump, plan against the dump, apply.
  Report reconcile(const Table& desired);
  // Plan against the table as the last reconcile left it (its dump plus the
  // operations that succeeded since), without a dump: for frequent health
  // changes between periodic reconcile()s. Dumps when there is no such view
  // or an operation failed since the last dump.
  Report reconcile_cached(const Table& desired);
  // reconcile_cached() for the services in `scope` only (their entries in `desired` against
  // theirs in the cached table): a health change plans and applies its own service, not a
  // table of 100,000 destinations. Without a cached table it is reconcile(desired).
  Report reconcile_some(const Table& desired, const std::set<ServiceKey>& scope);
  // reconcile_some() after a fresh read of the scope's services: `fresh` holds those of
  // them that are in the kernel (as Backend::dump_services/dump_destinations read them) and
  // replaces their entries in the cached table first (one missing from `fresh` is gone from
  // it). A drift sweep repairs the table this way a few services at a time.
  Report reconcile_fresh(const Table& desired, const Table& fresh,
                         const std::set<ServiceKey>& scope);
  // The services in the kernel (a fresh service list) that are neither in `desired` nor
  // owned: counted and logged as foreign, as a whole reconcile does.
  void note_foreign_in(const Table& listed, const Table& desired);
  // On stop. remove_owned deletes each owned service (one that is already gone
  // counts as deleted).
  Report cleanup(CleanupPolicy policy);

  const std::set<ServiceKey>& owned() const { return owned_; }
  // Counts the operations applied; touched(key) is the count when the last one on that
  // service was applied (0: none). A drift sweep that read the service list at seq() S
  // skips a service with touched() > S: our own operations since have changed it, and the
  // cached table already knows how (a service we deleted dumps as an empty one).
  uint64_t seq() const { return seq_; }
  uint64_t touched(const ServiceKey& key) const {
    auto it = touched_.find(key);
    return it == touched_.end() ? 0 : it->second;
  }
  const Counters& counters() const { return counters_; }
  // The kernel's table as the last reconcile left it (its dump plus the operations that
  // succeeded since); nullopt before the first dump or after a failed one.
  const std::optional<Table>& known() const { return known_; }

 private:
  // Plans `desired` against known_ (only `scope`'s services when given) and applies the
  // plan, updating known_ in place.
  Report run(const Table& desired, const std::set<ServiceKey>* scope = nullptr);
  void record(const Operation& op, const Result<void>& r, Report& report);
  void note_foreign(const std::vector<ServiceKey>& foreign);

  Backend& backend_;
  const Clock& clock_;
  std::set<ServiceKey> owned_;
  Counters counters_;
  std::optional<Table> known_;                  // the kernel's table as far as we know
  std::map<std::string, std::string> failing_;  // operation -> its last logged error
  std::set<ServiceKey> foreign_seen_;
  uint64_t seq_ = 0;
  std::map<ServiceKey, uint64_t> touched_;
  bool dump_failing_ = false;
};

}  // namespace hd::ipvs
