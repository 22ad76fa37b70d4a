// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/result.h"

#include <cerrno>
#include <cstring>

namespace hd::checkers {

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::ok:
      return "ok";
    case Reason::connect_refused:
      return "connect refused";
    case Reason::connect_timeout:
      return "connect timeout";
    case Reason::connect_failed:
      return "connect failed";
    case Reason::timeout:
      return "timeout";
    case Reason::reset:
      return "connection reset";
    case Reason::tls_error:
      return "tls error";
    case Reason::bad_status:
      return "bad status";
    case Reason::body_mismatch:
      return "body mismatch";
    case Reason::digest_mismatch:
      return "digest mismatch";
    case Reason::expect_mismatch:
      return "expect mismatch";
    case Reason::script_exit:
      return "script exit";
    case Reason::script_timeout:
      return "script timeout";
    case Reason::script_killed:
      return "script killed by signal";
    case Reason::spawn_failed:
      return "spawn failed";
    case Reason::invalid_check:
      return "invalid check";
    case Reason::file_value:
      return "file reads";
    case Reason::local_error:
      return "local error";
    case Reason::other:
      return "error";
  }
  return "error";
}

Result Result::syscall_failure(Reason r, std::string_view what, int err) {
  return failure_or_local(r, err, std::string(what) + ": " + std::strerror(err));
}

bool is_local_resource_error(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EAGAIN;
}

std::string Result::to_string() const {
  std::string s(checkers::to_string(reason));
  switch (reason) {
    case Reason::bad_status:
    case Reason::script_exit:
    case Reason::script_killed:
    case Reason::file_value:
      s += ' ';
      s += std::to_string(code);
      break;
    case Reason::connect_failed:
    case Reason::spawn_failed:
    case Reason::local_error:
      if (code != 0 && detail.empty()) {
        s += ": ";
        s += std::strerror(code);
      }
      break;
    default:
      break;
  }
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

}  // namespace hd::checkers
