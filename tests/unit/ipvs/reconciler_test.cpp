// SPDX-License-Identifier: GPL-2.0-or-later
// Reconciler over the fake backend: adoption, minimal changes, drift repair,
// foreign services, failures counted and retried, cleanup.
#include "ipvs/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "ipvs/desired.h"
#include "ipvs/fake_backend.h"
#include "test_util.h"

namespace hd::ipvs {
namespace {

using testing::dest;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::service;
using testing::table;
using testing::tcp;

const ServiceKey kWeb = tcp("10.0.0.1", 80);
const ServiceKey kMail = tcp("10.0.0.1", 25);

Table web(int weight = 1) {
  return table({service(kWeb, "wrr", {dest("10.0.0.2", 80, weight), dest("10.0.0.3", 80)})});
}

uint64_t applied(const Reconciler& r, OpKind k) {
  return r.counters().applied[static_cast<size_t>(k)];
}

class ReconcilerTest : public ::testing::Test {
 protected:
  FakeBackend kernel;
  ManualClock clock;
};

TEST_F(ReconcilerTest, ProgramsFromEmptyThenNothingToDo) {
  Reconciler r(kernel, clock);
  Report rep = r.reconcile(web());
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.planned, 3u);
  EXPECT_EQ(rep.applied, 3u);
  EXPECT_EQ(kernel.table(), web());
  EXPECT_EQ(applied(r, OpKind::add_service), 1u);
  EXPECT_EQ(applied(r, OpKind::add_dest), 2u);
  EXPECT_EQ(r.counters().last_sync, clock.now());
  EXPECT_THAT(r.owned(), ElementsAre(kWeb));

