// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for body_regex the way a real check meets it: the config loader's
// validate_body_regex() (regex_guard + regcomp), then HttpMatcher over a body of up to
// kMaxBody (64 KiB) bytes, cut there and flagged truncated as HttpProbe does. Patterns go past
// the 512-byte limit (to exercise the refusal too); a short input can ask for a long body by
// tiling its tail, the shape a hostile or broken server answers with. Checks: nothing crashes;
// the loader and the matcher agree on which patterns are refused; a refused pattern makes the
// check invalid_check; a body the regex rejects is body_mismatch and nothing else. Time: the
// target sets libFuzzer's -timeout (kTimeoutSeconds, unless given on the command line), so a
// pattern that makes regcomp or regexec slow on a 64 KiB body is reported as a failure.
// Input: flags (bit 0: tile the body), regex length (2 bytes, big endian, % 1024), body length
// when tiling (2 bytes, x2: up to 128 KiB, so past kMaxBody), the regex, then the body (or the
// tile: empty tiles as "a").
// The corpus keeps the inputs that broke the time bound before compile_body_regex anchored
// the pattern per line and regex_guard lowered its repetition limit to 1,000 (seconds each on
// a 64 KiB line: glibc's regexec retried an unanchored pattern from every start position, so
// "a.*b.*z" or "[a-z]+x" without a match was quadratic; "(a{99}){99}b" was slow on its own):
// every fuzz run replays them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "checkers/http_match.h"
#include "checkers/spec.h"

namespace {

using namespace hd::checkers;

// Per input: one regcomp in the loader, one in the matcher, one regexec over 64 KiB. Linear
// matching takes milliseconds; seconds mean a pattern the guard should refuse.
constexpr int kTimeoutSeconds = 5;

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "http_regex_fuzz: check failed at line %d: %s\n", line, what);
  std::abort();
}
#define check(ok) ((ok) ? void() : fail(#ok, __LINE__))

}  // namespace

// libFuzzer calls this before it parses its flags, so a -timeout added here counts; one given
// on the command line comes later in argv and wins.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i)
    if (std::strncmp((*argv)[i], "-timeout=", 9) == 0) return 0;
  static std::vector<char*> args;
  static char timeout[32];
  std::snprintf(timeout, sizeof timeout, "-timeout=%d", kTimeoutSeconds);
  args.assign(*argv, *argv + *argc);
  args.insert(args.begin() + 1, timeout);
  args.push_back(nullptr);
  *argc += 1;
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const bool tile = data[0] & 1;
  const size_t regex_len = std::min<size_t>((data[1] << 8 | data[2]) % 1024, size - 5);
  const size_t tiled_len = static_cast<size_t>(data[3] << 8 | data[4]) * 2;
  std::string_view rest(reinterpret_cast<const char*>(data) + 5, size - 5);
  std::string regex(rest.substr(0, regex_len));
  std::string_view tail = rest.substr(regex_len);

  std::string body;
  if (tile) {
    if (tail.empty()) tail = "a";
    body.reserve(std::min(tiled_len, kMaxBody));
    while (body.size() < tiled_len && body.size() < kMaxBody + 1) body.append(tail);
    body.resize(std::min(body.size(), tiled_len));
  } else {
    body.assign(tail);
  }
  // As HttpProbe::on_write: keep kMaxBody bytes, and say the body was cut.
  const bool truncated = body.size() > kMaxBody;
  if (truncated) body.resize(kMaxBody);

  auto refused = validate_body_regex(regex);
  Spec spec;
  spec.body_regex = regex;
  HttpMatcher m(spec);
  // The empty pattern means "no regex" to the matcher; the loader never calls for it.
  if (!regex.empty()) check(refused.has_value() == m.error().has_value());
  if (regex.size() > 512) check(refused.has_value());
  Result r = m.match(200, body, truncated);
  if (m.error()) {
    check(r.reason == Reason::invalid_check);
  } else {
    check(r.ok() || r.reason == Reason::body_mismatch);
    if (!regex.empty()) check(m.needs_body());
  }
  (void)r.to_string();
  return 0;
}
