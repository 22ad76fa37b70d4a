// SPDX-License-Identifier: GPL-2.0-or-later
// The control requests (parse_command, quoting) and who may make them (authorize,
// socket_access): pure functions, no socket.
#include "daemon/control/protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/control/server.h"

namespace hd::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Command parsed(std::string_view line) {
  auto p = parse_command(line);
  EXPECT_TRUE(p.command.has_value()) << line << ": " << p.error;
  return p.command.value_or(Command{});
}

std::string error_of(std::string_view line) {
  auto p = parse_command(line);
  EXPECT_FALSE(p.command.has_value()) << line;
  return p.error;
}

TEST(Protocol, OlderTextRequestsKeepTheirMeaning) {
  EXPECT_EQ(parsed("status").verb, Verb::status_text);
  EXPECT_EQ(parsed("status --json").verb, Verb::status_json);
  EXPECT_EQ(parsed("status-json").verb, Verb::status_json);
  EXPECT_EQ(parsed("reload").verb, Verb::reload);
  for (auto v : {Verb::status_text, Verb::status_json, Verb::reload}) EXPECT_TRUE(answers_text(v));
  for (auto v : {Verb::show, Verb::overrides, Verb::drain, Verb::weight}) EXPECT_FALSE(answers_text(v));
}

TEST(Protocol, RealServerRequests) {
  Command c = parsed("drain \"tcp 10.0.0.1:80\" 10.0.1.11:8080 --timeout 30s");
  EXPECT_EQ(c.verb, Verb::drain);
  EXPECT_EQ(c.vs, "tcp 10.0.0.1:80");
  EXPECT_EQ(c.rs, "10.0.1.11:8080");
  EXPECT_EQ(c.timeout, std::chrono::seconds(30));
  EXPECT_FALSE(c.wait);
  c = parsed("drain 10.0.0.1:80 10.0.1.11 --wait --timeout 5m");
  EXPECT_TRUE(c.wait);
  EXPECT_EQ(c.timeout, std::chrono::minutes(5));
  c = parsed("  drain 10.0.0.1:80   10.0.1.11 ");
  EXPECT_EQ(c.vs, "10.0.0.1:80");
  EXPECT_EQ(c.rs, "10.0.1.11");
  EXPECT_EQ(c.timeout, std::nullopt);
  EXPECT_EQ(parsed("weight a b 0").weight, 0);
  EXPECT_EQ(parsed("weight a b 65535").weight, 65535);
  EXPECT_EQ(parsed("weight a b default").weight, std::nullopt);
  EXPECT_EQ(parsed("maint a b").verb, Verb::maint);
  EXPECT_EQ(parsed("ready a b").verb, Verb::ready);
  EXPECT_EQ(parsed("clear a b").verb, Verb::clear);
  EXPECT_EQ(parsed("overrides").verb, Verb::overrides);
  EXPECT_EQ(parsed("show").verb, Verb::show);
}

TEST(Protocol, AnycastRequests) {
  Command c = parsed("withdraw 10.99.0.100");
  EXPECT_EQ(c.verb, Verb::withdraw);
  EXPECT_EQ(c.address, "10.99.0.100");
  EXPECT_EQ(parsed("announce 2001:db8::1").verb, Verb::announce);
  EXPECT_EQ(access_of(Verb::withdraw), Access::admin);
  auto p = parse_command("withdraw");
  ASSERT_FALSE(p.command);
  EXPECT_EQ(p.error, "missing the address (usage: withdraw ADDRESS)");
}

TEST(Protocol, BadRequestsSayWhatIsWrongAndHowToWriteIt) {
  EXPECT_THAT(error_of("frobnicate"), HasSubstr("unknown request 'frobnicate'"));
  EXPECT_THAT(error_of(""), HasSubstr("empty request"));
  EXPECT_THAT(error_of("drain a"), HasSubstr("usage: drain VS RS [--timeout DURATION] [--wait]"));
  EXPECT_THAT(error_of("weight a b"), HasSubstr("missing the weight"));
  EXPECT_THAT(error_of("weight a b 65536"), HasSubstr("from 0 to 65535"));
  EXPECT_THAT(error_of("weight a b -1"), HasSubstr("from 0 to 65535"));
  EXPECT_THAT(error_of("weight a b 3x"), HasSubstr("'3x'"));
  EXPECT_THAT(error_of("drain a b --timeout"), HasSubstr("--timeout needs a duration"));
  EXPECT_THAT(error_of("maint a b --wait"), HasSubstr("unexpected '--wait'"));
  EXPECT_THAT(error_of("drain a b --timeout soon"), HasSubstr("got 'soon'"));
  EXPECT_THAT(error_of("drain a b --timeout 0s"), HasSubstr("--timeout must be"));
  EXPECT_THAT(error_of("maint a b --timeout 3s"), HasSubstr("unexpected '--timeout'"));
  EXPECT_THAT(error_of("overrides x"), HasSubstr("unexpected 'x'"));
  EXPECT_THAT(error_of("drain \"tcp 10.0.0.1:80 b"), HasSubstr("unterminated quote"));
}

