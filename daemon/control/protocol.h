// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket's requests and who may make them (pure; docs/ctl.md).
//
// A request is one line of words separated by blanks; a word holding blanks is written in
// double quotes ("tcp 10.0.0.1:80"), with \" and \\ inside. The older requests `status`,
// `status --json` and `reload` answer text, as `hadirector status` and `reload` print it; every
// other request answers one line of JSON: {"ok":true,...} or {"ok":false,"code":...,"error":...}.
//
// Who: the peer's credentials from SO_PEERCRED (and its groups from SO_PEERGROUPS). Root, or a
// member of [global] admin_group, may change state; a member of read_group may read.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace hd::control {

// The process at the other end of a control connection.
struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups (SO_PEERGROUPS); the primary is gid
  std::string user;           // the uid's name, "" when it has none
  // "uid 1001 (bob)": how overrides record who set them.
  std::string str() const;
};

enum class Access { read, admin };

// The groups of [global] admin_group and read_group, resolved at start and reload.
struct AccessPolicy {
  std::string admin_group, read_group;  // "" when not configured
  std::optional<gid_t> admin_gid, read_gid;
};

// "" when `peer` may make a request that needs `need`, else why not (one line).
std::string authorize(const Peer& peer, Access need, const AccessPolicy& policy);

enum class Verb {
  status_text,  // "status": text, as `hadirector status` prints it
  status_json,  // "status --json"
  reload,       // text
  show,         // status as JSON, in the ctl answer format
  overrides,    // the runtime overrides
  drain,        // drain VS RS [--timeout DURATION] [--wait]
  ready,        // ready VS RS: undo drain or maint
  maint,        // maint VS RS: out of rotation at once
  weight,       // weight VS RS N|default
  clear,        // clear VS RS: drop every override of the server
  events,       // the event stream: the connection stays open
  hold,         // hold INSTANCE: BACKUP until release (a Master hands over at once)
  failover,     // failover INSTANCE: hand over now; taken back if nobody takes over
  release,      // release INSTANCE: back in the election
  withdraw,     // withdraw ADDRESS: stop announcing an announce = "bgp" address (maintenance)
  announce,     // announce ADDRESS: undo withdraw (announced again once serving)
};

struct Command {
  Verb verb = Verb::show;
  std::string vs, rs;                // the virtual and real server, as the operator wrote them
  std::string instance;              // hold, failover, release
  std::string address;               // withdraw, announce
  std::optional<Duration> timeout;   // drain
  bool wait = false;                 // drain --wait: answered when the drain ends
  std::optional<int> weight;         // weight: nullopt for "default"
  bool operator==(const Command&) const = default;
};

struct Parsed {
  std::optional<Command> command;
  std::string error;  // when !command: what is wrong, with the usage of the verb
};
Parsed parse_command(std::string_view line);

Access access_of(Verb v);
// Whether the answer is text (the older requests) rather than one line of JSON.
bool answers_text(Verb v);
const char* to_string(Verb v);

// The words of a line, quotes removed; nullopt for an unterminated quote.
std::optional<std::vector<std::string>> split_words(std::string_view line);
// A word as split_words reads it back: quoted when it holds a blank, a quote or a backslash.
std::string quote_word(std::string_view word);

// The usage lines of the ctl verbs, for `hadirector ctl --help` and error answers.
extern const char* const kCtlUsage;

}  // namespace hd::control
