// SPDX-License-Identifier: GPL-2.0-or-later
// The Director's control requests (hadirector ctl): parsing, authorisation, the answers, and
// runtime changes to VRRP instances and real servers saved as overrides before they apply.
#include "daemon/director.h"

#include <cmath>
#include <set>
#include <string>

#include "core/json.h"
#include "core/log.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {

namespace {

std::string refuse(const char* code, const std::string& error) {
  JsonWriter w;
  w.begin_object().field("ok", false).field("code", code).field("error", error).end_object();
  return w.str() + "\n";
}

constexpr size_t kMaxSubscribers = 16;

// A Unix time as the ctl answers and status show it (seconds, to the millisecond).
double wall_ms(double t) { return std::round(t * 1000) / 1000; }

}  // namespace

control::Reply Director::answer(const control::Peer& peer, const std::string& line) {
  auto parsed = control::parse_command(line);
  if (!parsed.command) {
    return refuse("bad_request", parsed.error);
  }
  const control::Command& c = *parsed.command;
  if (auto why = control::authorize(peer, control::access_of(c.verb), access_); !why.empty()) {
    HD_LOG(warning, "control") << "refused '" << control::to_string(c.verb) << "' from "
                               << peer.str() << " (pid " << peer.pid << "): " << why;
    if (control::answers_text(c.verb)) return "error: " + why + "\n";
    return refuse("forbidden", why);
  }
  switch (c.verb) {
    case control::Verb::status_text:
      return status_text();
    case control::Verb::status_json:
      return stream_json(status_steps(), true);
    case control::Verb::reload: {
      HD_LOG(info, "control") << "reload requested by " << peer.str() << " (pid " << peer.pid
                              << ")";
      // Answered once the file is parsed (off the loop) and applied.
      return control::Reply::deferred([this](control::Send send) {
        request_reload([send = std::move(send)](const ReloadOutcome& r) {
          std::string out;
          for (auto& e : r.errors) out += "error: " + e + "\n";
          out += (r.ok ? "ok: running config generation "
                       : "failed: still running config generation ") +
                 std::to_string(r.generation) + "\n";
          send(std::move(out));
        });
      });
    }
    case control::Verb::show: {
      std::vector<JsonStep> steps;
      steps.push_back([](JsonWriter& w) {
        w.begin_object().field("ok", true).key("status");
        return true;
      });
      for (auto& s : status_steps()) steps.push_back(std::move(s));
      steps.push_back([](JsonWriter& w) {
        w.end_object();
        return true;
      });
      return stream_json(std::move(steps), false);
    }
    case control::Verb::overrides: {
      JsonWriter w;
      w.begin_object().field("ok", true).key("overrides");
      overrides_.status(w);
      w.key("holds");
      overrides_.holds_status(w);
      w.key("withdrawals");
      overrides_.withdrawals_status(w);
      w.end_object();
      return w.str() + "\n";
    }
    case control::Verb::drain:
      if (c.wait) return drain_and_wait(peer, c);
      return change_real_server(peer, c);
    case control::Verb::ready:
    case control::Verb::maint:
    case control::Verb::weight:
    case control::Verb::clear:
      return change_real_server(peer, c);
    case control::Verb::hold:
    case control::Verb::failover:
    case control::Verb::release:
      return change_instance(peer, c);
    case control::Verb::withdraw:
    case control::Verb::announce:
      return change_announcement(peer, c);
    case control::Verb::events: {
      if (control_.subscribers() >= kMaxSubscribers)
        return refuse("busy", "already " + std::to_string(kMaxSubscribers) +
                                  " event subscribers: close one first");
      HD_LOG(info, "control") << "event subscriber " << peer.str() << " (pid " << peer.pid << ")";
      JsonWriter w;
      w.begin_object().field("ok", true).field("subscribed", true);
      w.field("seq", events_.published()).end_object();
      return control::Reply(w.str() + "\n", true);
    }
  }
  return refuse("bad_request", "unknown request");
}

