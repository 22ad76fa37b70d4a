// SPDX-License-Identifier: GPL-2.0-or-later
// [[virtual_server]] and its [[virtual_server.real_server]] entries. Names and bits are
// ipvs/model.h's (schedulers, scheduler flags, tunnels).
#include "daemon/config/sections.h"

#include "checkers/spec.h"
#include "daemon/config/check_spec.h"
#include "ipvs/model.h"

namespace hd::config {
namespace {

using namespace std::chrono_literals;

// The scheduler names as a choice (ipvs owns the list).
std::set<std::string> scheduler_names() {
  std::set<std::string> out;
  for (auto n : ipvs::kSchedulers) out.emplace(n);
  return out;
}

std::optional<Forwarding> parse_forwarding(Table& t, std::string_view key) {
  auto v = t.choice(key, {"nat", "dr", "tun"});
  if (!v) return std::nullopt;
  return *v == "nat" ? Forwarding::nat : *v == "dr" ? Forwarding::dr : Forwarding::tun;
}


}  // namespace

std::optional<VirtualServer> load_vs(Table& t) {
  Ctx& ctx = t.ctx();
  VirtualServer vs;
  vs.pos = t.pos();
  bool ok = true;
  auto addr = t.address("address");
  auto fwmark = t.integer("fwmark", 1, 0xffffffffLL);
  auto* fam_node = t.node("family");
  if (addr) vs.address = *addr;
  if (fwmark) vs.fwmark = uint32_t(*fwmark);
  if (t.node("address") && t.node("fwmark")) {
    ctx.error(*t.node("fwmark"), "a virtual server has either 'address' and 'port' or 'fwmark', not both");
    ok = false;
  } else if (!t.node("address") && !t.node("fwmark")) {
    ctx.error(t.pos(), "virtual server needs 'address' and 'port', or 'fwmark'");
    ok = false;
  }
  if (t.node("address")) {
    if (!addr) ok = false;
    if (auto p = t.integer("port", 0, 65535, true)) {
      vs.port = int(*p);
      if (vs.port == 0) {
        ctx.error(*t.node("port"), "'port' 0 is only for fwmark services");
        ok = false;
      }
    } else {
      ok = false;
    }
    if (fam_node) {
      ctx.error(*fam_node, "'family' is only for fwmark services (an address has its own family)");
      ok = false;
    }
  } else if (t.node("fwmark")) {
    if (!fwmark) ok = false;
    if (t.node("port")) {
      ctx.error(*t.node("port"), "'port' does not apply to fwmark services");
      ok = false;
    }
    if (auto f = t.choice("family", {"inet", "inet6"})) vs.family_ = *f == "inet6" ? Family::v6 : Family::v4;
  }
  if (auto p = t.choice("protocol", {"tcp", "udp", "sctp"}))
    vs.protocol = *p == "tcp" ? Protocol::tcp : *p == "udp" ? Protocol::udp : Protocol::sctp;
  if (auto a = t.choice("announce", {"vrrp", "bgp"})) vs.announce = *a == "bgp" ? Announce::bgp : Announce::vrrp;
  if (auto s = t.choice("scheduler", scheduler_names())) vs.scheduler = *ipvs::parse_scheduler(*s);
  if (vs.announce == Announce::bgp) {
    // Several directors behind ECMP: a flow the router moves to another director must land
    // on the same real server there. mh (Maglev) with the same servers and weights picks the
    // same everywhere, so it is this mode's default; sh does too, but remaps more flows
    // when a server changes. Others pick per director: said, not refused.
    if (!t.node("scheduler")) {
      vs.scheduler = ipvs::Scheduler::mh;
    } else if (vs.scheduler != ipvs::Scheduler::mh && vs.scheduler != ipvs::Scheduler::sh) {
      ctx.warn(*t.node("scheduler"),
               "scheduler \"" + std::string(ipvs::to_string(vs.scheduler)) +
                   "\" picks a real server per director: with announce = \"bgp\", a flow that "
                   "ECMP moves to another director lands on another real server unless connection "
                   "sync carried it; \"mh\" (this mode's default) picks the same on every director");
    }
    if (t.node("fwmark") && !t.node("address")) {
      ctx.error(*t.node("announce"), "announce = \"bgp\" needs the virtual server's 'address' "
                                     "(a fwmark service has no address to announce)");
      ok = false;
    }
  }
  if (auto flags = t.string_list("scheduler_flags")) {
    auto* arr = t.node("scheduler_flags")->as_array();
    size_t i = 0;
    for (auto& f : *flags) {
      const toml::node& fn = *arr->get(i++);
      auto bit = ipvs::parse_sched_flag(f);
      auto owner = ipvs::sched_flag_scheduler(f);
      if (!bit || !owner) {
        ctx.error(fn, "unknown scheduler flag '" + f + "' (sh-fallback, sh-port, mh-fallback, mh-port)");
        ok = false;
      } else if (vs.scheduler != *owner) {
        ctx.error(fn, "scheduler flag '" + f + "' needs scheduler \"" +
                          std::string(ipvs::to_string(*owner)) + "\"");
        ok = false;
      } else {
        vs.scheduler_flags |= *bit;
      }
    }
  }
  if (auto f = parse_forwarding(t, "forwarding")) vs.forwarding = *f;
  if (auto* n = t.node("persistence_timeout")) {
    if (auto d = t.duration("persistence_timeout", Duration::zero(), std::chrono::hours(24 * 365))) {
      if (*d % std::chrono::seconds(1) != Duration::zero()) {
        ctx.error(*n, "'persistence_timeout' must be whole seconds (the kernel counts seconds)");
        ok = false;
      }
      vs.persistence_timeout = *d;
    }
  }
  if (t.node("persistence_netmask")) {
    int max = vs.family() == Family::v4 ? 32 : 128;
    if (auto v = t.integer("persistence_netmask", 1, max)) vs.persistence_netmask = int(*v);
    if (vs.persistence_timeout == Duration::zero()) {
      ctx.error(*t.node("persistence_netmask"), "'persistence_netmask' needs 'persistence_timeout'");
      ok = false;
    }
  }
  if (auto v = t.integer("quorum", 0, 1 << 30)) vs.quorum = int(*v);
  if (auto v = t.integer("hysteresis", 0, 1 << 30)) vs.hysteresis = int(*v);
  if (auto* n = t.node("sorry_server")) {
    if (auto* st = n->as_table()) {
      Table s(ctx, *st, "sorry_server");
      auto a = s.address("address", true);
      auto p = s.integer("port", 0, 65535);
      s.finish();
      if (a) {
        if (a->family() != vs.family()) {
          ctx.error(*st->get("address"), "sorry_server is not in the virtual server's address family");
          ok = false;
        }
        vs.sorry_server = SorryServer{*a, p ? int(*p) : vs.port};
      } else {
        ok = false;
      }
    } else {
      t.wrong_type(*n, "sorry_server", "a table {address, port}");
      ok = false;
    }
  }
  if (auto v = t.boolean("inhibit_on_failure")) vs.inhibit_on_failure = *v;
  if (auto v = t.boolean("one_packet")) {
    vs.one_packet = *v;
    if (*v && (vs.fwmark != 0 || vs.protocol != Protocol::udp)) {
      // the kernel schedules single packets for UDP services only
      ctx.error(*t.node("one_packet"), "one_packet is for udp services only");
      ok = false;
    }
  }
  if (auto v = t.duration("slow_start", Duration::zero(), std::chrono::hours(1))) vs.slow_start = *v;

  each_table(t, "real_server", "[[virtual_server.real_server]]", [&](const toml::table& rt, int) {
    Table r(ctx, rt, "[[virtual_server.real_server]]");
    RealServer rs;
    rs.pos = r.pos();
    bool rok = true;
    if (auto a = r.address("address", true)) rs.address = *a;
    else rok = false;
    if (auto p = r.integer("port", 0, 65535)) rs.port = int(*p);
    else if (!r.node("port")) rs.port = vs.port;
    else rok = false;
    if (auto w = r.integer("weight", 0, 65535)) rs.weight = int(*w);
    if (auto f = parse_forwarding(r, "forwarding")) rs.forwarding = *f;
    if (auto v = r.integer("upper_threshold", 0, 65535)) rs.upper_threshold = int(*v);
    if (auto v = r.integer("lower_threshold", 0, 65535)) rs.lower_threshold = int(*v);
    bool has_tunnel_keys = rt.get("tunnel_type") || rt.get("tunnel_port") || rt.get("tunnel_checksum");
    if (auto v = r.choice("tunnel_type", {"ipip", "gue", "gre"}))
      rs.tunnel.type = *ipvs::parse_tun_type(*v);
    if (auto v = r.integer("tunnel_port", 1, 65535)) rs.tunnel.port = uint16_t(*v);
    if (auto v = r.choice("tunnel_checksum", {"none", "csum", "remcsum"}))
      rs.tunnel.flags = *ipvs::parse_tun_checksum(*v);
    if (has_tunnel_keys && rs.forwarding.value_or(vs.forwarding) != Forwarding::tun) {
      ctx.error(rs.pos, "tunnel_type, tunnel_port and tunnel_checksum need forwarding = \"tun\"");
      rok = false;
    } else if (auto bad = ipvs::validate_tunnel(rs.tunnel)) {
      // The rule is ipvs's; the position is the key that says what the rule refuses.
      using F = ipvs::TunnelProblem::Field;
      const char* key = bad->field == F::type ? "tunnel_type"
                        : bad->field == F::port ? "tunnel_port"
                                                : "tunnel_checksum";
      if (auto* n = rt.get(key))
        ctx.error(*n, bad->message);
      else
        ctx.error(rs.pos, bad->message);
      rok = false;
    }
    if (rs.lower_threshold && rs.upper_threshold && rs.lower_threshold > rs.upper_threshold) {
      ctx.error(*r.node("lower_threshold"), "'lower_threshold' must not exceed 'upper_threshold'");
      rok = false;
    }
    if (auto* ct = r.subtable("check")) {
      auto c = load_check(ctx, *ct, "check of real server");
      if (c) rs.check = ctx.shared(std::move(*c));
      else rok = false;
    }
    r.finish();
    if (!rok) {
      ok = false;
      return;
    }
    bool check_ok = true;  // no error reported on the check yet
    if (rs.check && rs.check->type != CheckType::script && rs.check->source_address &&
        rs.check->source_address->family() !=
            rs.check->connect_address.value_or(rs.address).family()) {
      ctx.error(*rt.get("check")->as_table()->get("source_address"),
                "the check's source_address is not in the family of the address it checks (" +
                    rs.check->connect_address.value_or(rs.address).str() + ")");
      ok = check_ok = false;
    }
    if (rs.check && rs.check->type != CheckType::script && rs.check->type != CheckType::ping &&
        rs.check->type != CheckType::file && rs.port == 0 && !rs.check->connect_port) {
      ctx.error(ctx.pos_of(rt.get("check")->source()),
                "the check of real server " + rs.address.str() +
                    " needs a port: set connect_port (the real server's port is 0)");
      ok = false;
    } else if (rs.check && check_ok) {
      // The last word is the probes': whatever they would refuse to run is refused here.
      if (auto why = checkers::validate(to_check_spec(*rs.check, rs.address, rs.port ? rs.port : vs.port, rs.weight))) {
        ctx.error(ctx.pos_of(rt.get("check")->source()),
                  "the check of real server " + rs.address.str() + " cannot run: " + *why);
        ok = false;
      }
    }
    Forwarding fwd = rs.forwarding.value_or(vs.forwarding);
    if (rs.address.family() != vs.family() && fwd != Forwarding::tun) {
      ctx.error(*rt.get("address"), "real server " + rs.address.str() +
                                        " is not in the virtual server's address family");
      ok = false;
    }
    if ((fwd == Forwarding::dr || fwd == Forwarding::tun) && vs.fwmark == 0 && rs.port != vs.port) {
      ctx.error(rt.get("port") ? ctx.pos_of(rt.get("port")->source()) : rs.pos,
                std::string(to_string(fwd)) + " forwarding cannot change the port (" +
                    std::to_string(vs.port) + " -> " + std::to_string(rs.port) + "); use nat");
      ok = false;
    }
    for (auto& o : vs.real_servers)
      if (o.address == rs.address && o.port == rs.port) {
        ctx.error(rs.pos, "duplicate real server " + rs.address.str() + ":" + std::to_string(rs.port));
        ok = false;
      }
    vs.real_servers.push_back(std::move(rs));
  });
  vs.real_servers.shrink_to_fit();  // no growth slack kept: 100,000 real servers stay loaded
  t.finish();
  if (!ok) return std::nullopt;
  return vs;
}


std::optional<Anycast> load_anycast(Table& t) {
  Anycast a;
  a.pos = t.pos();
  bool ok = true;
  if (auto n = t.str("interface")) {
    // A Linux interface name: 1-15 bytes, no '/', ':' or whitespace.
    bool good = !n->empty() && n->size() < 16 &&
                n->find_first_of("/: \t\n") == std::string::npos;
    if (!good) {
      t.ctx().error(*t.node("interface"), "'interface' must be a Linux interface name (1-15 characters, no '/', ':' or spaces)");
      ok = false;
    } else {
      a.interface = *n;
    }
  }
  if (auto v = t.integer("table", 1, 0xffffffffLL)) {
    if (*v == 253 || *v == 254 || *v == 255) {
      t.ctx().error(*t.node("table"), "'table' " + std::to_string(*v) +
                                          " is the kernel's own (default, main, local): take one of yours, e.g. 200");
      ok = false;
    } else {
      a.table = uint32_t(*v);
    }
  }
  if (auto d = t.duration("withdraw_linger", Duration::zero(), std::chrono::hours(1))) a.withdraw_linger = *d;
  t.finish();
  if (!ok) return std::nullopt;
  return a;
}

}  // namespace hd::config
