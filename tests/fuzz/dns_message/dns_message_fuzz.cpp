// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the dns check's reply parser (dns_message.h): any datagram from the
// real server's address. Input: the packet. Checked (abort() on a breach):
//   - judge() reads only the packet (ASan);
//   - a verdict other than not_ours comes only from a response (QR) with our id;
//   - our own query is never taken for its reply, and its reply (QR, RCODE 0, one answer)
//     always is, for names validate_name() accepts (the packet's bytes as the name).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkers/dns_message.h"

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "dns_message_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hd::checkers::dns;
  std::string p(reinterpret_cast<const char*>(data), size);
  const uint16_t id = 0x4242;
  auto j = judge(p, id, "example.test", 1);
  if (j.verdict != Verdict::not_ours &&
      (p.size() < 12 || static_cast<uint8_t>(p[0]) != 0x42 || static_cast<uint8_t>(p[1]) != 0x42 ||
       !(static_cast<uint8_t>(p[2]) & 0x80)))
    fail("a verdict on a packet that is not a response with our id");
  std::string name = p.substr(0, 100);
  if (!validate_name(name)) {
    std::string q = query(id, name, 28);
    if (judge(q, id, name, 28).verdict != Verdict::not_ours) fail("our query taken for a reply");
    std::string r = q;
    r[2] = static_cast<char>(0x81);
    r[3] = static_cast<char>(0x80);
    r[7] = 1;
    if (judge(r, id, name, 28).verdict != Verdict::answered) fail("our reply not recognised");
  }
  return 0;
}
