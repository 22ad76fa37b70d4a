// SPDX-License-Identifier: GPL-2.0-or-later
// Pure HTTP answer matching: status against expect_status ranges, then the
// body against body_contains, body_regex (POSIX extended) and body_sha256.
// No I/O: http_check.cpp feeds it what curl collected; the fuzzer feeds it
// anything.
#pragma once
#include <regex.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkers/result.h"
#include "checkers/spec.h"

namespace hd::checkers {

// The most body bytes kept for matching; a longer body is cut here.
inline constexpr size_t kMaxBody = 64 * 1024;

// "200-299", "200,301-302", "204 304": codes or ranges, separated by commas
// and/or blanks, each code in 100..599. On error, nothing and *error says why.
std::optional<std::vector<StatusRange>> parse_status_ranges(std::string_view text,
                                                            std::string* error = nullptr);
// "200-299,301"
std::string format_status_ranges(const std::vector<StatusRange>& ranges);

// Why body_regex is refused before regcomp() sees it, or nothing. glibc's
// regcomp() copies a repeated subexpression once per repetition, so stacked
// or nested repetitions ("a+++++", "((a{99}){99}){99}") take memory
// exponential in the pattern's length, and back-references make regexec()
// backtrack over a body the server chooses. Refused: patterns over 512
// bytes, back-references and stacked repetition operators (both undefined in
// POSIX EREs), interval bounds over 255, and patterns whose repetitions
// multiply past 1000.
std::optional<std::string> regex_guard(std::string_view pattern);

// Compiles body_regex as it runs: first as written (so an unbalanced pattern is refused
// with regcomp's message, and cannot be balanced by what follows), then as "^.*(RE)".
// With REG_NEWLINE that matches exactly the bodies the pattern matches unanchored (a match
// never spans lines, and "^" starts each line), but glibc's regexec stops trying at every
// position of a long line: a pattern that fails late ("a.*b.*z" on 64 KiB of minified
// HTML) takes milliseconds instead of seconds on the main loop. Returns regcomp's code
// (0: `out` holds the compiled form, to regfree()), and its message in `error`. (The
// prefix is "^[^<newline>]*": "." would not cross a NUL byte.)
int compile_body_regex(const std::string& re, regex_t* out, std::string& error);

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

class HttpMatcher {
 public:
  // Compiles body_regex. error() says why when it does not compile.
  explicit HttpMatcher(const Spec& spec);
  ~HttpMatcher();
  HttpMatcher(const HttpMatcher&) = delete;
  HttpMatcher& operator=(const HttpMatcher&) = delete;

  const std::optional<std::string>& error() const { return error_; }
  // Whether match() looks at the body at all (if not, the probe need not read it).
  bool needs_body() const { return needs_body_; }
  // truncated: the body was longer than kMaxBody and cut. A std::string, as
  // regexec (even with REG_STARTEND, which lets it see past NUL bytes) wants
  // a terminated string: sanitizers check strlen() of it.
  Result match(int status, const std::string& body, bool truncated = false) const;

 private:
  std::vector<StatusRange> ranges_;
  std::string contains_;
  std::string sha256_;  // lower case
  bool needs_body_ = false;
  bool has_regex_ = false;
  regex_t regex_{};
  std::optional<std::string> error_;
};

}  // namespace hd::checkers
