// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/config/writer.h"

#include "checkers/dns_message.h"
#include "core/text.h"

#include <toml++/toml.h>
#include <sstream>
#include <vector>

namespace hd::config {
namespace {

using namespace std::chrono_literals;

// toml::table keeps its keys sorted; within a table the file reads alphabetically.
void put(toml::table& t, std::string_view key, std::string v) {
  t.insert_or_assign(key, std::move(v));
}
void put(toml::table& t, std::string_view key, const char* v) {
  t.insert_or_assign(key, std::string(v));
}
void put(toml::table& t, std::string_view key, int64_t v) {
  t.insert_or_assign(key, v);
}
void put(toml::table& t, std::string_view key, int v) {
  t.insert_or_assign(key, int64_t{v});
}
void put(toml::table& t, std::string_view key, bool v) {
  t.insert_or_assign(key, v);
}
void put(toml::table& t, std::string_view key, toml::table v) {
  t.insert_or_assign(key, std::move(v));
}
void put(toml::table& t, std::string_view key, toml::array v) {
  t.insert_or_assign(key, std::move(v));
}

void put_duration(toml::table& t, std::string_view key, Duration d, Duration dflt) {
  if (d != dflt) put(t, key, duration_text(d));
}
template <typename T>
void put_if(toml::table& t, std::string_view key, const T& v, const T& dflt) {
  if (v != dflt) put(t, key, v);
}
void put_str_if(toml::table& t, std::string_view key, const std::string& v) {
  if (!v.empty()) put(t, key, v);
}

toml::array strings(const std::vector<std::string>& v) {
  toml::array a;
  for (auto& s : v) a.push_back(s);
  return a;
}
void put_strings_if(toml::table& t, std::string_view key, const std::vector<std::string>& v) {
  if (!v.empty()) put(t, key, strings(v));
}

// [vrrp_instance.auth] / [global.vrrp_auth]. Keys are written as they were named (a file, a
// credential); an inline key ("hex:") is written back inline: what the writer writes then holds
// a key, as the file it came from did.
toml::table auth_table(const AuthSection& a) {
  toml::table t;
  toml::array keys;
  for (size_t i = 0; i < a.auth.keys.size(); ++i) {
    toml::table k;
    k.insert_or_assign("id", int64_t{a.auth.keys[i].id});
    std::string src = i < a.key_sources.size() ? a.key_sources[i] : "hex:";
    if (src == "hex:") {
      auto key = a.auth.keys[i].secret.bytes();
      src += to_hex(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
    }
    k.insert_or_assign("secret", std::move(src));
    k.is_inline(true);
    keys.push_back(std::move(k));
  }
  t.insert_or_assign("keys", std::move(keys));
  t.insert_or_assign("active_key", int64_t{a.auth.active_key});
  vrrp::AuthConfig d;
  if (a.auth.mode != d.mode) t.insert_or_assign("mode", std::string(vrrp::to_string(a.auth.mode)));
  if (a.auth.anti_replay != d.anti_replay)
    t.insert_or_assign("anti_replay", std::string(vrrp::to_string(a.auth.anti_replay)));
  if (a.window) t.insert_or_assign("window", duration_text(*a.window));
  return t;
}

toml::table inline_table() {
  toml::table t;
  t.is_inline(true);
  return t;
}

// An address, with its prefix length only where it is not the host's (/32, /128).
std::string prefix_text(const IpPrefix& p) {
  return p.length == (p.address.is_v4() ? 32 : 128) ? p.address.str() : p.str();
}

toml::table global_table(const Global& g) {
  const Global d;
  toml::table t;
  put(t, "router_id", g.router_id);  // always: a missing one becomes the host name
  if (g.log_level != d.log_level) put(t, "log_level", std::string(log::level_name(g.log_level)));
  put_if(t, "control_socket", g.control_socket, d.control_socket);
  put_if(t, "runtime_dir", g.runtime_dir, d.runtime_dir);
  put_if(t, "state_dir", g.state_dir, d.state_dir);
  put_if(t, "admin_group", g.admin_group, d.admin_group);
  put_if(t, "read_group", g.read_group, d.read_group);
  if (g.dataplane != d.dataplane) put(t, "dataplane", to_string(g.dataplane));
  put_if(t, "vrrp_realtime", g.vrrp_realtime, d.vrrp_realtime);
  put_if(t, "vrrp_rt_priority", g.vrrp_rt_priority, d.vrrp_rt_priority);
  if (!g.vrrp_cpu_affinity.empty()) {
    toml::array cpus;
    for (int c : g.vrrp_cpu_affinity) cpus.push_back(c);
    put(t, "vrrp_cpu_affinity", std::move(cpus));
  }
  if (g.ipvs_remove_on_stop != d.ipvs_remove_on_stop)
    put(t, "ipvs_on_stop", g.ipvs_remove_on_stop ? "remove" : "keep");
  if (g.handover_forwarding != d.handover_forwarding)
    put(t, "handover_forwarding", g.handover_forwarding);
  put_duration(t, "reconcile_interval", g.reconcile_interval, d.reconcile_interval);
  if (g.lvs_sync_daemon) {
    toml::table s;
    put(s, "interface", g.lvs_sync_daemon->interface);
    if (!g.lvs_sync_daemon->vrrp_instance.empty())
      put(s, "vrrp_instance", g.lvs_sync_daemon->vrrp_instance);
    put_if(s, "sync_id", g.lvs_sync_daemon->sync_id, 0);
    put_if(s, "max_message", g.lvs_sync_daemon->max_message, SyncDaemon{}.max_message);
    put(t, "lvs_sync_daemon", std::move(s));
  }
  if (g.conntrackd) {
    toml::table s;
    put(s, "config", g.conntrackd->config);
    put(s, "vrrp_instance", g.conntrackd->vrrp_instance);
    if (g.conntrackd->binary != Conntrackd{}.binary) put(s, "binary", g.conntrackd->binary);
    put(t, "conntrackd", std::move(s));
  }
  if (g.ipvs_timeouts != d.ipvs_timeouts) {
    toml::table s;
    put_duration(s, "tcp", g.ipvs_timeouts.tcp, Duration::zero());
    put_duration(s, "tcpfin", g.ipvs_timeouts.tcpfin, Duration::zero());
    put_duration(s, "udp", g.ipvs_timeouts.udp, Duration::zero());
    put(t, "ipvs_timeouts", std::move(s));
  }
  if (g.vrrp_auth) put(t, "vrrp_auth", auth_table(*g.vrrp_auth));
  if (g.metrics) {
    toml::table s;
    put(s, "listen", to_string(*g.metrics));
    put(t, "metrics", std::move(s));
  }
  return t;
}

// A name, or {name, weight} where the instance sets the weight (the loader's two forms).
void put_track_refs(toml::table& t, std::string_view key, const std::vector<TrackRef>& refs) {
  if (refs.empty()) return;
  toml::array a;
  for (auto& r : refs) {
    if (!r.weight) {
      a.push_back(r.name);
    } else {
      auto e = inline_table();
      put(e, "name", r.name);
      put(e, "weight", *r.weight);
      a.push_back(std::move(e));
    }
  }
  put(t, key, std::move(a));
}

toml::table vrrp_table(const VrrpInstance& vi) {
  const VrrpInstance d;
  toml::table t;
  put(t, "name", vi.name);
  put(t, "interface", vi.interface);
  put(t, "virtual_router_id", vi.vrid);
  put_if(t, "priority", vi.priority, d.priority);
  put_if(t, "version", vi.version, d.version);
  put_duration(t, "advert_interval", vi.advert_interval, d.advert_interval);
  put_if(t, "preempt", vi.preempt, d.preempt);
  put_duration(t, "preempt_delay", vi.preempt_delay, d.preempt_delay);
  put_duration(t, "handover_linger", vi.handover_linger, d.handover_linger);
  auto vip_array = [](const std::vector<Vip>& list) {
    toml::array vips;
    for (auto& v : list) {
      if (v.label.empty()) {
        vips.push_back(prefix_text(v.prefix));
      } else {
        auto e = inline_table();
        put(e, "address", prefix_text(v.prefix));
        put(e, "label", v.label);
        vips.push_back(std::move(e));
      }
    }
    return vips;
  };
  if (!vi.vips.empty()) put(t, "virtual_ipaddresses", vip_array(vi.vips));
  if (!vi.excluded_vips.empty())
    put(t, "virtual_ipaddresses_excluded", vip_array(vi.excluded_vips));
  if (vi.unicast_source) put(t, "unicast_source", vi.unicast_source->str());
  if (!vi.unicast_peers.empty()) {
    toml::array a;
    for (auto& p : vi.unicast_peers) a.push_back(p.str());
    put(t, "unicast_peers", std::move(a));
  }
  if (!vi.peers.empty()) {
    toml::array a;
    for (auto& p : vi.peers) a.push_back(p.str());
    put(t, "peers", std::move(a));
  }
  put_if(t, "adopt_interval_ratio", vi.adopt_interval_ratio, d.adopt_interval_ratio);
  put_str_if(t, "auth_pass", vi.auth_pass);
  if (vi.auth && !vi.auth->inherited) put(t, "auth", auth_table(*vi.auth));
  if (vi.garp != d.garp) {
    toml::table g;
    put_if(g, "count", vi.garp.count, d.garp.count);
    put_duration(g, "spacing", vi.garp.spacing, d.garp.spacing);
    put_duration(g, "refresh", vi.garp.refresh, d.garp.refresh);
    put_duration(g, "second_burst_delay", vi.garp.second_burst_delay, d.garp.second_burst_delay);
    put(t, "garp", std::move(g));
  }
  put_strings_if(t, "track_interfaces", vi.track_interfaces);
  put_track_refs(t, "track_scripts", vi.track_scripts);
  put_track_refs(t, "track_files", vi.track_files);
  if (!vi.track_virtual_servers.empty()) {
    toml::array a;
    for (auto& r : vi.track_virtual_servers) {
      if (r.weight == 0) {
        a.push_back(r.service);
      } else {
        auto e = inline_table();
        put(e, "service", r.service);
        put(e, "weight", r.weight);
        a.push_back(std::move(e));
      }
    }
    put(t, "track_virtual_servers", std::move(a));
  }
  if (vi.notify != d.notify) {
    toml::table n;
    put_strings_if(n, "master", vi.notify.master);
    put_strings_if(n, "backup", vi.notify.backup);
    put_strings_if(n, "fault", vi.notify.fault);
    put_strings_if(n, "stop", vi.notify.stop);
    put_duration(n, "timeout", vi.notify.timeout, d.notify.timeout);
    put(t, "notify", std::move(n));
  }
  return t;
}

toml::table track_script_table(const TrackScript& s) {
  const TrackScript d;
  toml::table t;
  put(t, "name", s.name);
  put(t, "command", strings(s.command));  // required
  put_duration(t, "interval", s.interval, d.interval);
  put_duration(t, "timeout", s.timeout, d.timeout);
  put_if(t, "rise", s.rise, d.rise);
  put_if(t, "fall", s.fall, d.fall);
  put_if(t, "weight", s.weight, d.weight);
  return t;
}

toml::table track_file_table(const TrackFile& f) {
  const TrackFile d;
  toml::table t;
  put(t, "name", f.name);
  put(t, "path", f.path);
  put_if(t, "weight", f.weight, d.weight);
  if (f.init) put(t, "init", static_cast<int64_t>(*f.init));
  put_if(t, "init_overwrite", f.init_overwrite, d.init_overwrite);
  return t;
}

toml::table sync_group_table(const SyncGroup& g) {
  toml::table t;
  put(t, "name", g.name);
  put(t, "instances", strings(g.instances));
  return t;
}

// Every value that differs from the loader's result for an empty table of this type is
// written, whatever the type: a key of another check type fails the load, loudly.
toml::table check_table(const Check& c) {
  const Check d;
  toml::table t;
  put(t, "type", std::string(to_string(c.type)));
  put_duration(t, "interval", c.interval, d.interval);
  put_duration(t, "timeout", c.timeout, d.timeout);
  put_if(t, "rise", c.rise, d.rise);
  put_if(t, "fall", c.fall, d.fall);
  if (c.initial_up) put(t, "initial_state", "up");
  if (c.connect_address) put(t, "connect_address", c.connect_address->str());
  if (c.connect_port) put(t, "connect_port", *c.connect_port);
  if (c.source_address) put(t, "source_address", c.source_address->str());
  // tcp, udp: bytes that are not UTF-8 go as hexadecimal
  for (auto [key, bytes] : {std::pair{"send", &c.send}, std::pair{"expect", &c.expect}}) {
    if (bytes->empty()) continue;
    if (valid_utf8(*bytes)) put(t, key, *bytes);
    else put(t, std::string(key) + "_hex", to_hex(*bytes));
  }
  put_if(t, "require_reply", c.require_reply, d.require_reply);
  // The loader derives half-open from send/expect; "probe" only where that is not what it says.
  if (c.type == CheckType::tcp && c.half_open != (c.send.empty() && c.expect.empty()))
    put(t, "probe", c.half_open ? "syn" : "connect");
  // http, https
  if (c.method != d.method) put(t, "method", std::string(to_string(c.method)));
  put_if(t, "path", c.path, d.path);
  put_str_if(t, "host", c.host);
  if (c.expect_status != d.expect_status) {
    toml::array a;  // an empty one is written as is, for the loader to refuse
    for (auto& r : c.expect_status) {
      if (r.lo == r.hi)
        a.push_back(int64_t{r.lo});
      else
        a.push_back(std::to_string(r.lo) + "-" + std::to_string(r.hi));
    }
    put(t, "expect_status", std::move(a));
  }
  put_str_if(t, "body_contains", c.body_contains);
  put_str_if(t, "body_regex", c.body_regex);
  put_str_if(t, "body_sha256", c.body_sha256);
  put_duration(t, "connect_timeout", c.connect_timeout, d.connect_timeout);
  // https
  put_if(t, "tls_verify", c.tls_verify, d.tls_verify);
  put_if(t, "keepalive", c.keepalive, d.keepalive);
  put_str_if(t, "ca_file", c.ca_file);
  put_str_if(t, "sni", c.sni);
  // dns
  if (c.type == CheckType::dns) put(t, "query_name", c.query_name);  // required
  if (c.query_type != d.query_type) put(t, "query_type", checkers::dns::type_name(c.query_type));
  // smtp
  put_str_if(t, "helo_name", c.helo_name);
  put_if(t, "starttls", c.starttls, d.starttls);
  // script
  if (c.type == CheckType::script || !c.command.empty()) put(t, "command", strings(c.command));
  if (!c.exit_weights.empty()) {
    toml::table w;
    for (auto& [code, weight] : c.exit_weights) put(w, std::to_string(code), weight);
    put(t, "exit_weights", std::move(w));
  }
  // file
  if (c.type == CheckType::file || !c.file.empty()) put(t, "file", c.file);
  put_if(t, "weight", c.file_weight, d.file_weight);
  return t;
}

toml::table real_server_table(const RealServer& rs, const VirtualServer& vs) {
  const RealServer d;
  toml::table t;
  put(t, "address", rs.address.str());
  if (rs.port != vs.port) put(t, "port", rs.port);  // absent: the virtual server's
  put_if(t, "weight", rs.weight, d.weight);
  if (rs.forwarding) put(t, "forwarding", to_string(*rs.forwarding));
  put_if(t, "upper_threshold", rs.upper_threshold, d.upper_threshold);
  put_if(t, "lower_threshold", rs.lower_threshold, d.lower_threshold);
  if (rs.tunnel.type != d.tunnel.type)
    put(t, "tunnel_type", std::string(ipvs::to_string(rs.tunnel.type)));
  put_if(t, "tunnel_port", int{rs.tunnel.port}, int{d.tunnel.port});
  if (rs.tunnel.flags != d.tunnel.flags)
    put(t, "tunnel_checksum", std::string(ipvs::tun_checksum_str(rs.tunnel.flags)));
  if (rs.check) put(t, "check", check_table(*rs.check));
  return t;
}

toml::table virtual_server_table(const VirtualServer& vs) {
  const VirtualServer d;
  toml::table t;
  if (vs.address) {
    put(t, "address", vs.address->str());
    put(t, "port", vs.port);
  }
  if (vs.fwmark || !vs.address) put(t, "fwmark", int64_t{vs.fwmark});
  // family is the fwmark service's own; an address has its family (family_ unused there,
  // and the loader refuses the key beside an address, leaving family_ at its default).
  if (!vs.address && vs.family_ != d.family_)
    put(t, "family", vs.family_ == Family::v6 ? "inet6" : "inet");
  if (vs.protocol != d.protocol) put(t, "protocol", to_string(vs.protocol));
  if (vs.announce != d.announce) put(t, "announce", to_string(vs.announce));
  // With announce = "bgp" the default scheduler is mh: written always, whatever it is.
  if (vs.scheduler != d.scheduler || vs.announce == Announce::bgp)
    put(t, "scheduler", std::string(ipvs::to_string(vs.scheduler)));
  if (vs.scheduler_flags) {
    // "sh-fallback,sh-port": one name per bit, named after the scheduler.
    toml::array a;
    std::string names = ipvs::sched_flags_str(vs.scheduler_flags, ipvs::to_string(vs.scheduler));
    for (size_t b = 0; b < names.size();) {
      size_t e = names.find(',', b);
      if (e == std::string::npos) e = names.size();
      a.push_back(names.substr(b, e - b));
      b = e + 1;
    }
    put(t, "scheduler_flags", std::move(a));
  }
  if (vs.forwarding != d.forwarding) put(t, "forwarding", to_string(vs.forwarding));
  put_duration(t, "persistence_timeout", vs.persistence_timeout, d.persistence_timeout);
  if (vs.persistence_netmask) put(t, "persistence_netmask", *vs.persistence_netmask);
  put_if(t, "quorum", vs.quorum, d.quorum);
  put_if(t, "hysteresis", vs.hysteresis, d.hysteresis);
  if (vs.sorry_server) {
    auto s = inline_table();
    put(s, "address", vs.sorry_server->address.str());
    if (vs.sorry_server->port != vs.port) put(s, "port", vs.sorry_server->port);
    put(t, "sorry_server", std::move(s));
  }
  put_if(t, "inhibit_on_failure", vs.inhibit_on_failure, d.inhibit_on_failure);
  put_if(t, "one_packet", vs.one_packet, d.one_packet);
  put_duration(t, "slow_start", vs.slow_start, d.slow_start);
  if (!vs.real_servers.empty()) {
    toml::array a;
    for (auto& rs : vs.real_servers) a.push_back(real_server_table(rs, vs));
    put(t, "real_server", std::move(a));
  }
  return t;
}

toml::table realserver_table(const RealServerRole& r) {
  const RealServerRole d;
  toml::table t;
  toml::array vips;
  for (auto& v : r.vips) {
    if (v.mode == Forwarding::dr) {
      vips.push_back(v.address.str());
    } else {
      auto e = inline_table();
      put(e, "address", v.address.str());
      put(e, "mode", to_string(v.mode));
      vips.push_back(std::move(e));
    }
  }
  put(t, "vips", std::move(vips));  // required
  put_strings_if(t, "interfaces", r.interfaces);
  put_if(t, "arp_ignore", r.arp_ignore, d.arp_ignore);
  put_if(t, "arp_announce", r.arp_announce, d.arp_announce);
  put_if(t, "rp_filter", r.rp_filter, d.rp_filter);
  put_duration(t, "check_interval", r.check_interval, d.check_interval);
  return t;
}

template <typename T, typename F>
void put_tables(toml::table& root, std::string_view key, const std::vector<T>& items, F&& f) {
  if (items.empty()) return;
  toml::array a;
  for (auto& i : items) a.push_back(f(i));
  put(root, key, std::move(a));
}

}  // namespace

std::string duration_text(Duration d) {
  const int64_t ns = d.count();
  constexpr int64_t kUs = 1000, kMs = 1000 * kUs, kS = 1000 * kMs, kM = 60 * kS, kH = 60 * kM;
  if (ns == 0) return "0s";
  if (ns < 0) return "-" + duration_text(-d);  // the loader refuses it, as it should
  if (ns % kH == 0) return std::to_string(ns / kH) + "h";
  if (ns % kM == 0) return std::to_string(ns / kM) + "m";
  if (ns % kS == 0) return std::to_string(ns / kS) + "s";
  if (ns % kMs == 0) return std::to_string(ns / kMs) + "ms";
  // Whole microseconds (the loader's resolution; anything finer is rounded): milliseconds
  // with up to three decimals, which the loader's double arithmetic reads back exactly.
  int64_t us = (ns + (ns >= 0 ? kUs / 2 : -kUs / 2)) / kUs;
  if (us % 1000 == 0) return std::to_string(us / 1000) + "ms";
  std::string frac = std::to_string(us % 1000);
  frac.insert(0, 3 - frac.size(), '0');
  while (frac.back() == '0') frac.pop_back();
  return std::to_string(us / 1000) + "." + frac + "ms";
}

std::string to_toml(const Config& cfg) {
  // One toml::table per top-level key, printed in the order of the documentation
  // (a toml::table sorts its keys; within each part they read alphabetically).
  std::vector<toml::table> parts;
  auto part = [&]() -> toml::table& { return parts.emplace_back(); };
  put(part(), "global", global_table(cfg.global));
  if (!(cfg.anycast == Anycast{})) {
    const Anycast d;
    toml::table a;
    if (cfg.anycast.interface != d.interface) put(a, "interface", cfg.anycast.interface);
    if (cfg.anycast.table != d.table) put(a, "table", int64_t{cfg.anycast.table});
    put_duration(a, "withdraw_linger", cfg.anycast.withdraw_linger, d.withdraw_linger);
    put(part(), "anycast", std::move(a));
  }
  put_tables(part(), "vrrp_instance", cfg.vrrp_instances, vrrp_table);
  put_tables(part(), "track_script", cfg.track_scripts, track_script_table);
  put_tables(part(), "track_file", cfg.track_files, track_file_table);
  put_tables(part(), "sync_group", cfg.sync_groups, sync_group_table);
  put_tables(part(), "virtual_server", cfg.virtual_servers, virtual_server_table);
  if (cfg.realserver) put(part(), "realserver", realserver_table(*cfg.realserver));
  std::ostringstream os;
  for (auto& p : parts) {
    if (p.empty()) continue;
    if (os.tellp() > 0) os << "\n\n";
    // Plain "..." strings with escapes only: no literal or multi-line strings, whose edge
    // cases (a leading newline, ''' inside) do not survive the round trip.
    os << toml::toml_formatter(p, toml::format_flags::allow_unicode_strings);
  }
  os << "\n";
  return os.str();
}

}  // namespace hd::config
