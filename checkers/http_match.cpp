// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/http_match.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hd::checkers {
namespace {

bool is_sep(char c) {
  return c == ',' || c == ' ' || c == '\t';
}

std::optional<int> parse_code(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  if (v < 100 || v > 599) return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::vector<StatusRange>> parse_status_ranges(std::string_view text,
                                                            std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::vector<StatusRange>> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  std::vector<StatusRange> out;
  size_t i = 0;
  while (i < text.size()) {
    if (is_sep(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    std::string_view item = text.substr(i, j - i);
    i = j;
    auto dash = item.find('-');
    std::string_view a = item.substr(0, dash);
    std::string_view b = dash == std::string_view::npos ? a : item.substr(dash + 1);
    auto lo = parse_code(a);
    auto hi = parse_code(b);
    if (!lo || !hi)
      return fail("bad status code or range \"" + std::string(item) + "\" (want 100-599 or N-M)");
    if (*lo > *hi) return fail("empty status range \"" + std::string(item) + "\"");
    out.push_back(StatusRange{*lo, *hi});
  }
  if (out.empty()) return fail("no status codes");
  return out;
}

std::string format_status_ranges(const std::vector<StatusRange>& ranges) {
  std::string s;
  for (auto& r : ranges) {
    if (!s.empty()) s += ',';
    s += std::to_string(r.lo);
    if (r.hi != r.lo) s += '-' + std::to_string(r.hi);
  }
  return s;
}

std::optional<std::string> regex_guard(std::string_view re) {
  if (re.size() > 512) return "body_regex longer than 512 bytes";
  double product = 1;
  bool after_quantifier = false;  // the last token was a repetition operator
  bool after_group = false;       // the last token was ')'
  int depth = 0;                  // open groups
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    bool quantifier = c == '*' || c == '+' || c == '?' || c == '{';
    if (quantifier && after_quantifier) return "body_regex: stacked repetition operators";
    if (c == '\\') {
      // Back-references make glibc's matcher backtrack (exponential time on a
      // body the server chooses); POSIX leaves them undefined in EREs.
      if (i + 1 < re.size() && re[i + 1] >= '1' && re[i + 1] <= '9')
        return "body_regex: back-references are not supported";
      ++i;
    } else if (c == '[') {
      // A bracket expression: ']' first (or after '^') is literal; [:x:] nests.
      size_t j = i + 1;
      if (j < re.size() && re[j] == '^') ++j;
      if (j < re.size() && re[j] == ']') ++j;
      while (j < re.size() && re[j] != ']') {
        if (re[j] == '[' && j + 1 < re.size() &&
            (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
          char kind = re[j + 1];
          size_t end = re.find(std::string{kind, ']'}, j + 2);
          j = end == std::string_view::npos ? re.size() : end + 2;
        } else {
          ++j;
        }
      }
      i = j;
    } else if (c == '{') {
      size_t end = re.find('}', i);
      if (end == std::string_view::npos) return "body_regex: unterminated {";
      std::string_view body = re.substr(i + 1, end - i - 1);
      int hi = 0;
      for (auto part : {body.substr(0, body.find(',')), body.find(',') == std::string_view::npos
                                                            ? std::string_view()
                                                            : body.substr(body.find(',') + 1)}) {
        int v = 0;
        if (!part.empty()) {
          auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
          if (ec != std::errc() || p != part.data() + part.size())
            return "body_regex: bad interval {" + std::string(body) + "}";
        }
        if (v > 255) return "body_regex: interval bound over 255";
        hi = std::max(hi, v);
      }
      product *= std::max(hi, 1) + 1;
      i = end;
    } else if ((c == '+' || c == '*') && after_group) {
      product *= 2;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      // glibc reads an unmatched ')' as a literal, but POSIX leaves it undefined, and the
      // pattern runs wrapped in a group (compile_body_regex) where it would close that group.
      if (depth == 0) return "body_regex: unmatched )";
      --depth;
    }
    if (product > 1000) return "body_regex: too many repetitions";
    after_quantifier = quantifier;
    after_group = c == ')';
  }
  return std::nullopt;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

int compile_body_regex(const std::string& re, regex_t* out, std::string& error) {
  constexpr int kFlags = REG_EXTENDED | REG_NOSUB | REG_NEWLINE;
  auto message = [&](int rc, regex_t* r) {
    char buf[256];
    regerror(rc, r, buf, sizeof buf);
    error = "body_regex: " + std::string(buf);
    return rc;
  };
  int rc = regcomp(out, re.c_str(), kFlags);
  if (rc != 0) return message(rc, out);
  regfree(out);
  // "[^\n]*", not ".*": POSIX "." does not match a NUL byte, and bodies may hold some.
  std::string anchored = "^[^\n]*(" + re + ")";
  rc = regcomp(out, anchored.c_str(), kFlags);
  if (rc != 0) return message(rc, out);
  return 0;
}

HttpMatcher::HttpMatcher(const Spec& spec)
    : ranges_(spec.expect_status), contains_(spec.body_contains), sha256_(lower(spec.body_sha256)) {
  if (ranges_.empty()) ranges_.push_back(StatusRange{});
  if (!spec.body_regex.empty()) {
    if (auto why = regex_guard(spec.body_regex)) {
      error_ = *why;
      needs_body_ = false;
      return;
    }
    std::string why;
    if (compile_body_regex(spec.body_regex, &regex_, why) != 0)
      error_ = why;
    else
      has_regex_ = true;
  }
  needs_body_ = !contains_.empty() || has_regex_ || !sha256_.empty();
}

HttpMatcher::~HttpMatcher() {
  if (has_regex_) regfree(&regex_);
}

Result HttpMatcher::match(int status, const std::string& body, bool truncated) const {
  if (error_) return Result::failure(Reason::invalid_check, 0, *error_);
  bool status_ok = std::any_of(ranges_.begin(), ranges_.end(),
                               [&](const StatusRange& r) { return r.contains(status); });
  if (!status_ok) return Result::failure(Reason::bad_status, status);
  if (!contains_.empty() && body.find(contains_) == std::string_view::npos)
    return Result::failure(Reason::body_mismatch, status, "no \"" + contains_ + "\"");
  if (has_regex_) {
    // REG_STARTEND: bodies may hold NUL bytes.
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = static_cast<regoff_t>(body.size());
    if (regexec(&regex_, body.c_str(), 1, m, REG_STARTEND) != 0)
      return Result::failure(Reason::body_mismatch, status, "regex does not match");
  }
  if (!sha256_.empty()) {
    if (truncated)
      return Result::failure(Reason::digest_mismatch, status,
                             "body over " + std::to_string(kMaxBody / 1024) + " KiB");
    std::string got = sha256_hex(body);
    if (got != sha256_) return Result::failure(Reason::digest_mismatch, status, "got " + got);
  }
  return Result::success(status);
}

}  // namespace hd::checkers
