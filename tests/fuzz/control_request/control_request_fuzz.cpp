// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the control socket's request framing and parsing (control::frame_request,
// control::parse_command, split_words, quote_word), fed the way Server::on_conn feeds them: the
// client's bytes arrive in pieces, each read in full before framing; at the end the client may
// close its side. A parsed command, written back word by word with quote_word (as
// `hadirector ctl` sends it), parses to the same command.
// Input: one selector byte (bits 0-6: piece size - 1; bit 7: the client closes at the end),
// then the bytes the client sends.
// Seeds: corpus/, what `hadirector status` and the drill send, and a few that are not requests.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/control/server.h"

namespace {

using namespace hd::control;

void check(bool ok) {
  if (!ok) std::abort();
}

// What every answer must satisfy, given everything received so far.
void check_framed(const Framed& f, std::string_view in, bool eof) {
  check((f.kind == Framed::too_long) == (in.size() > kMaxRequest));
  if (f.kind == Framed::incomplete) {
    check(!eof && in.find('\n') == std::string_view::npos);
    return;
  }
  if (f.kind != Framed::request) return;
  check(f.line.find('\n') == std::string::npos);
  check(in.substr(0, f.line.size()) == f.line);
  check(f.line.size() == in.size() ? eof : in[f.line.size()] == '\n');
  const Parsed p = parse_command(f.line);
  check(p.command.has_value() != !p.error.empty());
  const bool legacy = f.line == "status" || f.line == "status --json" ||
                      f.line == "status-json" || f.line == "reload";
  if (!p.command) {
    check(!legacy);
    return;
  }
  check(answers_text(p.command->verb) == legacy);
  if (legacy) return;
  // Every word survives quoting; the words, quoted again, are the same command.
  auto words = split_words(f.line);
  check(words.has_value());
  std::string again;
  for (auto& w : *words) {
    auto one = split_words(quote_word(w));
    check(one && one->size() == 1 && (*one)[0] == w);
    again += (again.empty() ? "" : " ") + quote_word(w);
  }
  const Parsed q = parse_command(again);
  check(q.command && *q.command == *p.command);
  // Only a real-server request names servers, and each names both.
  bool names = p.command->verb == Verb::drain || p.command->verb == Verb::ready ||
               p.command->verb == Verb::maint || p.command->verb == Verb::weight ||
               p.command->verb == Verb::clear;
  check(names || (p.command->vs.empty() && p.command->rs.empty()));
  const bool instance = p.command->verb == Verb::hold || p.command->verb == Verb::failover ||
                        p.command->verb == Verb::release;
  check(instance || p.command->instance.empty());
  check(!p.command->timeout || (p.command->verb == Verb::drain && *p.command->timeout > hd::Duration::zero()));
  check(!p.command->weight || (*p.command->weight >= 0 && *p.command->weight <= 65535));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = (data[0] & 0x7f) + 1u;
  const bool eof = data[0] & 0x80;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string in;
  Framed f;
  for (size_t at = 0; at < stream.size() && f.kind == Framed::incomplete; at += piece) {
    in.append(stream.substr(at, piece));
    f = frame_request(in, false);
    check_framed(f, in, false);
  }
  if (f.kind == Framed::incomplete && eof) {
    f = frame_request(in, true);
    check_framed(f, in, true);
  }
  // Pieces only change how much was read when the first line was framed: had it all come at
  // once, the answer is the same line, or too long when the rest pushed it past the limit.
  if (f.kind == Framed::request) {
    const Framed all = frame_request(stream, eof);
    check(all.kind == Framed::too_long || (all.kind == Framed::request && all.line == f.line));
  }
  return 0;
}
