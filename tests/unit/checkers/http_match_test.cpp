// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/http_match.h"

#include <gtest/gtest.h>

namespace hd::checkers {
namespace {

TEST(StatusRanges, Parse) {
  using V = std::vector<StatusRange>;
  EXPECT_EQ(parse_status_ranges("200-299"), (V{{200, 299}}));
  EXPECT_EQ(parse_status_ranges("200,301-302 404"), (V{{200, 200}, {301, 302}, {404, 404}}));
  EXPECT_EQ(parse_status_ranges(" 204 , 304 "), (V{{204, 204}, {304, 304}}));
  std::string err;
  for (const char* bad :
       {"", ",", "99", "600", "2000", "300-200", "20x", "-", "200-", "1e2", "+200", "200--300"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_status_ranges(bad, &err).has_value());
    EXPECT_FALSE(err.empty());
  }
  EXPECT_EQ(format_status_ranges(*parse_status_ranges("200-299,301")), "200-299,301");
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HttpMatcher, StatusThenBody) {
  Spec s;
  s.type = CheckType::http;
  {
    HttpMatcher m(s);
    EXPECT_FALSE(m.needs_body());
    EXPECT_TRUE(m.match(200, "").ok());
    EXPECT_TRUE(m.match(299, "").ok());
    EXPECT_EQ(m.match(301, "").to_string(), "bad status 301");
    EXPECT_EQ(m.match(0, "").to_string(), "bad status 0");
  }
  s.expect_status = {{200, 200}, {500, 503}};
  s.body_contains = "healthy";
  s.body_regex = "^version: [0-9]+\\.[0-9]+$";
  {
    HttpMatcher m(s);
    ASSERT_FALSE(m.error());
    EXPECT_TRUE(m.needs_body());
    EXPECT_TRUE(m.match(502, "healthy\nversion: 1.2\n").ok());
    EXPECT_EQ(m.match(504, "healthy").reason, Reason::bad_status);
    EXPECT_EQ(m.match(200, "sick\nversion: 1.2").to_string(), "body mismatch: no \"healthy\"");
    EXPECT_EQ(m.match(200, "healthy\nversion: x").to_string(),
              "body mismatch: regex does not match");
  }
  // Anchors match at line boundaries (grep's view of a body).
  s.body_contains.clear();
  s.body_regex = "^ok$";
  {
    HttpMatcher m(s);
    EXPECT_TRUE(m.match(200, "status\nok\nmore").ok());
    EXPECT_FALSE(m.match(200, "status: ok").ok());
  }
}

TEST(HttpMatcher, RegexSeesPastNulBytes) {
  Spec s;
  s.body_regex = "tail";
  HttpMatcher m(s);
  using namespace std::string_literals;
  EXPECT_TRUE(m.match(200, "head\0tail"s).ok());
  EXPECT_FALSE(m.match(200, "head\0tai"s).ok());
}

TEST(HttpMatcher, Digest) {
  Spec s;
  s.body_sha256 = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
  HttpMatcher m(s);
  EXPECT_TRUE(m.match(200, "abc").ok());
  auto r = m.match(200, "abd");
  EXPECT_EQ(r.reason, Reason::digest_mismatch);
  EXPECT_NE(r.to_string().find("got "), std::string::npos);
  EXPECT_EQ(m.match(200, "abc", /*truncated=*/true).reason, Reason::digest_mismatch);
}

TEST(RegexGuard, RefusesPatternsThatExplodeInRegcomp) {
  for (const char* ok : {"^ok$", "version: [0-9]+\\.[0-9]+", "[0-9]{1,3}(\\.[0-9]{1,3}){3}",
                         "(a|b)*c", "[]{}+*]+", "[[:alpha:]]{2,}", "x\\{2\\}+", "a{255}"})
    EXPECT_FALSE(regex_guard(ok)) << ok << ": " << regex_guard(ok).value_or("");
  for (const char* bad :
       {"a++", "a*+", "a{2}{3}", "a?*", "((a{99}){99}){99}", "a{256}", "a{1,x}", "a{3", "(a)\\1"})
    EXPECT_TRUE(regex_guard(bad)) << bad;
  EXPECT_TRUE(regex_guard(std::string(600, 'a')));
  Spec s;
  s.body_regex = "2000+++++++++++++++++++++++++++";  // found by the fuzzer: 1.4 GB in regcomp
  HttpMatcher m(s);
  EXPECT_TRUE(m.error());
  s.port = 80;
  s.type = CheckType::http;
  EXPECT_TRUE(validate(s));
}

// Patterns run as "^.*(RE)" (compile_body_regex): the same bodies match as with the pattern
// unanchored, an unbalanced pattern cannot be balanced by the wrapper, and repetitions that
// multiply past 1,000 are refused ("(a{99}){99}" took seconds per 64 KiB body).
TEST(HttpMatcher, AnchoredFormMatchesWhatThePatternMatches) {
  const char* patterns[] = {"ok",     "^ok$",   "a.*b",   "o|x",      "[0-9]{3}", "(ab)+c",
                            "^$",     "x$",     "^a|b$",  "[^a]b",    "k[.]",    "(^a)|(z$)"};
  const char* bodies[] = {"",         "ok",      "line1\nok\n", "xyz\nabc", "a\nb",
                          "123",      "ababc",   "\n\n",        "zzx",       "k.",
                          "ab\nbz"};
  for (auto* p : patterns) {
    regex_t plain;
    ASSERT_EQ(regcomp(&plain, p, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0) << p;
    Spec sp;
    sp.body_regex = p;
    HttpMatcher m(sp);
    ASSERT_FALSE(m.error()) << p;
    for (auto* b0 : bodies) {
      std::string b = b0;
      bool want = regexec(&plain, b.c_str(), 0, nullptr, 0) == 0;
      EXPECT_EQ(m.match(200, b).ok(), want) << "/" << p << "/ on \"" << b << "\"";
    }
    regfree(&plain);
  }
  for (const char* unbalanced : {"a)(b", ")", "(a", "a)|b"}) {
    Spec sp;
    sp.body_regex = unbalanced;
    EXPECT_TRUE(HttpMatcher(sp).error()) << unbalanced;
    EXPECT_TRUE(validate_body_regex(unbalanced)) << unbalanced;
  }
  EXPECT_TRUE(regex_guard("(a{99}){99}b"));
  EXPECT_FALSE(regex_guard("(a{30}){30}b"));
}

TEST(HttpMatcher, BadRegexIsAnInvalidCheck) {
  Spec s;
  s.body_regex = "(";
  HttpMatcher m(s);
  ASSERT_TRUE(m.error());
  EXPECT_EQ(m.match(200, "").reason, Reason::invalid_check);
}

TEST(Spec, Validate) {
  Spec s;
  s.port = 80;
  EXPECT_FALSE(validate(s));
  Spec bad = s;
  bad.port = 0;
  EXPECT_TRUE(validate(bad));
  bad = s;
  bad.type = CheckType::http;
  bad.path = "x";
  EXPECT_TRUE(validate(bad));
  bad = s;
  bad.type = CheckType::http;
  bad.body_sha256 = "abc";
  EXPECT_TRUE(validate(bad));
  bad = s;
  bad.type = CheckType::http;
  bad.method = HttpMethod::head;
  bad.body_contains = "x";
  EXPECT_TRUE(validate(bad));
  bad = s;
  bad.type = CheckType::script;
  EXPECT_EQ(validate(bad), "script: empty command");
  bad.argv = {"true"};
  EXPECT_TRUE(validate(bad));
  bad.argv = {"/bin/true"};
  EXPECT_FALSE(validate(bad));
  bad = s;
  bad.source_address = IpAddress::parse("::1");
  EXPECT_TRUE(validate(bad));
}

}  // namespace
}  // namespace hd::checkers