  clock.advance(std::chrono::seconds(1));
  rep = r.reconcile(web());
  EXPECT_EQ(rep.planned, 0u);
  EXPECT_EQ(r.counters().last_sync, clock.now());
  EXPECT_EQ(r.counters().reconciles, 2u);
}

TEST_F(ReconcilerTest, RestartWithUnchangedConfigAdoptsWithZeroOperations) {
  {
    Reconciler first(kernel, clock);
    (void)first.reconcile(web());
  }
  kernel.clear_log();
  Reconciler second(kernel, clock);  // a new process: owns nothing yet
  Report rep = second.reconcile(web());
  EXPECT_EQ(rep.planned, 0u);
  EXPECT_THAT(kernel.attempted(), IsEmpty());
  EXPECT_THAT(second.owned(), ElementsAre(kWeb));  // adopted
}

TEST_F(ReconcilerTest, OneChangeIsOneOperation) {
  Reconciler r(kernel, clock);
  (void)r.reconcile(web());
  kernel.clear_log();
  Report rep = r.reconcile(web(4));
  EXPECT_EQ(rep.planned, 1u);
  EXPECT_THAT(kernel.applied(), ElementsAre(Operation(EditDest{kWeb, dest("10.0.0.2", 80, 4)})));
  EXPECT_EQ(applied(r, OpKind::edit_dest), 1u);
}

// A health change plans its own service only: the other service's difference (drift the
// cached view does not know about, or a new wish) waits for a whole plan; the cached view
// is updated in place with what was applied.
TEST_F(ReconcilerTest, AScopedReconcilePlansOnlyItsServices) {
  Reconciler r(kernel, clock);
  Table both = web();
  both[kMail] = service(kMail, "rr", {dest("10.0.0.4", 25)});
  (void)r.reconcile(both);
  kernel.clear_log();
  Table next = both;
  next[kWeb].destinations[0].weight = 5;  // the changed service
  next[kMail].destinations[0].weight = 7;  // another difference, not in scope
  Report rep = r.reconcile_some(next, {kWeb});
  EXPECT_EQ(rep.services, 1u);
  EXPECT_EQ(rep.planned, 1u);
  EXPECT_THAT(kernel.applied(), ElementsAre(Operation(EditDest{kWeb, dest("10.0.0.2", 80, 5)})));
  ASSERT_TRUE(r.known());
  EXPECT_EQ(r.known()->at(kWeb), next.at(kWeb));   // updated in place
  EXPECT_EQ(r.known()->at(kMail), both.at(kMail));  // untouched
  kernel.clear_log();
  rep = r.reconcile_cached(next);  // the whole plan picks the rest up
  EXPECT_EQ(rep.services, 2u);
  EXPECT_THAT(kernel.applied(), ElementsAre(Operation(EditDest{kMail, dest("10.0.0.4", 25, 7)})));
  // Without a cached view it is a whole reconcile (with a dump).
  Reconciler fresh(kernel, clock);
  kernel.clear_log();
  rep = fresh.reconcile_some(web(2), {kWeb});
  EXPECT_TRUE(rep.ok());
  EXPECT_TRUE(fresh.known().has_value());
}

TEST_F(ReconcilerTest, DriftIsRepairedWithExactlyTheMissingOperation) {
  Reconciler r(kernel, clock);
  (void)r.reconcile(web());
  kernel.table()[kWeb].destinations.pop_back();  // someone ran ipvsadm -d
  kernel.clear_log();
  (void)r.reconcile(web());
  EXPECT_THAT(kernel.applied(), ElementsAre(Operation(AddDest{kWeb, dest("10.0.0.3", 80)})));
}

TEST_F(ReconcilerTest, ForeignServicesAreLeftAloneAndCounted) {
  kernel.table()[kMail] = service(kMail, "rr", {dest("10.0.0.9", 25)});
  Reconciler r(kernel, clock);
  Report rep = r.reconcile(web());
  EXPECT_THAT(rep.foreign, ElementsAre(kMail));
  EXPECT_EQ(r.counters().foreign_services, 1u);
  (void)r.reconcile(Table{});  // our service goes; the foreign one stays
  EXPECT_EQ(kernel.table().size(), 1u);
  EXPECT_TRUE(kernel.table().count(kMail));
  EXPECT_THAT(r.owned(), IsEmpty());
}

TEST_F(ReconcilerTest, RemovedFromConfigIsDeletedBecauseOwned) {
  Reconciler r(kernel, clock);
  Table both = web();
  both[kMail] = service(kMail, "rr", {dest("10.0.0.9", 25)});
  (void)r.reconcile(both);
  kernel.clear_log();
  (void)r.reconcile(web());
  EXPECT_THAT(kernel.applied(), ElementsAre(Operation(DelService{kMail})));
  EXPECT_THAT(r.owned(), ElementsAre(kWeb));
}

TEST_F(ReconcilerTest, OwnedAtConstructionMayBeDeleted) {
  kernel.table()[kMail] = service(kMail, "rr");
  Reconciler r(kernel, clock, {kMail});  // remembered from a previous run
  (void)r.reconcile(web());
  EXPECT_FALSE(kernel.table().count(kMail));
}

TEST_F(ReconcilerTest, FailedOperationIsCountedAndRetriedNextTime) {
  Reconciler r(kernel, clock);
  kernel.fail_when([](const Operation& op) { return kind(op) == OpKind::add_dest; }, ENOMEM, 1);
  Report rep = r.reconcile(web());
  EXPECT_FALSE(rep.ok());
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0].code, ENOMEM);
  EXPECT_THAT(rep.errors[0].message, ::testing::HasSubstr("add destination 10.0.0.2:80"));
  EXPECT_EQ(rep.applied, 2u);
  EXPECT_EQ(r.counters().op_errors, 1u);
  EXPECT_EQ(r.counters().last_sync, std::nullopt);

  kernel.clear_log();
  clock.advance(std::chrono::seconds(5));
  rep = r.reconcile(web());
  EXPECT_TRUE(rep.ok());
  EXPECT_THAT(kernel.applied(), ElementsAre(Operation(AddDest{kWeb, dest("10.0.0.2", 80)})));
  EXPECT_EQ(kernel.table(), web());
  EXPECT_EQ(r.counters().last_sync, clock.now());
}