std::string Director::change_instance(const control::Peer& peer, const control::Command& c) {
  if (stopping_) return refuse("busy", "the daemon is stopping");
  bool known = false;
  std::string all;
  for (auto& vi : cfg_.vrrp_instances) {
    known = known || vi.name == c.instance;
    all += (all.empty() ? "'" : ", '") + vi.name + "'";
  }
  if (!known)
    return refuse("not_found", "no VRRP instance '" + c.instance + "'" +
                                   (all.empty() ? " (none is configured)" : " (configured: " + all + ")"));
  std::optional<InstanceHold> h;
  if (c.verb == control::Verb::release) {
    // A hold covers its sync group: releasing any member releases the holds that cover it.
    auto members = config::sync_group_of(cfg_, c.instance);
    std::set<std::string> group(members.begin(), members.end());
    const auto holds = overrides_.holds();  // a copy: set_hold changes the store
    for (auto& entry : holds) {
      const std::string& name = entry.first;
      if (name != c.instance && group.count(name)) {
        if (auto err = overrides_.set_hold(name, std::nullopt); !err.empty())
          return refuse("io", "not applied: cannot save the overrides: " + err);
        HD_LOG(info, "overrides") << name << ": released with " << c.instance << " (sync group)";
      }
    }
  } else {
    h = InstanceHold{c.verb == control::Verb::failover ? InstanceHold::Mode::failover
                                                       : InstanceHold::Mode::hold,
                     peer.str(), wall_ms(wall_seconds())};
  }
  if (auto err = overrides_.set_hold(c.instance, h); !err.empty()) {
    HD_LOG(error, "overrides") << control::to_string(c.verb) << " " << c.instance << " by "
                               << peer.str() << " not applied: cannot save " << overrides_.path()
                               << ": " << err;
    return refuse("io", "not applied: cannot save the overrides: " + err);
  }
  HD_LOG(info, "overrides") << c.instance << ": " << control::to_string(c.verb) << " by "
                            << peer.str() << " (pid " << peer.pid << ")";
  events_.publish("override", [&](JsonWriter& e) {
    e.field("vrrp_instance", c.instance).field("command", control::to_string(c.verb));
    e.field("override", h ? to_string(h->mode) : "none").field("by", peer.str());
  });
  push_overrides();
  JsonWriter w;
  w.begin_object().field("ok", true).field("vrrp_instance", c.instance);
  w.field("override", h ? to_string(h->mode) : "none").end_object();
  return w.str() + "\n";
}

std::string Director::change_announcement(const control::Peer& peer, const control::Command& c) {
  if (stopping_) return refuse("busy", "the daemon is stopping");
  auto parsed = IpAddress::parse(c.address);
  bool known = false;
  for (auto& vs : cfg_.virtual_servers)
    known = known || (parsed && vs.announce == config::Announce::bgp && vs.address == *parsed);
  if (!known)
    return refuse("not_found", "no virtual server with announce = \"bgp\" has address '" +
                                   c.address + "'");
  const std::string address = parsed->str();
  std::optional<Withdrawal> wd;
  if (c.verb == control::Verb::withdraw) wd = Withdrawal{peer.str(), wall_ms(wall_seconds())};
  if (auto err = overrides_.set_withdrawal(address, wd); !err.empty())
    return refuse("io", "not applied: cannot save the overrides: " + err);
  HD_LOG(info, "overrides") << address << ": " << control::to_string(c.verb) << " by "
                            << peer.str() << " (pid " << peer.pid << ")";
  events_.publish("override", [&](JsonWriter& e) {
    e.field("address", address).field("command", control::to_string(c.verb));
    e.field("override", wd ? "withdrawn" : "none").field("by", peer.str());
  });
  push_overrides();
  JsonWriter w;
  w.begin_object().field("ok", true).field("address", address);
  w.field("override", wd ? "withdrawn" : "none").end_object();
  return w.str() + "\n";
}

