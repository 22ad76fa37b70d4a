// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/check_state.h"

#include <gtest/gtest.h>

#include <cerrno>

#include <string>
#include <vector>

namespace hd::checkers {
namespace {

using std::chrono::seconds;

Result ok() {
  return Result::success();
}
Result refused() {
  return Result::failure(Reason::connect_refused);
}
Result status(int s) {
  return Result::failure(Reason::bad_status, s);
}

// One row: hysteresis, a result sequence (+ ok, - refused), and the state
// after each result ('U' up, 'D' down).
struct Row {
  const char* name;
  Hysteresis h;
  std::string results;
  std::string states;
};

TEST(CheckState, RiseFallTable) {
  const Row rows[] = {
      {"defaults: down, one success ups, one failure downs", {1, 1, false}, "+-+", "UDU"},
      {"rise 3 needs three in a row", {3, 1, false}, "++-+++", "DDDDDU"},
      {"fall 2 tolerates a single failure", {1, 2, false}, "+-+--", "UUUUD"},
      {"initial up stays up until fall failures", {2, 3, true}, "--+---", "UUUUUD"},
      {"initial up, first success changes nothing", {1, 1, true}, "++", "UU"},
      {"flapping never reaches rise 2 / fall 2", {2, 2, false}, "+-+-+-", "DDDDDD"},
      {"flapping around an up server", {2, 2, true}, "-+-+-+", "UUUUUU"},
      // ? = the probe could not run on this host (out of descriptors): no evidence either way.
      {"inconclusive results never take a server down", {1, 1, true}, "????", "UUUU"},
      {"nor bring one up", {1, 1, false}, "????", "DDDD"},
      {"and do not break a failure streak", {1, 3, true}, "-?-?-", "UUUUD"},
      {"or a success streak", {3, 1, false}, "+?+?+", "DDDDU"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ManualClock clock;
    CheckState s(row.h, clock.now());
    std::string got;
    for (char c : row.results) {
      clock.advance(seconds(1));
      s.on_result(c == '+'   ? ok()
                  : c == '?' ? Result::failure(Reason::local_error, EMFILE)
                             : refused(),
                  clock.now());
      got += s.up() ? 'U' : 'D';
    }
    EXPECT_EQ(got, row.states);
  }
}

TEST(CheckState, TransitionsCarryTimeReasonAndCounters) {
  ManualClock clock;
  TimePoint t0 = clock.now();
  CheckState s({2, 2, false}, t0);
  EXPECT_FALSE(s.up());
  EXPECT_EQ(s.since(), t0);
  EXPECT_FALSE(s.last_result().has_value());

  clock.advance(seconds(1));
  EXPECT_FALSE(s.on_result(ok(), clock.now()));
  EXPECT_EQ(s.consecutive(), 1);
  clock.advance(seconds(1));
  auto up = s.on_result(ok(), clock.now());
  ASSERT_TRUE(up);
  EXPECT_FALSE(up->was_up);
  EXPECT_TRUE(up->up);
  EXPECT_EQ(up->at, t0 + seconds(2));
  EXPECT_EQ(up->result.to_string(), "ok");
  EXPECT_EQ(s.since(), t0 + seconds(2));

  clock.advance(seconds(1));
  EXPECT_FALSE(s.on_result(status(503), clock.now()));
  EXPECT_EQ(s.consecutive(), 1);
  clock.advance(seconds(1));
  auto down = s.on_result(status(503), clock.now());
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->up);
  EXPECT_EQ(down->result.to_string(), "bad status 503");
  EXPECT_EQ(s.since(), t0 + seconds(4));
  EXPECT_EQ(s.consecutive(), 2);
  EXPECT_EQ(s.checks(), 4u);
  EXPECT_EQ(s.failures(), 2u);
  EXPECT_EQ(s.transitions(), 2u);
  EXPECT_EQ(s.last_result()->reason, Reason::bad_status);
}

TEST(CheckState, TheCauseOfTheLastChangeOutlivesLaterResults) {
  ManualClock clock;
  CheckState s({1, 1, true}, clock.now());
  EXPECT_FALSE(s.cause().has_value());  // initial state: no transition yet
  ASSERT_TRUE(s.on_result(status(503), clock.now()));
  EXPECT_EQ(s.cause()->to_string(), "bad status 503");
  // Further failures of another kind change the last result, not the cause.
  EXPECT_FALSE(s.on_result(refused(), clock.now()));
  EXPECT_EQ(s.last_result()->to_string(), "connect refused");
  EXPECT_EQ(s.cause()->to_string(), "bad status 503");
  ASSERT_TRUE(s.on_result(ok(), clock.now()));
  EXPECT_EQ(s.cause()->to_string(), "ok");
}

TEST(CheckState, RiseAndFallBelowOneMeanOne) {
  ManualClock clock;
  CheckState s({0, -3, false}, clock.now());
  EXPECT_TRUE(s.on_result(ok(), clock.now()));
  EXPECT_TRUE(s.on_result(refused(), clock.now()));
}

TEST(CheckState, WeightChangesWhileUpAreTransitions) {
  ManualClock clock;
  CheckState s({1, 1, false}, clock.now());
  Result w5 = Result::success(3);
  w5.weight = 5;
  Result w9 = Result::success(4);
  w9.weight = 9;

  auto t = s.on_result(w5, clock.now());
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->weight_only());
  EXPECT_EQ(t->weight, 5);
  TimePoint up_since = s.since();

