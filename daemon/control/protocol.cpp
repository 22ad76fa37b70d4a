// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/control/protocol.h"

#include <algorithm>
#include <charconv>

namespace hd::control {

const char* const kCtlUsage =
    "  status                          the daemon's state (JSON, as status --json; sent as show)\n"
    "  overrides                       the runtime overrides, with who set them and when\n"
    "  drain VS RS [--timeout DURATION] [--wait]\n"
    "                                  weight 0: no new connections; removed once its active\n"
    "                                  connections reach 0, or at the timeout; --wait answers\n"
    "                                  when that happens (or when the drain is undone)\n"
    "  maint VS RS                     out of rotation at once\n"
    "  ready VS RS                     undo drain or maint\n"
    "  weight VS RS N|default          a runtime weight (0-65535), or back to the config's\n"
    "  clear VS RS                     drop every override of the real server\n"
    "  events                          follow the event stream (JSON lines) until interrupted\n"
    "  failover INSTANCE               a Master hands over now and stays BACKUP until release\n"
    "                                  (it takes the VIPs back if no other router takes over)\n"
    "  hold INSTANCE                   stay BACKUP until release (a Master hands over at once;\n"
    "                                  kept across restarts)\n"
    "  release INSTANCE                back in the election\n"
    "  withdraw ADDRESS                stop announcing an announce = \"bgp\" address (BGP\n"
    "                                  withdraws it; forwarding goes on; kept across restarts)\n"
    "  announce ADDRESS                undo withdraw: announced again once serving\n"
    "VS: a virtual server as status names it (\"tcp 10.0.0.1:80\", \"fwmark 7 v4\"), or\n"
    "ADDRESS:PORT when one protocol has it; RS: ADDRESS:PORT ([V6]:PORT), or ADDRESS\n"
    "when one port has it.\n";

std::string Peer::str() const {
  std::string s = "uid " + std::to_string(uid);
  if (!user.empty()) s += " (" + user + ")";
  return s;
}

std::string authorize(const Peer& peer, Access need, const AccessPolicy& policy) {
  if (peer.uid == 0) return "";
  auto member = [&](const std::optional<gid_t>& g) {
    return g && (peer.gid == *g ||
                 std::find(peer.groups.begin(), peer.groups.end(), *g) != peer.groups.end());
  };
  if (member(policy.admin_gid)) return "";
  if (need == Access::read && member(policy.read_gid)) return "";
  std::string why = peer.str() + " is not root";
  if (need == Access::admin) {
    why += policy.admin_group.empty() ? " (no admin_group is configured)"
                                      : " and not in admin_group '" + policy.admin_group + "'";
    return "forbidden: " + why + ": changing state needs root or admin_group";
  }
  if (policy.admin_group.empty() && policy.read_group.empty())
    why += " (neither admin_group nor read_group is configured)";
  else
    why += " and in neither admin_group '" + policy.admin_group + "' nor read_group '" +
           policy.read_group + "'";
  return "forbidden: " + why;
}

const char* to_string(Verb v) {
  switch (v) {
    case Verb::status_text: return "status";
    case Verb::status_json: return "status --json";
    case Verb::reload: return "reload";
    case Verb::show: return "show";
    case Verb::overrides: return "overrides";
    case Verb::drain: return "drain";
    case Verb::ready: return "ready";
    case Verb::maint: return "maint";
    case Verb::weight: return "weight";
    case Verb::clear: return "clear";
    case Verb::events: return "events";
    case Verb::hold: return "hold";
    case Verb::failover: return "failover";
    case Verb::release: return "release";
    case Verb::withdraw: return "withdraw";
    case Verb::announce: return "announce";
  }
  return "?";
}

Access access_of(Verb v) {
  switch (v) {
    case Verb::status_text:
    case Verb::status_json:
    case Verb::show:
    case Verb::overrides:
    case Verb::events:
      return Access::read;
    default:
      return Access::admin;
  }
}

bool answers_text(Verb v) {
  return v == Verb::status_text || v == Verb::status_json || v == Verb::reload;
}

std::optional<std::vector<std::string>> split_words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size()) break;
    std::string word;
    bool quoted = false;
    while (i < line.size() && (quoted || !blank(line[i]))) {
      char c = line[i++];
      if (c == '"') {
        quoted = !quoted;
      } else if (quoted && c == '\\' && i < line.size() && (line[i] == '"' || line[i] == '\\')) {
        word += line[i++];
      } else {
        word += c;
      }
    }
    if (quoted) return std::nullopt;
    out.push_back(std::move(word));
  }
  return out;
}

