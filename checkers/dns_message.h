// SPDX-License-Identifier: GPL-2.0-or-later
// DNS over UDP for the dns check (keepalived's DNS_CHECK), as data, pure and fuzzed: the
// query to send and the judgement of what came back (RFC 1035 4.1).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hd::checkers::dns {

// "A" -> 1, "AAAA" -> 28, ... (A NS CNAME SOA PTR MX TXT AAAA SRV), or a number "TYPE65";
// nullopt for anything else.
std::optional<uint16_t> parse_type(std::string_view name);
std::string type_name(uint16_t type);
// Why `name` cannot be asked (empty, a label over 63 bytes, over 253 in all, a character
// other than letters, digits, '-', '_' or a dot between labels), or nothing. A trailing
// dot is allowed; "." is the root.
std::optional<std::string> validate_name(std::string_view name);

// A query for `name` / `type`, class IN, recursion desired, with id `id`.
std::string query(uint16_t id, std::string_view name, uint16_t type);

enum class Verdict {
  not_ours,   // too short, not a response, another id or another question: keep waiting
  answered,   // RCODE 0 with at least one answer record
  no_answer,  // RCODE 0, no answer record (the name has no record of that type)
  error,      // RCODE other than 0 (rcode says which)
};
struct Judged {
  Verdict verdict = Verdict::not_ours;
  int rcode = 0;
  bool truncated = false;  // TC: the header still says what it says
};
// A reply to query(id, name, type)? Its header and question decide; the records past the
// question are not read (a truncated reply's header is as good as a whole one's).
Judged judge(std::string_view packet, uint16_t id, std::string_view name, uint16_t type);

std::string rcode_name(int rcode);  // "NXDOMAIN", "SERVFAIL", ... or the number

}  // namespace hd::checkers::dns
