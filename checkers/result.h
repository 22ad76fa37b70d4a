// SPDX-License-Identifier: GPL-2.0-or-later
// The outcome of one health-check probe, as data: a reason, a numeric detail
// (HTTP status, exit code, signal, errno) and free text (a TLS error, say).
// The reason travels unchanged to the log line, the status output and the
// "real server X down (reason)" message.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace hd::checkers {

enum class Reason {
  ok,
  connect_refused,  // RST to our SYN (ECONNREFUSED)
  connect_timeout,  // no handshake within connect_timeout
  connect_failed,   // any other connect error (EHOSTUNREACH, ...): code is the errno
  timeout,          // connected, but no complete answer within timeout
  reset,            // connection reset / closed before an answer
  tls_error,        // handshake or certificate verification failed
  bad_status,       // HTTP status outside expect_status: code is the status
  body_mismatch,    // body_contains / body_regex did not match
  digest_mismatch,  // body_sha256 did not match
  expect_mismatch,  // tcp: the expected bytes never came
  script_exit,      // script exited with an unmapped, non-zero code: code is the exit code
  script_timeout,   // script killed (process group, SIGKILL) after timeout
  script_killed,    // script died of a signal we did not send: code is the signal
  spawn_failed,     // script could not be started: code is the errno
  invalid_check,    // the spec cannot be run (bad regex, no argv, ...)
  file_value,       // a file check's file holds a number that says down: code is the number
  // The probe could not run on this host (out of descriptors, memory or buffers): says
  // nothing about the real server, so it is inconclusive and moves no state (CheckState).
  local_error,
  other,
};

inline constexpr size_t kReasonCount = static_cast<size_t>(Reason::other) + 1;
std::string_view to_string(Reason r);

// errno values that mean this host ran out of something (descriptors, memory, buffers,
// processes): a probe failing with one of them is Reason::local_error, not a failure.
bool is_local_resource_error(int err);

struct Result {
  Reason reason = Reason::other;
  int code = 0;
  std::string detail;
  std::optional<int> weight;  // script checks: the exit code's weight from exit_weights

  bool ok() const { return reason == Reason::ok; }
  // Neither a success nor a failure of the real server: see Reason::local_error.
  bool inconclusive() const { return reason == Reason::local_error; }
  // "ok", "connect refused", "bad status 503", "script exit 2",
  // "tls error: SSL certificate problem: self-signed certificate", ...
  std::string to_string() const;

  static Result success(int code = 0) { return Result{Reason::ok, code, {}, {}}; }
  static Result failure(Reason r, int code = 0, std::string detail = {}) {
    return Result{r, code, std::move(detail), {}};
  }
  // `r` unless `err` is a local resource error, then local_error (with what failed).
  static Result failure_or_local(Reason r, int err, std::string detail = {}) {
    return failure(is_local_resource_error(err) ? Reason::local_error : r, err, std::move(detail));
  }
  // A system call `what` failed with `err`: failure_or_local with "what: strerror(err)".
  static Result syscall_failure(Reason r, std::string_view what, int err);
  bool operator==(const Result&) const = default;
};

}  // namespace hd::checkers
