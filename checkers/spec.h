// SPDX-License-Identifier: GPL-2.0-or-later
// What to check and how: the checker library's own description of one check
// (the daemon translates its config into this). Durations are steady-clock
// durations; the target is an IP literal and a port, never a name.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/clock.h"

namespace hd::checkers {

enum class CheckType { tcp, http, https, script, udp, ping, smtp, dns, file };
inline constexpr size_t kCheckTypes = 9;
enum class HttpMethod { get, head };

std::string_view to_string(CheckType t);
std::string_view to_string(HttpMethod m);

// An inclusive range of HTTP status codes.
struct StatusRange {
  int lo = 200;
  int hi = 299;
  bool contains(int status) const { return status >= lo && status <= hi; }
  bool operator==(const StatusRange&) const = default;
};

struct Spec {
  CheckType type = CheckType::tcp;
  Duration interval = std::chrono::seconds(5);  // start to start
  Duration timeout = std::chrono::seconds(2);   // whole probe
  int rise = 1;
  int fall = 1;
  bool initial_up = false;

  // The target (tcp, udp, http, https; ping: the address only).
  IpAddress address;
  uint16_t port = 0;
  std::optional<IpAddress> source_address;
  Duration connect_timeout = Duration::zero();  // 0: timeout

  // tcp: a half-open probe (SYN, then SYN-ACK or RST; see syn_prober.h) instead
  // of a full connect(). Needs CAP_NET_RAW; cannot send or expect bytes.
  bool half_open = false;
  // tcp: bytes to send once connected, bytes to wait for (substring of the reply).
  // udp: the datagram to send (may be empty), bytes a reply must hold (see udp_check.h).
  std::string send;
  std::string expect;
  // udp: silence is a failure (else only an ICMP error or a wrong reply is).
  bool require_reply = false;

  // http / https
  HttpMethod method = HttpMethod::get;
  std::string path = "/";
  std::string host;  // Host header; empty: the address (or sni)
  std::vector<StatusRange> expect_status = {StatusRange{}};
  std::string body_contains;
  std::string body_regex;   // POSIX extended; ^ and $ match at line ends (REG_NEWLINE), as grep
  std::string body_sha256;  // hex, of the whole body (bodies over kMaxBody never match)
  bool tls_verify = true;
  // Reuse the connection between runs (HTTP/1.1 keep-alive; libcurl reconnects when the
  // server closed it). Off: a new connection every run, so a server that stops accepting
  // connections fails its next check even while an old connection would still answer.
  bool keepalive = false;
  std::string ca_file;  // empty: the system's CAs
  // The TLS server name (SNI and the name the certificate is checked against).
  // Empty: `host`, if set; else no SNI and the certificate is checked against the IP.
  std::string sni;

  // smtp (libcurl's SMTP, on the same multi as http): the banner must be 220, then EHLO
  // (HELO if refused) with `helo_name` (empty: this host's name), STARTTLS first when
  // `starttls` (tls_verify and ca_file apply), NOOP must answer 2xx, then QUIT.
  std::string helo_name;
  bool starttls = false;

  // dns (over UDP, udp_check.h): a query for dns_name / dns_type (class IN, recursion
  // desired); up at a reply to it with RCODE 0 and at least one answer.
  std::string dns_name;
  uint16_t dns_type = 1;  // A

  // script: argv[0] is a path, run without a shell.
  std::vector<std::string> argv;
  std::map<int, int> exit_weights;  // exit code -> weight: up, with that weight
  // file (keepalived's FILE_CHECK, file_check.h): the number in file_path decides. Weight 0:
  // up while it reads 0. Otherwise up with weight file_base_weight + number x file_weight
  // (the real server's configured weight, moved), down below 0.
  std::string file_path;
  int file_weight = 0;
  int file_base_weight = 1;

  Duration effective_connect_timeout() const {
    return connect_timeout > Duration::zero() && connect_timeout < timeout ? connect_timeout
                                                                           : timeout;
  }
  bool operator==(const Spec&) const = default;
};

// Shared, immutable: the Checker's check and its probe hold the same one. Inside the
// Checker one is shared by every check that differs from it only in its target (address
// and port, which the check keeps as an Endpoint): 10,000 real servers checked alike hold
// one Spec, not 10,000 of ~600 bytes.
using SpecPtr = std::shared_ptr<const Spec>;

// Where a probe goes: the spec's address and port, kept apart from the shared spec.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};
inline Endpoint endpoint_of(const Spec& s) { return {s.address, s.port}; }

// One check to run, named by the caller ("web/10.0.0.1:80", say).
struct Target {
  std::string id;
  Spec spec;
  bool operator==(const Target&) const = default;
};

// Why a spec cannot be run, or nothing. Covers what the probes would trip on
// (a bad regex, a non-hex digest, no argv, port 0); the daemon's config loader
// reports these with positions first.
std::optional<std::string> validate(const Spec& spec);
// The same for a shared spec and the target it is run against (its own address and port
// are not read).
std::optional<std::string> validate(const Spec& spec, const Endpoint& target);

// The parts of validate() that judge one value, for the config loader to report at the
// value's position: the loader and the probes then accept exactly the same things.
std::optional<std::string> validate_body_regex(const std::string& re);  // guard + regcomp
std::optional<std::string> validate_path(const std::string& path);
std::optional<std::string> validate_host(const std::string& host);      // Host header
std::optional<std::string> validate_sni(const std::string& sni);
std::optional<std::string> validate_helo_name(const std::string& name);  // smtp's EHLO argument

}  // namespace hd::checkers
