// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the HTTP answer matcher and expect_status parsing.
// Input: four fields separated by '\n':
//   expect_status text, HTTP status (decimal), body_regex, body (the rest).
// Checks: parsing never crashes; what parses formats and re-parses to the
// same ranges; a status inside a parsed range passes the status check; the
// matcher never crashes on any regex/body, NUL bytes included.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checkers/http_match.h"

namespace {

using namespace hd::checkers;

void check(bool ok) {
  if (!ok) std::abort();
}

std::string_view take_line(std::string_view& in) {
  auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view ranges_text = take_line(in);
  std::string_view status_text = take_line(in);
  std::string_view regex_text = take_line(in);
  std::string body(in.substr(0, 4096));

  std::string error;
  auto ranges = parse_status_ranges(ranges_text, &error);
  if (ranges) {
    check(!ranges->empty());
    for (auto& r : *ranges) check(r.lo >= 100 && r.hi <= 599 && r.lo <= r.hi);
    auto again = parse_status_ranges(format_status_ranges(*ranges));
    check(again && *again == *ranges);
  } else {
    check(!error.empty());
  }

  int status = 0;
  for (char c : status_text.substr(0, 4))
    if (c >= '0' && c <= '9') status = status * 10 + (c - '0');

  Spec spec;
  if (ranges) spec.expect_status = *ranges;
  // regex_guard() must keep regcomp/regexec within memory and time for any
  // pattern it lets through.
  if (regex_text.size() <= 128) spec.body_regex = std::string(regex_text);
  if (!body.empty()) spec.body_contains = body.substr(0, 3);
  HttpMatcher m(spec);
  Result r = m.match(status, body);
  if (m.error()) {
    check(r.reason == Reason::invalid_check);
  } else {
    bool in_range = false;
    for (auto& rg : spec.expect_status) in_range |= rg.contains(status);
    check(in_range == (r.reason != Reason::bad_status));
    (void)r.to_string();
  }
  return 0;
}
