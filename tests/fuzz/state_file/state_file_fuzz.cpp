// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for realserver::parse_state, the real-server role's state file (previous
// sysctl values, addresses it added), which a crash may leave cut, and anyone with write access
// to its directory could craft. The role writes every accepted sysctl key as a path under
// /proc/sys, so the target checks, apart from is_role_sysctl_key, that each one is a safe
// path on its own terms: relative, no empty, "." or ".." component, none of the bytes the
// kernel refuses in an interface name (NUL, '/', ':', white space), one of the three sysctls
// under net/ipv4/conf/<ifname>/; and that each value is the number the role would write.
// What parse_state accepts formats and parses back to the same.
// Seeds: corpus/, state files as format_state writes them, plus crafted ones.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "realserver/role.h"

namespace {

using namespace hd::realserver;

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    size_t slash = path.find('/', at);
    out.push_back(path.substr(at, slash == std::string::npos ? std::string::npos : slash - at));
    if (slash == std::string::npos) return out;
    at = slash + 1;
  }
}

bool safe_sysctl_path(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') return false;
  const std::vector<std::string> parts = components(key);
  for (const std::string& c : parts)
    if (c.empty() || c == "." || c == "..") return false;
  if (parts.size() != 5 || parts[0] != "net" || parts[1] != "ipv4" || parts[2] != "conf")
    return false;
  const std::string& ifname = parts[3];
  if (ifname.size() > 15) return false;
  for (unsigned char ch : ifname)
    if (ch == 0 || ch == ':' || std::isspace(ch)) return false;
  return parts[4] == "arp_ignore" || parts[4] == "arp_announce" || parts[4] == "rp_filter";
}

bool role_value(const std::string& v) {
  if (v.empty() || v.size() > 11) return false;
  for (unsigned char ch : v)
    if (!std::isdigit(ch) && ch != '-') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const SavedState s = parse_state(text);
  for (const auto& [key, value] : s.sysctls) {
    check(is_role_sysctl_key(key));
    check(safe_sysctl_path(key));
    check(role_value(value));
  }
  for (const std::string& a : s.addresses) check(!a.empty() && a.find('\n') == std::string::npos);

  const SavedState back = parse_state(format_state(s));
  check(back.sysctls == s.sysctls);
  check(back.addresses == s.addresses);
  check(back.rejected.empty());
  return 0;
}
