// SPDX-License-Identifier: GPL-2.0-or-later
// [vrrp_instance.auth] and [global.vrrp_auth]: the keys, the mode and the anti-replay rule of
// authenticated VRRP (vrrp/auth.h). Keys come from a file (a systemd credential included) or,
// for tests and labs, inline; neither may be readable by others.
#include "daemon/config/sections.h"

#include "core/text.h"

#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace hd::config {
namespace {

std::string mode_text(mode_t m) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// The key a `secret` names, or nullopt after reporting why.
std::optional<Secret> load_secret(Ctx& ctx, const toml::node& n, const std::string& text) {
  auto fail = [&](const std::string& why) -> std::optional<Secret> {
    ctx.error(n, why);
    return std::nullopt;
  };
  std::string hex;  // wiped before return
  struct Wipe {
    std::string& s;
    ~Wipe() { explicit_bzero(s.data(), s.size()); }
  } wipe{hex};
  std::string where;
  if (text.rfind("hex:", 0) == 0) {
    if (auto m = ctx.file_mode(); m && (*m & (S_IROTH | S_IWOTH)))
      return fail("an inline key ('hex:') in a file others can read (mode " + mode_text(*m) +
                  "): chmod o-rw the file, or keep the key in a file of its own ('file:' or "
                  "'credential:')");
    hex = text.substr(4);
    where = "the inline key";
  } else {
    std::string path;
    if (text.rfind("file:", 0) == 0) {
      path = text.substr(5);
      if (path.empty() || path[0] != '/') return fail("'file:' needs an absolute path");
    } else if (text.rfind("credential:", 0) == 0) {
      std::string name = text.substr(11);
      if (name.empty() || name.find('/') != std::string::npos)
        return fail("'credential:' needs the credential's name (no '/')");
      if (!ctx.read_secrets()) return Secret(std::vector<uint8_t>(vrrp::kAuthMinKeySize, 0));
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (!dir || !*dir)
        return fail("'credential:" + name +
                    "': $CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with "
                    "LoadCredential=" + name + ":... or LoadCredentialEncrypted=; outside systemd "
                    "name the file with 'file:')");
      path = std::string(dir) + "/" + name;
    } else {
      return fail("a key is \"hex:<64 to 128 hex digits>\", \"file:/path\" or \"credential:NAME\"");
    }
    if (!ctx.read_secrets()) return Secret(std::vector<uint8_t>(vrrp::kAuthMinKeySize, 0));
    // Opened once, not followed if a link, and judged by what was opened (fstat): no
    // window between the check and the read.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
      return fail("key file " + path + ": " + std::strerror(errno) +
                  (errno == ELOOP ? " (a symbolic link: name the file itself)" : ""));
    struct Close {
      int fd;
      ~Close() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (fstat(fd, &st) != 0) return fail("key file " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail("key file " + path + " is not a regular file");
    // Whoever can write the key chooses it: only its owner may, and others may not read it.
    if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
      return fail("key file " + path + " can be read or written by others, or written by its "
                  "group (mode " + mode_text(st.st_mode) +
                  "): chmod 0600 (or 0640 for a group that reads it) and try again");
    if (st.st_uid != 0 && st.st_uid != geteuid())
      return fail("key file " + path + " belongs to uid " + std::to_string(st.st_uid) +
                  ", neither root nor this process: chown it");
    hex.resize(1025);
    ssize_t n = 0;
    size_t got = 0;
    while (got < hex.size() && (n = ::read(fd, hex.data() + got, hex.size() - got)) > 0)
      got += static_cast<size_t>(n);
    if (n < 0) return fail("key file " + path + ": " + std::strerror(errno));
    hex.resize(got);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ' ||
                            hex.back() == '\t'))
      hex.pop_back();
    where = "key file " + path;
  }
  auto bytes = from_hex(hex);  // core/text.h
  if (!bytes)
    return fail(where + " is not hex text (make one with: openssl rand -hex 32)");
  Secret s(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
  explicit_bzero(bytes->data(), bytes->size());
  if (s.size() < vrrp::kAuthMinKeySize || s.size() > vrrp::kAuthMaxKeySize)
    return fail(where + " holds " + std::to_string(s.size()) + " bytes; a key is " +
                std::to_string(vrrp::kAuthMinKeySize) + " to " +
                std::to_string(vrrp::kAuthMaxKeySize) + " bytes (64 to 128 hex digits)");
  return s;
}

}  // namespace

std::optional<AuthSection> load_auth(Ctx& ctx, const toml::table& at, const std::string& where) {
  Table t(ctx, at, where);
  AuthSection out;
  out.pos = t.pos();
  bool ok = true;
  if (auto* arr = t.array("keys", true)) {
    if (arr->empty()) {
      ctx.error(*t.node("keys"), "'keys' must list at least one key");
      ok = false;
    }
    for (auto& e : *arr) {
      auto* kt = e.as_table();
      if (!kt) {
        t.wrong_type(e, "keys", "a table {id, secret}");
        ok = false;
        continue;
      }
      Table k(ctx, *kt, "a key of " + where);
      auto id = k.integer("id", 1, 255, true);
      auto secret = k.str("secret", true);
      k.finish();
      if (!id || !secret) {
        ok = false;
        continue;
      }
      if (out.auth.key(static_cast<uint8_t>(*id))) {
        ctx.error(e, "key id " + std::to_string(*id) + " is given twice");
        ok = false;
        continue;
      }
      auto s = load_secret(ctx, *k.node("secret"), *secret);
      const bool inline_key = secret->rfind("hex:", 0) == 0;
      std::string source = inline_key ? "hex:" : *secret;
      if (inline_key) explicit_bzero(secret->data(), secret->size());
      if (!s) {
        ok = false;
        continue;
      }
      out.auth.keys.push_back(vrrp::AuthKey{static_cast<uint8_t>(*id), std::move(*s)});
      out.key_sources.push_back(std::move(source));
    }
  } else {
    ok = false;
  }
  if (auto* n = t.node("active_key")) {
    if (auto v = t.check_int(*n, "active_key", 1, 255)) {
      out.auth.active_key = static_cast<uint8_t>(*v);
      if (ok && !out.auth.key(out.auth.active_key)) {
        ctx.error(*n, "'active_key' " + std::to_string(*v) + " is not one of 'keys'");
        ok = false;
      }
    } else {
      ok = false;
    }
  } else if (out.auth.keys.size() == 1) {
    out.auth.active_key = out.auth.keys.front().id;
  } else if (ok) {
    ctx.error(t.pos(), "'active_key' is needed in " + where +
                           " when there is more than one key (the one adverts are signed with)");
    ok = false;
  }
  if (auto v = t.choice("mode", {"enforce", "permissive", "receive-only"})) {
    out.auth.mode = *v == "enforce"      ? vrrp::AuthMode::enforce
                    : *v == "permissive" ? vrrp::AuthMode::permissive
                                         : vrrp::AuthMode::receive_only;
  } else if (t.node("mode")) {
    ok = false;
  }
  if (auto v = t.choice("anti_replay", {"time", "monotonic"})) {
    out.auth.anti_replay = *v == "time" ? vrrp::AntiReplay::time : vrrp::AntiReplay::monotonic;
  } else if (t.node("anti_replay")) {
    ok = false;
  }
  if (auto* n = t.node("window")) {
    if (auto d = t.duration("window", std::chrono::milliseconds(10), std::chrono::hours(1))) {
      if (out.auth.anti_replay != vrrp::AntiReplay::time) {
        ctx.error(*n, "'window' applies to anti_replay = \"time\" only");
        ok = false;
      }
      out.window = *d;
    } else {
      ok = false;
    }
  }
  t.finish();
  if (!ok) return std::nullopt;
  return out;
}

vrrp::AuthConfig resolve_auth(const AuthSection& s, Duration advert_interval) {
  vrrp::AuthConfig c = s.auth;
  // Default freshness window: three adverts, and never under 5 s (NTP-synchronised clocks
  // still differ by a few ms; a busy host delays an advert by more).
  c.window = s.window ? *s.window : std::max<Duration>(3 * advert_interval, std::chrono::seconds(5));
  return c;
}

}  // namespace hd::config