std::string quote_word(std::string_view word) {
  bool plain = !word.empty() && word.find_first_of(" \t\r\"\\") == std::string_view::npos;
  if (plain) return std::string(word);
  std::string out = "\"";
  for (char c : word) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

namespace {

struct VerbInfo {
  const char* name;
  Verb verb;
  int servers;  // words naming servers: 0, 2 (VS RS), 1 (INSTANCE) or 3 (ADDRESS)
  const char* usage;
};

const VerbInfo kVerbs[] = {
    {"show", Verb::show, 0, "show"},
    {"overrides", Verb::overrides, 0, "overrides"},
    {"events", Verb::events, 0, "events"},
    {"drain", Verb::drain, 2, "drain VS RS [--timeout DURATION] [--wait]"},
    {"ready", Verb::ready, 2, "ready VS RS"},
    {"maint", Verb::maint, 2, "maint VS RS"},
    {"weight", Verb::weight, 2, "weight VS RS N|default"},
    {"clear", Verb::clear, 2, "clear VS RS"},
    {"hold", Verb::hold, 1, "hold INSTANCE"},
    {"failover", Verb::failover, 1, "failover INSTANCE"},
    {"release", Verb::release, 1, "release INSTANCE"},
    {"withdraw", Verb::withdraw, 3, "withdraw ADDRESS"},
    {"announce", Verb::announce, 3, "announce ADDRESS"},
};

Parsed fail(std::string e) { return {std::nullopt, std::move(e)}; }

}  // namespace

Parsed parse_command(std::string_view line) {
  // The older text requests, exactly as `hadirector status` and `reload` send them.
  if (line == "status") return {Command{Verb::status_text, {}, {}, {}, {}}, ""};
  if (line == "status --json" || line == "status-json")
    return {Command{Verb::status_json, {}, {}, {}, {}}, ""};
  if (line == "reload") return {Command{Verb::reload, {}, {}, {}, {}}, ""};

  auto words = split_words(line);
  if (!words) return fail("unterminated quote in '" + std::string(line) + "'");
  if (words->empty()) return fail("empty request");
  const VerbInfo* info = nullptr;
  for (auto& v : kVerbs)
    if ((*words)[0] == v.name) info = &v;
  if (!info)
    return fail("unknown request '" + (*words)[0] +
                "' (requests: show, overrides, events, drain, maint, ready, weight, clear, hold, failover, "
                "release, withdraw, announce; and the older "
                "status, status --json, reload)");
  auto usage = [&](const std::string& what) {
    return fail(what + " (usage: " + info->usage + ")");
  };
  Command c;
  c.verb = info->verb;
  size_t i = 1;
  if (info->servers == 1) {
    if (words->size() < 2) return usage("missing the VRRP instance");
    c.instance = (*words)[1];
    i = 2;
  }
  if (info->servers == 3) {
    if (words->size() < 2) return usage("missing the address");
    c.address = (*words)[1];
    i = 2;
  }
  if (info->servers == 2) {
    if (words->size() < 3) return usage("missing the virtual and real server");
    c.vs = (*words)[1];
    c.rs = (*words)[2];
    i = 3;
  }
  if (c.verb == Verb::weight) {
    if (i >= words->size()) return usage("missing the weight");
    const std::string& w = (*words)[i++];
    if (w != "default") {
      int n = -1;
      auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), n);
      if (ec != std::errc() || end != w.data() + w.size() || n < 0 || n > 65535)
        return usage("weight must be a whole number from 0 to 65535 or 'default', got '" + w + "'");
      c.weight = n;
    }
  }
  while (i < words->size()) {
    const std::string& opt = (*words)[i++];
    if (c.verb == Verb::drain && opt == "--timeout") {
      if (i >= words->size()) return usage("--timeout needs a duration");
      auto d = parse_duration((*words)[i]);
      if (!d || *d <= Duration::zero())
        return usage("--timeout must be a duration like 30s or 5m, got '" + (*words)[i] + "'");
      c.timeout = d;
      ++i;
      continue;
    }
    if (c.verb == Verb::drain && opt == "--wait") {
      c.wait = true;
      continue;
    }
    return usage("unexpected '" + opt + "'");
  }
  return {c, ""};
}

}  // namespace hd::control