TEST_F(ReconcilerTest, PersistentFailureKeepsBeingCounted) {
  Reconciler r(kernel, clock);
  kernel.fail_when([](const Operation& op) { return kind(op) == OpKind::add_service; }, EPERM);
  for (int i = 0; i < 3; ++i) {
    Report rep = r.reconcile(web());
    // The service fails, so do its destinations (no such service).
    EXPECT_EQ(rep.errors.size(), 3u);
    EXPECT_EQ(rep.errors[1].code, ESRCH);
  }
  EXPECT_EQ(r.counters().op_errors, 9u);
  EXPECT_TRUE(kernel.table().empty());
}

TEST_F(ReconcilerTest, DumpFailureAppliesNothing) {
  Reconciler r(kernel, clock);
  kernel.fail_dumps(Error{"dump IPVS services: Operation not permitted", EPERM});
  Report rep = r.reconcile(web());
  ASSERT_TRUE(rep.dump_error);
  EXPECT_EQ(rep.dump_error->code, EPERM);
  EXPECT_THAT(kernel.attempted(), IsEmpty());
  EXPECT_EQ(r.counters().dump_errors, 1u);
  EXPECT_TRUE(r.reconcile(web()).ok());
}

TEST_F(ReconcilerTest, CachedReconcilePlansWithoutDumping) {
  Reconciler r(kernel, clock);
  (void)r.reconcile(web());
  size_t dumps = kernel.dumps();
  kernel.clear_log();
  Report rep = r.reconcile_cached(web(6));
  EXPECT_EQ(rep.planned, 1u);
  EXPECT_EQ(kernel.dumps(), dumps);
  EXPECT_EQ(r.reconcile_cached(web(6)).planned, 0u);
  EXPECT_EQ(kernel.dumps(), dumps);
  EXPECT_EQ(kernel.table(), web(6));
}

TEST_F(ReconcilerTest, CachedReconcileDumpsAfterAFailure) {
  Reconciler r(kernel, clock);
  kernel.fail_when([](const Operation& op) { return kind(op) == OpKind::add_dest; }, ENOMEM, 1);
  (void)r.reconcile(web());
  size_t dumps = kernel.dumps();
  Report rep = r.reconcile_cached(web());
  EXPECT_EQ(kernel.dumps(), dumps + 1);
  EXPECT_EQ(rep.planned, 1u);
  EXPECT_EQ(kernel.table(), web());
}

TEST_F(ReconcilerTest, CleanupRemovesOwnedServicesOnly) {
  kernel.table()[kMail] = service(kMail, "rr");
  Reconciler r(kernel, clock);
  (void)r.reconcile(web());
  EXPECT_EQ(r.cleanup(CleanupPolicy::keep).planned, 0u);
  EXPECT_EQ(kernel.table().size(), 2u);
  kernel.table().erase(kWeb);  // already gone: still a success
  Report rep = r.cleanup(CleanupPolicy::remove_owned);
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.applied, 1u);
  EXPECT_THAT(r.owned(), IsEmpty());
  EXPECT_THAT(kernel.table(), ElementsAre(::testing::Key(kMail)));
}

TEST_F(ReconcilerTest, WithDesiredStateQuorumLossSwapsInTheSorryServerInOneReconcile) {
  VirtualServiceSpec spec;
  spec.key = kWeb;
  spec.scheduler = "wrr";
  spec.quorum = 2;
  spec.sorry = dest("10.0.0.100", 80);
  spec.reals = {RealSpec{"a", dest("10.0.0.2", 80)}, RealSpec{"b", dest("10.0.0.3", 80)}};
  QuorumStates q;
  Reconciler r(kernel, clock);
  (void)r.reconcile(desired({spec}, {}, clock.now(), q));
  kernel.clear_log();
  HealthMap h{{"a", RealHealth{false}}};
  (void)r.reconcile(desired({spec}, h, clock.now(), q));
  // Make before break: the sorry server first, then the reals go.
  EXPECT_THAT(kernel.applied(),
              ElementsAre(Operation(AddDest{kWeb, dest("10.0.0.100", 80)}),
                          Operation(DelDest{kWeb, DestKey{testing::ip("10.0.0.2"), 80}}),
                          Operation(DelDest{kWeb, DestKey{testing::ip("10.0.0.3"), 80}})));
}

}  // namespace
}  // namespace hd::ipvs