std::string Director::change_real_server(const control::Peer& peer, const control::Command& c) {
  if (stopping_) return refuse("busy", "the daemon is stopping");
  auto r = resolve_real_server(cfg_, c.vs, c.rs);
  if (r.id.empty()) return refuse("not_found", r.error);
  const RealOverride* old = overrides_.find(r.id);
  RealOverride o = old ? *old : RealOverride{};
  double now = wall_ms(wall_seconds());
  using Mode = RealOverride::Mode;
  switch (c.verb) {
    case control::Verb::drain:
      // Draining again restarts the drain with the new timeout; a finished one stays out.
      if (o.mode != Mode::drained && o.mode != Mode::maint) {
        o.mode = Mode::drain;
        o.reason.clear();
        o.deadline.reset();
        if (c.timeout) o.deadline = wall_ms(now + std::chrono::duration<double>(*c.timeout).count());
      }
      break;
    case control::Verb::ready:
      o.mode = Mode::none;
      o.deadline.reset();
      o.reason.clear();
      break;
    case control::Verb::maint:
      o.mode = Mode::maint;
      o.deadline.reset();
      o.reason.clear();
      break;
    case control::Verb::weight:
      o.weight = c.weight;
      break;
    case control::Verb::clear:
      o = RealOverride{};
      break;
    default:
      return refuse("bad_request", "not a real-server request");
  }
  if (old ? (o == *old) : o == RealOverride{}) {
    // Nothing changes (draining a drained server, readying one in rotation): no new author.
    JsonWriter w;
    w.begin_object().field("ok", true).field("real_server", r.id);
    w.field("override", describe(o)).field("changed", false).end_object();
    return w.str() + "\n";
  }
  o.by = peer.str();
  o.at = now;
  if (auto err = overrides_.set(r.id, o); !err.empty()) {
    HD_LOG(error, "overrides") << control::to_string(c.verb) << " " << r.id << " by " << peer.str()
                               << " not applied: cannot save " << overrides_.path() << ": " << err;
    return refuse("io", "not applied: cannot save the overrides: " + err);
  }
  HD_LOG(info, "overrides") << r.id << ": " << control::to_string(c.verb) << " by " << peer.str()
                            << " (pid " << peer.pid << "): now " << describe(o);
  events_.publish("override", [&](JsonWriter& e) {
    e.field("real_server", r.id).field("command", control::to_string(c.verb));
    e.field("override", describe(o)).field("by", o.by);
  });
  push_overrides();
  JsonWriter w;
  w.begin_object().field("ok", true).field("real_server", r.id);
  const RealOverride* now_o = overrides_.find(r.id);
  w.field("override", now_o ? describe(*now_o) : std::string("none"));
  w.end_object();
  return w.str() + "\n";
}

namespace {
std::string drained_answer(const std::string& id, const std::string& why, double waited_s) {
  JsonWriter w;
  w.begin_object().field("ok", true).field("real_server", id).field("override", "drained");
  w.field("reason", why).field("waited_s", std::round(waited_s * 1000) / 1000).end_object();
  return w.str() + "\n";
}
}  // namespace

control::Reply Director::drain_and_wait(const control::Peer& peer, const control::Command& c) {
  // A waiting connection holds one of the control socket's slots until its drain ends (a
  // client that gave up is not noticed before): a bound, so that waits cannot fill them.
  if (drain_waiters_.size() >= kMaxSubscribers)
    return refuse("busy", "already " + std::to_string(kMaxSubscribers) +
                              " drain --wait requests waiting: wait with ctl events instead");
  std::string answer = change_real_server(peer, c);
  if (answer.rfind("{\"ok\":true", 0) != 0) return answer;
  const std::string id = resolve_real_server(cfg_, c.vs, c.rs).id;
  const RealOverride* o = overrides_.find(id);
  using Mode = RealOverride::Mode;
  if (o && o->mode == Mode::drained) return drained_answer(id, o->reason, 0);
  if (!o || o->mode != Mode::drain)  // maint: a drain does not undo it
    return refuse("conflict", id + " is " + (o ? describe(*o) : std::string("none")) +
                                  ", not draining: ready it first");
  return control::Reply::deferred([this, id](control::Send send) {
    drain_waiters_.emplace(id, DrainWaiter{std::move(send), SteadyClock::now()});
  });
}

void Director::answer_drain_waiters_at_stop() {
  for (auto& [id, waiter] : drain_waiters_)
    waiter.send(refuse("busy", "the daemon is stopping before the drain of " + id +
                                   " ended (the drain goes on when it starts again)"));
  drain_waiters_.clear();
}

void Director::drain_changed(const std::string& id, const RealOverride* now,
                             const std::string& why) {
  auto [first, last] = drain_waiters_.equal_range(id);
  if (first == last) return;
  using Mode = RealOverride::Mode;
  if (now && now->mode == Mode::drain) return;  // drained again: still waiting
  for (auto it = first; it != last; ++it) {
    double waited = std::chrono::duration<double>(SteadyClock::now() - it->second.since).count();
    if (now && now->mode == Mode::drained)
      it->second.send(drained_answer(id, why.empty() ? now->reason : why, waited));
    else
      it->second.send(refuse(
          "conflict", "the drain of " + id + " ended before it finished: " +
                          (!why.empty() ? why
                                        : "now " + (now ? describe(*now) + " (set by " + now->by + ")"
                                                        : std::string("none")))));
  }
  drain_waiters_.erase(first, last);
}

}  // namespace hd
