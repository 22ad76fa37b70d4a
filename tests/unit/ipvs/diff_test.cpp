// SPDX-License-Identifier: GPL-2.0-or-later
// plan(): minimal operations, in dependency order, never touching foreign services.
#include "ipvs/diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

Table web(int weight2 = 1, std::string sched = "wrr") {
  return table({service(kWeb, sched, {dest("10.0.0.2", 80, weight2), dest("10.0.0.3", 80)})});
}

Service settings(const Service& s) {
  Service out = s;
  out.destinations.clear();
  return out;
}

TEST(Plan, UnchangedTableGivesZeroOperations) {
  Plan p = plan(web(), web(), {});
  EXPECT_THAT(p.ops, IsEmpty());
  EXPECT_THAT(p.foreign, IsEmpty());
}

TEST(Plan, OneWeightChangeIsOneEditDest) {
  Plan p = plan(web(5), web(1), {kWeb});
  EXPECT_THAT(p.ops, ElementsAre(Operation(EditDest{kWeb, dest("10.0.0.2", 80, 5)})));
}

TEST(Plan, SchedulerChangeIsEditServiceNotDeleteAdd) {
  Plan p = plan(web(1, "wlc"), web(1, "wrr"), {kWeb});
  ASSERT_EQ(p.ops.size(), 1u);
  auto* edit = std::get_if<EditService>(&p.ops[0]);
  ASSERT_NE(edit, nullptr);
  EXPECT_EQ(edit->service.scheduler, "wlc");
  EXPECT_THAT(edit->service.destinations, IsEmpty());  // settings only
}

TEST(Plan, FlagsPersistenceAndNetmaskAreServiceEdits) {
  Table want = web();
  want[kWeb].flags = kPersistent;
  want[kWeb].timeout = 300;
  want[kWeb].netmask = 24;
  Plan p = plan(want, web(), {});
  ASSERT_EQ(p.ops.size(), 1u);
  EXPECT_EQ(kind(p.ops[0]), OpKind::edit_service);
}

TEST(Plan, ForwardingMethodChangeIsEditDest) {
  Table want = web();
  want[kWeb].destinations[0].method = Method::dr;
  Plan p = plan(want, web(), {});
  EXPECT_THAT(p.ops, ElementsAre(Operation(EditDest{kWeb, want[kWeb].destinations[0]})));
}

TEST(Plan, TunnelSettingsChangeIsEditDest) {
  Table have = web(), want = web();
  have[kWeb].destinations[0].method = want[kWeb].destinations[0].method = Method::tun;
  want[kWeb].destinations[0].tunnel = Tunnel{TunType::gue, 6080, 0};
  Plan p = plan(want, have, {});
  ASSERT_EQ(p.ops.size(), 1u);
  EXPECT_EQ(kind(p.ops[0]), OpKind::edit_dest);
}

TEST(Plan, ForeignServicesAreReportedAndLeftAlone) {
  Table have = web();
  have[kMail] = service(kMail, "rr", {dest("10.0.0.9", 25)});
  Plan p = plan(web(), have, {kWeb});
  EXPECT_THAT(p.ops, IsEmpty());
  EXPECT_THAT(p.foreign, ElementsAre(kMail));
  // Even with an empty desired table: not ours, not touched.
  p = plan(Table{}, have, {kWeb});
  EXPECT_THAT(p.ops, ElementsAre(Operation(DelService{kWeb})));
  EXPECT_THAT(p.foreign, ElementsAre(kMail));
}

TEST(Plan, OwnedServiceNoLongerDesiredIsDeletedWithoutItsDestinations) {
  Table have = web();
  have[kMail] = service(kMail, "rr", {dest("10.0.0.9", 25), dest("10.0.0.8", 25)});
  Plan p = plan(web(), have, {kWeb, kMail});
  EXPECT_THAT(p.ops, ElementsAre(Operation(DelService{kMail})));
}

TEST(Plan, NewServiceIsAddedBeforeItsDestinationsInConfiguredOrder) {
  Table want = web();
  Plan p = plan(want, Table{}, {});
  EXPECT_THAT(p.ops, ElementsAre(Operation(AddService{settings(want[kWeb])}),
                                 Operation(AddDest{kWeb, dest("10.0.0.2", 80)}),
                                 Operation(AddDest{kWeb, dest("10.0.0.3", 80)})));
}

TEST(Plan, OrderAddsAndEditsThenDestinationDeletionsThenServiceDeletions) {
  // Quorum lost: the reals go, the sorry server comes; another service goes away;
  // a third is new.
  Table have = web();
  have[kMail] = service(kMail, "rr", {dest("10.0.0.9", 25)});
  Table want = table({service(kWeb, "wlc", {dest("10.0.0.100", 80)})});
  ServiceKey ssh = tcp("10.0.0.1", 22);
  want[ssh] = service(ssh, "rr", {dest("10.0.0.7", 22)});
  Plan p = plan(want, have, {kWeb, kMail});
  EXPECT_THAT(p.ops, ElementsAre(Operation(AddService{settings(want[ssh])}),
                                 Operation(EditService{settings(want[kWeb])}),
                                 Operation(AddDest{ssh, dest("10.0.0.7", 22)}),
                                 Operation(AddDest{kWeb, dest("10.0.0.100", 80)}),
                                 Operation(DelDest{kWeb, DestKey{testing::ip("10.0.0.2"), 80}}),
                                 Operation(DelDest{kWeb, DestKey{testing::ip("10.0.0.3"), 80}}),
                                 Operation(DelService{kMail})));
}

TEST(Plan, AdoptsADesiredServiceItDidNotOwnYet) {
  // A restart: nothing owned yet, the kernel already holds what we want.
  Plan p = plan(web(), web(), {});
  EXPECT_THAT(p.ops, IsEmpty());
  EXPECT_THAT(p.foreign, IsEmpty());
  // ...and fixes what differs in it.
  p = plan(web(7), web(), {});
  EXPECT_EQ(p.ops.size(), 1u);
}

TEST(Plan, DuplicateDestinationKeepsTheFirst) {
  Table want = table({service(kWeb, "wrr", {dest("10.0.0.2", 80, 3), dest("10.0.0.2", 80, 9)})});
  Plan p = plan(want, Table{}, {});
  ASSERT_EQ(p.ops.size(), 2u);
  EXPECT_EQ(std::get<AddDest>(p.ops[1]).dest.weight, 3);
}

TEST(Plan, ThresholdChangeIsEditDest) {
  Table want = web();
  want[kWeb].destinations[1].u_threshold = 100;
  want[kWeb].destinations[1].l_threshold = 50;
  Plan p = plan(want, web(), {});
  EXPECT_THAT(p.ops, ElementsAre(Operation(EditDest{kWeb, want[kWeb].destinations[1]})));
}

}  // namespace
}  // namespace hd::ipvs