  clock.advance(seconds(1));
  EXPECT_FALSE(s.on_result(w5, clock.now()));  // same weight: nothing

  clock.advance(seconds(1));
  t = s.on_result(w9, clock.now());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->weight_only());
  EXPECT_EQ(t->weight, 9);
  EXPECT_EQ(s.since(), up_since);  // still up since then

  clock.advance(seconds(1));
  t = s.on_result(ok(), clock.now());  // exit 0, no mapping: back to the configured weight
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->weight_only());
  EXPECT_FALSE(t->weight.has_value());

  t = s.on_result(refused(), clock.now());
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->up);
  EXPECT_FALSE(s.weight().has_value());
}

TEST(CheckState, InconclusiveResultsAreCountedAndShownButKeepTheStreak) {
  ManualClock clock;
  CheckState s({3, 3, false}, clock.now());
  s.on_result(ok(), clock.now());
  s.on_result(ok(), clock.now());
  s.on_result(Result::failure(Reason::local_error, EMFILE), clock.now());
  EXPECT_EQ(s.inconclusive(), 1u);
  EXPECT_EQ(s.failures(), 0u);
  EXPECT_EQ(s.consecutive(), 2);  // the two successes still count
  EXPECT_EQ(s.last_result()->to_string(), "local error: Too many open files");
  EXPECT_TRUE(s.on_result(ok(), clock.now()).has_value());  // the third success in a row
  EXPECT_TRUE(s.up());
}

TEST(Result, LocalResourceErrorsAreTheHostsNotTheServers) {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EAGAIN}) {
    SCOPED_TRACE(e);
    EXPECT_TRUE(Result::failure_or_local(Reason::connect_failed, e).inconclusive());
  }
  for (int e : {EHOSTUNREACH, ENETUNREACH, ECONNREFUSED, EADDRNOTAVAIL, ENOENT, EACCES}) {
    SCOPED_TRACE(e);
    EXPECT_FALSE(Result::failure_or_local(Reason::connect_failed, e).inconclusive());
  }
}

TEST(Result, ReasonText) {
  struct Case {
    Result r;
    const char* text;
  };
  const Case cases[] = {
      {Result::success(), "ok"},
      {Result::failure(Reason::connect_refused), "connect refused"},
      {Result::failure(Reason::connect_timeout), "connect timeout"},
      {Result::failure(Reason::connect_failed, EHOSTUNREACH), "connect failed: No route to host"},
      {Result::failure(Reason::timeout), "timeout"},
      {Result::failure(Reason::reset), "connection reset"},
      {Result::failure(Reason::bad_status, 503), "bad status 503"},
      {Result::failure(Reason::body_mismatch, 200, "no \"ok\""), "body mismatch: no \"ok\""},
      {Result::failure(Reason::script_exit, 2), "script exit 2"},
      {Result::failure(Reason::script_timeout), "script timeout"},
      {Result::failure(Reason::script_killed, 9), "script killed by signal 9"},
      {Result::failure(Reason::spawn_failed, ENOENT), "spawn failed: No such file or directory"},
      {Result::failure(Reason::tls_error, 0, "bad cert"), "tls error: bad cert"},
      {Result::failure(Reason::local_error, EMFILE), "local error: Too many open files"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.r.to_string(), c.text);
}

}  // namespace
}  // namespace hd::checkers

namespace hd::checkers {
namespace {

// A check keeps its results compactly (StoredResult): every field comes back as it was.
TEST(StoredResult, KeepsEveryFieldOfAResult) {
  StoredResult s;
  EXPECT_FALSE(s.get().has_value());
  Result r = Result::failure(Reason::bad_status, 503, "Service Unavailable");
  s = r;
  EXPECT_EQ(s.get(), r);
  Result w = Result::success();
  w.weight = 7;
  s = w;
  EXPECT_EQ(s.get(), w);  // the old detail is gone
  StoredResult copy = s;
  s = r;
  EXPECT_EQ(copy.get(), w);
  EXPECT_EQ(s.get(), r);
}

}  // namespace
}  // namespace hd::checkers