TEST(Protocol, QuotingRoundTrips) {
  EXPECT_THAT(*split_words(R"(a "b c" "d\"e" "f\\g" "" h"i j"k)"),
              ElementsAre("a", "b c", "d\"e", "f\\g", "", "hi jk"));
  EXPECT_EQ(split_words("\"open"), std::nullopt);
  for (std::string w : {"plain", "two words", "", "q\"uote", "back\\slash", "tab\there", "[::1]:80"})
    EXPECT_THAT(*split_words(quote_word(w)), ElementsAre(w)) << quote_word(w);
  EXPECT_EQ(quote_word("10.0.0.1:80"), "10.0.0.1:80");
  EXPECT_EQ(quote_word("tcp 10.0.0.1:80"), "\"tcp 10.0.0.1:80\"");
}

TEST(Protocol, ReadersReadAndAdminsChange) {
  EXPECT_EQ(access_of(Verb::status_text), Access::read);
  EXPECT_EQ(access_of(Verb::status_json), Access::read);
  EXPECT_EQ(access_of(Verb::show), Access::read);
  EXPECT_EQ(access_of(Verb::overrides), Access::read);
  for (auto v : {Verb::reload, Verb::drain, Verb::ready, Verb::maint, Verb::weight, Verb::clear})
    EXPECT_EQ(access_of(v), Access::admin) << to_string(v);
}

TEST(Protocol, AuthorisationByCredentials) {
  AccessPolicy none;
  AccessPolicy both{"ops", "monitor", 1500, 1600};
  Peer root{0, 0, 1, {}, ""};
  Peer bob{1001, 1001, 2, {27, 1600}, "bob"};    // in read_group (supplementary)
  Peer alice{1002, 1500, 3, {}, ""};              // admin_group as her primary group
  Peer eve{1003, 1003, 4, {1700}, ""};
  for (auto a : {Access::read, Access::admin}) {
    EXPECT_EQ(authorize(root, a, none), "");
    EXPECT_EQ(authorize(root, a, both), "");
    EXPECT_EQ(authorize(alice, a, both), "");
  }
  EXPECT_EQ(authorize(bob, Access::read, both), "");
  EXPECT_EQ(authorize(bob, Access::admin, both),
            "forbidden: uid 1001 (bob) is not root and not in admin_group 'ops': changing state "
            "needs root or admin_group");
  EXPECT_EQ(authorize(eve, Access::read, both),
            "forbidden: uid 1003 is not root and in neither admin_group 'ops' nor read_group "
            "'monitor'");
  EXPECT_EQ(authorize(bob, Access::read, none),
            "forbidden: uid 1001 (bob) is not root (neither admin_group nor read_group is "
            "configured)");
  EXPECT_THAT(authorize(alice, Access::admin, none), HasSubstr("no admin_group is configured"));
}

TEST(Protocol, SocketModeFollowsTheGroups) {
  EXPECT_EQ(socket_access({}), (SocketAccess{0600, std::nullopt}));
  EXPECT_EQ(socket_access({"ops", "", 1500, std::nullopt}), (SocketAccess{0660, 1500}));
  EXPECT_EQ(socket_access({"", "mon", std::nullopt, 1600}), (SocketAccess{0660, 1600}));
  EXPECT_EQ(socket_access({"ops", "ops", 1500, 1500}), (SocketAccess{0660, 1500}));
  EXPECT_EQ(socket_access({"ops", "mon", 1500, 1600}), (SocketAccess{0666, std::nullopt}));
}

}  // namespace
}  // namespace hd::control
