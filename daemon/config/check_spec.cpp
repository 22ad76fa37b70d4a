// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/config/check_spec.h"

namespace hd::config {

checkers::Spec to_check_spec(const Check& c, const IpAddress& addr, int port, int weight) {
  checkers::Spec s;
  s.type = c.type;
  s.interval = c.interval;
  s.timeout = c.timeout;
  s.rise = c.rise;
  s.fall = c.fall;
  s.initial_up = c.initial_up;
  s.address = c.connect_address.value_or(addr);
  s.port = static_cast<uint16_t>(c.connect_port.value_or(port));
  s.source_address = c.source_address;
  s.connect_timeout = c.connect_timeout;
  s.half_open = c.type == CheckType::tcp && c.half_open;
  s.send = c.send;
  s.expect = c.expect;
  s.require_reply = c.require_reply;
  s.method = c.method;
  s.path = c.path;
  s.host = c.host;
  s.expect_status = c.expect_status;
  s.body_contains = c.body_contains;
  s.body_regex = c.body_regex;
  s.body_sha256 = c.body_sha256;
  s.tls_verify = c.tls_verify;
  s.keepalive = c.keepalive;
  s.ca_file = c.ca_file;
  s.sni = c.sni;
  s.helo_name = c.helo_name;
  s.dns_name = c.query_name;
  s.dns_type = c.query_type;
  s.starttls = c.starttls;
  s.argv = c.command;
  s.exit_weights = c.exit_weights;
  s.file_path = c.file;
  s.file_weight = c.file_weight;
  s.file_base_weight = weight;
  return s;
}

}  // namespace hd::config
