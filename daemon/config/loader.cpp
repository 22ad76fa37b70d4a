#include "daemon/config/loader.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "checkers/spec.h"
#include "daemon/config/check_spec.h"

namespace hd::config {
namespace {

using namespace std::chrono_literals;

const std::set<std::string> kSchedulers = {"rr",  "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                           "sh",  "sed", "nq", "fo",  "ovf",  "mh"};

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "nothing";
  }
}

SourcePos pos_of(const toml::source_region& r) {
  return SourcePos{static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

class Ctx {
 public:
  Ctx(std::string file, std::vector<Error>& errors) : file_(std::move(file)), errors_(errors) {}
  void error(SourcePos p, std::string message) {
    errors_.push_back(Error{file_, p.line, p.column, std::move(message)});
  }
  void error(const toml::node& n, std::string message) { error(pos_of(n.source()), message); }

 private:
  std::string file_;
  std::vector<Error>& errors_;
};

// Reads one TOML table; every key it is asked for is marked as known, and
// finish() reports the rest as unknown keys.
class Table {
 public:
  Table(Ctx& ctx, const toml::table& t, std::string where)
      : ctx_(ctx), t_(t), where_(std::move(where)) {}

  SourcePos pos() const { return pos_of(t_.source()); }
  const std::string& where() const { return where_; }
  Ctx& ctx() { return ctx_; }

  const toml::node* node(std::string_view key, bool required = false) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n && required) ctx_.error(pos(), "missing required key '" + std::string(key) + "' in " + where_);
    return n;
  }

  std::optional<std::string> str(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    if (auto* s = n->as_string()) return s->get();
    wrong_type(*n, key, "a string");
    return std::nullopt;
  }

  std::optional<int64_t> integer(std::string_view key, int64_t lo, int64_t hi,
                                 bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    return check_int(*n, key, lo, hi);
  }

  std::optional<int64_t> check_int(const toml::node& n, std::string_view key, int64_t lo,
                                   int64_t hi) {
    auto* i = n.as_integer();
    if (!i) {
      wrong_type(n, key, "an integer");
      return std::nullopt;
    }
    int64_t v = i->get();
    if (v < lo || v > hi) {
      ctx_.error(n, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                        std::to_string(hi) + ", not " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(std::string_view key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    if (auto* b = n->as_boolean()) return b->get();
    wrong_type(*n, key, "a boolean");
    return std::nullopt;
  }

  // A number of seconds, or a string with a unit: "100ms", "1.5s", "2m".
  std::optional<Duration> duration(std::string_view key, Duration lo, Duration hi,
                                   bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    std::optional<Duration> d;
    if (auto* i = n->as_integer()) {
      if (i->get() >= 0 && i->get() < 1000000000) d = std::chrono::seconds(i->get());
    } else if (auto* f = n->as_floating_point()) {
      double v = f->get();
      if (std::isfinite(v) && v >= 0 && v < 1e9)
        d = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(v));
    } else if (auto* s = n->as_string()) {
      d = parse_duration(s->get());
    } else {
      wrong_type(*n, key, "a duration (seconds, or a string such as \"100ms\", \"2s\", \"1m\")");
      return std::nullopt;
    }
    if (!d) {
      ctx_.error(*n, "'" + std::string(key) +
                         "' is not a valid duration (use seconds, or \"100ms\", \"2s\", \"1m\")");
      return std::nullopt;
    }
    if (*d < lo || *d > hi) {
      ctx_.error(*n, "'" + std::string(key) + "' must be between " + fmt(lo) + " and " + fmt(hi));
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::string> choice(std::string_view key, const std::set<std::string>& allowed,
                                    bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    auto* s = n->as_string();
    if (!s) {
      wrong_type(*n, key, "a string");
      return std::nullopt;
    }
    if (!allowed.count(s->get())) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      ctx_.error(*n, "'" + std::string(key) + "' must be one of " + list + ", not \"" + s->get() +
                         "\"");
      return std::nullopt;
    }
    return s->get();
  }

  std::optional<IpAddress> address(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    return check_address(*n, key);
  }

  std::optional<IpAddress> check_address(const toml::node& n, std::string_view key) {
    auto* s = n.as_string();
    if (!s) {
      wrong_type(n, key, "a string holding an IP address");
      return std::nullopt;
    }
    auto a = IpAddress::parse(s->get());
    if (!a) ctx_.error(n, "'" + s->get() + "' is not a valid IPv4 or IPv6 address");
    return a;
  }

  // A string, or an array of strings (argv for a program run without a shell). The program
  // is an absolute path: nothing searches PATH, and a relative name is a trap in a daemon.
  std::optional<std::vector<std::string>> argv(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    std::optional<std::vector<std::string>> v;
    if (auto* s = n->as_string()) {
      if (s->get().empty()) {
        ctx_.error(*n, "'" + std::string(key) + "' must not be empty");
        return std::nullopt;
      }
      v = std::vector<std::string>{s->get()};
    } else {
      v = strings(*n, key, /*non_empty=*/true);
    }
    if (v && (v->front().empty() || v->front()[0] != '/')) {
      ctx_.error(*n, "'" + std::string(key) + "' must start with an absolute program path (no "
                     "shell runs it), not \"" + v->front() + "\"");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::vector<std::string>> string_list(std::string_view key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    return strings(*n, key, false);
  }

  std::optional<std::vector<std::string>> strings(const toml::node& n, std::string_view key,
                                                  bool non_empty) {
    auto* a = n.as_array();
    if (!a) {
      wrong_type(n, key, "an array of strings");
      return std::nullopt;
    }
    if (non_empty && a->empty()) {
      ctx_.error(n, "'" + std::string(key) + "' must not be empty");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (auto& e : *a) {
      if (auto* s = e.as_string())
        out.push_back(s->get());
      else {
        wrong_type(e, key, "a string");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  const toml::table* subtable(std::string_view key) {
    auto* n = node(key);
    if (!n) return nullptr;
    if (auto* t = n->as_table()) return t;
    wrong_type(*n, key, "a table");
    return nullptr;
  }

  const toml::array* array(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return nullptr;
    if (auto* a = n->as_array()) return a;
    wrong_type(*n, key, "an array");
    return nullptr;
  }

  void finish() {
    for (auto&& [k, v] : t_) {
      if (!known_.count(std::string(k.str())))
        ctx_.error(pos_of(k.source()), "unknown key '" + std::string(k.str()) + "' in " + where_);
    }
  }

  void wrong_type(const toml::node& n, std::string_view key, const std::string& want) {
    ctx_.error(n, "'" + std::string(key) + "' must be " + want + ", not " + type_name(n));
  }

  static std::string fmt(Duration d) {
    auto ms = std::chrono::duration_cast<Millis>(d).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
  }

 private:
  Ctx& ctx_;
  const toml::table& t_;
  std::string where_;
  std::set<std::string> known_;
};

// Helpers to iterate a key that must be an array of tables.
template <typename F>
void each_table(Table& parent, std::string_view key, const std::string& what, F&& f) {
  auto* n = parent.node(key);
  if (!n) return;
  auto* arr = n->as_array();
  if (!arr) {
    parent.wrong_type(*n, key, "an array of tables ([[" + std::string(key) + "]])");
    return;
  }
  int idx = 0;
  for (auto& e : *arr) {
    if (auto* t = e.as_table()) {
      f(*t, idx);
    } else {
      parent.wrong_type(e, key, "a table (" + what + ")");
    }
    ++idx;
  }
}

void load_global(Table& root, Config& cfg) {
  auto* gt = root.subtable("global");
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) cfg.global.router_id = host;
  if (!gt) return;
  Table g(root.ctx(), *gt, "[global]");
  if (auto v = g.str("router_id")) cfg.global.router_id = *v;
  if (auto v = g.choice("log_level", {"debug", "info", "warning", "error"}))
    cfg.global.log_level = *log::parse_level(*v);
  if (auto v = g.str("control_socket")) {
    if (v->empty() || v->size() >= 108 || (*v)[0] != '/')
      g.ctx().error(*g.node("control_socket"),
                    "'control_socket' must be an absolute path shorter than 108 bytes");
    else
      cfg.global.control_socket = *v;
  }
  if (auto v = g.str("runtime_dir")) {
    if (v->empty() || (*v)[0] != '/')
      g.ctx().error(*g.node("runtime_dir"), "'runtime_dir' must be an absolute path");
    else
      cfg.global.runtime_dir = *v;
  }
  if (auto v = g.choice("dataplane", {"kernel", "none"}))
    cfg.global.dataplane = *v == "none" ? Dataplane::none : Dataplane::kernel;
  if (auto v = g.boolean("vrrp_realtime")) cfg.global.vrrp_realtime = *v;
  if (auto v = g.integer("vrrp_rt_priority", 1, 99)) cfg.global.vrrp_rt_priority = int(*v);
  if (auto v = g.choice("ipvs_on_stop", {"keep", "remove"}))
    cfg.global.ipvs_remove_on_stop = *v == "remove";
  if (auto v = g.duration("reconcile_interval", Millis(100), std::chrono::hours(1)))
    cfg.global.reconcile_interval = *v;
  if (auto* st = g.subtable("lvs_sync_daemon")) {
    Table s(g.ctx(), *st, "lvs_sync_daemon");
    SyncDaemon sd;
    auto i = s.str("interface", true);
    auto vi = s.str("vrrp_instance", true);
    if (auto id = s.integer("sync_id", 0, 255)) sd.sync_id = int(*id);
    s.finish();
    if (i && vi) {
      sd.interface = *i;
      sd.vrrp_instance = *vi;
      cfg.global.lvs_sync_daemon = sd;
    }
  }
  if (auto* tt = g.subtable("ipvs_timeouts")) {
    Table t(g.ctx(), *tt, "ipvs_timeouts");
    auto whole = [&](const char* key, Duration& dst) {
      if (auto d = t.duration(key, std::chrono::seconds(1), std::chrono::hours(24 * 30))) {
        if (*d % std::chrono::seconds(1) != Duration::zero())
          t.ctx().error(*t.node(key), std::string("'") + key + "' must be whole seconds");
        else
          dst = *d;
      }
    };
    whole("tcp", cfg.global.ipvs_timeouts.tcp);
    whole("tcpfin", cfg.global.ipvs_timeouts.tcpfin);
    whole("udp", cfg.global.ipvs_timeouts.udp);
    t.finish();
  }
  g.finish();
}

std::optional<Vip> load_vip(Table& inst, const toml::node& n) {
  Ctx& ctx = inst.ctx();
  std::string text;
  std::string label;
  const toml::node* addr_node = &n;
  if (auto* s = n.as_string()) {
    text = s->get();
  } else if (auto* t = n.as_table()) {
    Table vt(ctx, *t, "virtual_ipaddresses entry");
    auto a = vt.str("address", true);
    if (a) {
      text = *a;
      addr_node = vt.node("address");
    }
    if (auto l = vt.str("label")) label = *l;
    vt.finish();
    if (!a) return std::nullopt;
  } else {
    inst.wrong_type(n, "virtual_ipaddresses", "a string or a table {address, label}");
    return std::nullopt;
  }
  auto p = IpPrefix::parse(text);
  if (!p) {
    ctx.error(*addr_node, "'" + text + "' is not a valid address or address/prefix");
    return std::nullopt;
  }
  return Vip{*p, label};
}

std::optional<VrrpInstance> load_vrrp(Table& t) {
  Ctx& ctx = t.ctx();
  VrrpInstance vi;
  vi.pos = t.pos();
  bool ok = true;
  auto need = [&](auto opt, auto& dst) {
    if (opt)
      dst = *opt;
    else
      ok = false;
  };
  need(t.str("name", true), vi.name);
  need(t.str("interface", true), vi.interface);
  if (auto v = t.integer("virtual_router_id", 1, 255, true))
    vi.vrid = int(*v);
  else
    ok = false;
  if (auto* n = t.node("priority")) {
    if (auto v = t.check_int(*n, "priority", 1, 255)) vi.priority = int(*v);
    else ok = false;
  }
  if (auto* n = t.node("version")) {
    if (auto v = t.check_int(*n, "version", 2, 3)) vi.version = int(*v);
    else ok = false;
  }
  if (auto* n = t.node("advert_interval")) {
    (void)n;
    if (auto d = t.duration("advert_interval", Duration::zero(), std::chrono::seconds(255))) {
      auto ms = std::chrono::duration_cast<Millis>(*d);
      if (ms != *d) {
        ctx.error(*n, "'advert_interval' must be a whole number of milliseconds");
        ok = false;
      } else if (vi.version == 2 &&
                 (ms.count() % 1000 != 0 || ms < 1s || ms > std::chrono::seconds(255))) {
        ctx.error(*n, "'advert_interval' for VRRP version 2 must be whole seconds from 1 to 255");
        ok = false;
      } else if (vi.version == 3 &&
                 (ms.count() % 10 != 0 || ms < Millis(10) || ms > Millis(40950))) {
        ctx.error(*n,
                  "'advert_interval' for VRRP version 3 must be from 10ms to 40.95s in 10ms steps");
        ok = false;
      } else {
        vi.advert_interval = *d;
      }
    } else {
      ok = false;
    }
  }
  if (auto v = t.boolean("preempt")) vi.preempt = *v;
  if (auto v = t.duration("preempt_delay", Duration::zero(), std::chrono::hours(1)))
    vi.preempt_delay = *v;
  if (auto* arr = t.array("virtual_ipaddresses", true)) {
    if (arr->empty()) {
      ctx.error(*t.node("virtual_ipaddresses"), "'virtual_ipaddresses' must not be empty");
      ok = false;
    }
    for (auto& e : *arr) {
      auto vip = load_vip(t, e);
      if (!vip) {
        ok = false;
        continue;
      }
      SourcePos p = pos_of(e.source());
      if (!vi.vips.empty() && vip->prefix.address.family() != vi.vips.front().prefix.address.family()) {
        ctx.error(p, "virtual IP address " + vip->prefix.address.str() +
                         " mixes address families in instance '" + vi.name +
                         "' (use one instance per family)");
        ok = false;
      }
      if (!vip->label.empty() && !vi.interface.empty()) {
        if (vip->label.rfind(vi.interface + ":", 0) != 0 || vip->label.size() == vi.interface.size() + 1) {
          ctx.error(p, "label '" + vip->label + "' must start with the interface name '" +
                           vi.interface + ":'");
          ok = false;
        } else if (vip->label.size() > 15) {
          ctx.error(p, "label '" + vip->label + "' is longer than 15 characters (IFNAMSIZ)");
          ok = false;
        }
      }
      if (!vip->label.empty() && !vip->prefix.address.is_v4()) {
        ctx.error(p, "labels apply to IPv4 addresses only (the kernel has no IPv6 labels)");
        ok = false;
      }
      for (auto& other : vi.vips)
        if (other.prefix.address == vip->prefix.address) {
          ctx.error(p, "duplicate virtual IP address " + vip->prefix.address.str());
          ok = false;
        }
      vi.vips.push_back(*vip);
    }
  } else {
    ok = false;
  }
  if (!vi.interface.empty() && vi.interface.size() > 15) {
    ctx.error(*t.node("interface"), "interface name '" + vi.interface + "' is longer than 15 characters");
    ok = false;
  }
  if (vi.version == 2 && !vi.vips.empty() && !vi.vips.front().prefix.address.is_v4()) {
    ctx.error(*t.node("virtual_ipaddresses"), "VRRP version 2 is IPv4 only; use version = 3 for IPv6");
    ok = false;
  }
  if (auto a = t.address("unicast_source")) {
    vi.unicast_source = *a;
    if (!vi.vips.empty() && a->family() != vi.family()) {
      ctx.error(*t.node("unicast_source"), "unicast_source family differs from the virtual IPs'");
      ok = false;
    }
  }
  if (auto* arr = t.array("unicast_peers")) {
    for (auto& e : *arr) {
      auto a = t.check_address(e, "unicast_peers");
      if (!a) {
        ok = false;
        continue;
      }
      if (!vi.vips.empty() && a->family() != vi.family()) {
        ctx.error(e, "unicast peer " + a->str() + " is not in the virtual IPs' address family");
        ok = false;
      }
      if (std::find(vi.unicast_peers.begin(), vi.unicast_peers.end(), *a) != vi.unicast_peers.end()) {
        ctx.error(e, "duplicate unicast peer " + a->str());
        ok = false;
      }
      vi.unicast_peers.push_back(*a);
    }
  }
  if (vi.unicast_source && vi.unicast_peers.empty()) {
    ctx.error(*t.node("unicast_source"), "'unicast_source' needs 'unicast_peers'");
    ok = false;
  }
  if (auto v = t.str("auth_pass")) {
    if (vi.version != 2) {
      ctx.error(*t.node("auth_pass"), "'auth_pass' exists only in VRRP version 2 (RFC 5798 removed authentication)");
      ok = false;
    } else if (v->empty() || v->size() > 8) {
      ctx.error(*t.node("auth_pass"), "'auth_pass' must be 1 to 8 characters");
      ok = false;
    } else {
      vi.auth_pass = *v;
    }
  }
  if (auto* g = t.subtable("garp")) {
    Table gt(ctx, *g, "garp of instance '" + vi.name + "'");
    if (auto v = gt.integer("count", 0, 100)) vi.garp.count = int(*v);
    if (auto v = gt.duration("spacing", Duration::zero(), 10s)) vi.garp.spacing = *v;
    if (auto v = gt.duration("refresh", Duration::zero(), std::chrono::hours(24))) vi.garp.refresh = *v;
    if (auto v = gt.duration("second_burst_delay", Duration::zero(), std::chrono::minutes(10)))
      vi.garp.second_burst_delay = *v;
    gt.finish();
  }
  if (auto v = t.string_list("track_interfaces")) vi.track_interfaces = *v;
  if (auto* arr = t.array("track_scripts")) {
    for (auto& e : *arr) {
      if (auto* s = e.as_string()) {
        vi.track_scripts.push_back({s->get(), std::nullopt});
      } else if (auto* tt = e.as_table()) {
        Table st(ctx, *tt, "track_scripts entry");
        TrackScriptRef r;
        if (auto n = st.str("name", true)) r.name = *n;
        if (auto w = st.integer("weight", -254, 254)) r.weight = int(*w);
        st.finish();
        vi.track_scripts.push_back(r);
      } else {
        t.wrong_type(e, "track_scripts", "a script name or {name, weight}");
        ok = false;
      }
    }
  }
  if (auto* arr = t.array("track_virtual_servers")) {
    for (auto& e : *arr) {
      TrackVirtualServerRef r;
      if (auto* s = e.as_string()) {
        r.service = s->get();
      } else if (auto* tt = e.as_table()) {
        Table st(ctx, *tt, "track_virtual_servers entry");
        if (auto n = st.str("service", true)) r.service = *n;
        if (auto w = st.integer("weight", -254, 254)) r.weight = int(*w);
        st.finish();
      } else {
        t.wrong_type(e, "track_virtual_servers", "a service such as \"tcp 192.0.2.1:80\" or {service, weight}");
        ok = false;
        continue;
      }
      vi.track_virtual_servers.push_back(r);
    }
  }
  if (auto* nt = t.subtable("notify")) {
    Table n(ctx, *nt, "notify of instance '" + vi.name + "'");
    if (auto v = n.argv("master")) vi.notify.master = *v;
    if (auto v = n.argv("backup")) vi.notify.backup = *v;
    if (auto v = n.argv("fault")) vi.notify.fault = *v;
    if (auto v = n.argv("stop")) vi.notify.stop = *v;
    if (auto v = n.duration("timeout", Millis(10), std::chrono::hours(1))) vi.notify.timeout = *v;
    n.finish();
  }
  t.finish();
  if (!ok) return std::nullopt;
  return vi;
}

std::optional<Check> load_check(Ctx& ctx, const toml::table& ct, const std::string& where) {
  Table t(ctx, ct, where);
  Check c;
  bool ok = true;
  auto type = t.choice("type", {"tcp", "http", "https", "script"}, true);
  if (!type) {
    t.finish();
    return std::nullopt;
  }
  c.type = *type == "tcp"     ? CheckType::tcp
           : *type == "http"  ? CheckType::http
           : *type == "https" ? CheckType::https
                              : CheckType::script;
  if (auto v = t.duration("interval", Millis(10), std::chrono::hours(24))) c.interval = *v;
  if (auto v = t.duration("timeout", Millis(1), std::chrono::hours(1))) c.timeout = *v;
  if (auto v = t.integer("rise", 1, 100)) c.rise = int(*v);
  if (auto v = t.integer("fall", 1, 100)) c.fall = int(*v);
  if (c.timeout > c.interval) {
    ctx.error(t.node("timeout") ? pos_of(t.node("timeout")->source()) : t.pos(),
              "check 'timeout' must not exceed 'interval'");
    ok = false;
  }
  if (auto v = t.choice("initial_state", {"up", "down"})) c.initial_up = *v == "up";
  if (auto a = t.address("connect_address")) c.connect_address = *a;
  if (auto v = t.integer("connect_port", 1, 65535)) c.connect_port = int(*v);
  if (auto a = t.address("source_address")) c.source_address = *a;
  bool is_http = c.type == CheckType::http || c.type == CheckType::https;
  auto only = [&](std::string_view key, bool allowed, const char* types) {
    auto* n = ct.get(key);
    if (n && !allowed) {
      ctx.error(*n, "'" + std::string(key) + "' applies only to " + types + " checks");
      ok = false;
    }
  };
  for (auto k : {"probe", "send", "expect"}) only(k, c.type == CheckType::tcp, "tcp");
  for (auto k : {"method", "path", "host", "expect_status", "body_contains", "body_regex",
                 "body_sha256", "connect_timeout"})
    only(k, is_http, "http and https");
  for (auto k : {"tls_verify", "ca_file", "sni"}) only(k, c.type == CheckType::https, "https");
  for (auto k : {"command", "exit_weights"}) only(k, c.type == CheckType::script, "script");
  if (auto v = t.str("send")) c.send = *v;
  if (auto v = t.str("expect")) c.expect = *v;
  // A half-open probe by default; bytes to send or expect need a connection.
  c.half_open = c.send.empty() && c.expect.empty();
  if (auto v = t.choice("probe", {"syn", "connect"})) {
    if (*v == "syn" && !c.half_open) {
      ctx.error(*t.node("probe"),
                "probe = \"syn\" cannot send or expect bytes; use probe = \"connect\"");
      ok = false;
    }
    c.half_open = *v == "syn";
  }
  if (auto v = t.choice("method", {"GET", "HEAD"})) c.method = *v;
  // The probes' own validators judge these values, so `check` accepts exactly what runs.
  auto judged = [&](const char* key, std::string& dst,
                    std::optional<std::string> (*judge)(const std::string&)) {
    if (auto v = t.str(key)) {
      if (auto why = judge(*v)) {
        ctx.error(*t.node(key), "'" + std::string(key) + "': " + *why);
        ok = false;
      }
      dst = *v;
    }
  };
  judged("path", c.path, checkers::validate_path);
  judged("host", c.host, checkers::validate_host);
  if (auto* arr = t.array("expect_status")) {
    c.expect_status.clear();
    for (auto& e : *arr) {
      if (auto* i = e.as_integer()) {
        if (i->get() < 100 || i->get() > 599) {
          ctx.error(e, "HTTP status " + std::to_string(i->get()) + " is outside 100-599");
          ok = false;
        } else {
          c.expect_status.push_back({int(i->get()), int(i->get())});
        }
      } else if (auto* s = e.as_string()) {
        int lo = 0, hi = 0;
        char extra = 0;
        if (std::sscanf(s->get().c_str(), "%d-%d%c", &lo, &hi, &extra) != 2 || lo < 100 ||
            hi > 599 || lo > hi) {
          ctx.error(e, "'" + s->get() + "' is not a status range such as \"200-299\"");
          ok = false;
        } else {
          c.expect_status.push_back({lo, hi});
        }
      } else {
        t.wrong_type(e, "expect_status", "a status code or a range string");
        ok = false;
      }
    }
    if (c.expect_status.empty()) {
      ctx.error(*t.node("expect_status"), "'expect_status' must not be empty");
      ok = false;
    }
  }
  if (auto v = t.str("body_contains")) c.body_contains = *v;
  judged("body_regex", c.body_regex, checkers::validate_body_regex);
  if (auto v = t.str("body_sha256")) {
    bool hex = v->size() == 64 && std::all_of(v->begin(), v->end(), [](char ch) {
                 return std::isxdigit(static_cast<unsigned char>(ch));
               });
    if (!hex) {
      ctx.error(*t.node("body_sha256"), "'body_sha256' must be 64 hexadecimal digits");
      ok = false;
    }
    c.body_sha256 = *v;
  }
  if (c.method == "HEAD" &&
      (!c.body_contains.empty() || !c.body_regex.empty() || !c.body_sha256.empty())) {
    ctx.error(*t.node("method"), "method HEAD gets no body: body_contains, body_regex and "
                                 "body_sha256 need method GET");
    ok = false;
  }
  if (auto v = t.boolean("tls_verify")) c.tls_verify = *v;
  if (auto v = t.str("ca_file")) c.ca_file = *v;
  judged("sni", c.sni, checkers::validate_sni);
  if (auto v = t.duration("connect_timeout", Millis(1), std::chrono::hours(1))) c.connect_timeout = *v;
  if (c.type == CheckType::script) {
    if (auto v = t.argv("command", true))
      c.command = *v;
    else
      ok = false;
  } else {
    t.node("command");
  }
  if (auto* ew = t.subtable("exit_weights")) {
    for (auto&& [k, v] : *ew) {
      int code = -1;
      char extra = 0;
      if (std::sscanf(std::string(k.str()).c_str(), "%d%c", &code, &extra) != 1 || code < 0 ||
          code > 255) {
        ctx.error(pos_of(k.source()), "exit_weights key '" + std::string(k.str()) +
                                          "' must be an exit code 0-255");
        ok = false;
        continue;
      }
      if (auto w = t.check_int(v, "exit_weights", 0, 65535)) c.exit_weights[code] = int(*w);
      else ok = false;
    }
  }
  t.finish();
  if (!ok) return std::nullopt;
  return c;
}

std::optional<Forwarding> parse_forwarding(Table& t, std::string_view key) {
  auto v = t.choice(key, {"nat", "dr", "tun"});
  if (!v) return std::nullopt;
  return *v == "nat" ? Forwarding::nat : *v == "dr" ? Forwarding::dr : Forwarding::tun;
}

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
  if (auto s = t.choice("scheduler", kSchedulers)) vs.scheduler = *s;
  if (auto flags = t.string_list("scheduler_flags")) {
    auto* arr = t.node("scheduler_flags")->as_array();
    size_t i = 0;
    for (auto& f : *flags) {
      const toml::node& fn = *arr->get(i++);
      bool sh = f == "sh-fallback" || f == "sh-port";
      bool mh = f == "mh-fallback" || f == "mh-port";
      if (!sh && !mh) {
        ctx.error(fn, "unknown scheduler flag '" + f + "' (sh-fallback, sh-port, mh-fallback, mh-port)");
        ok = false;
      } else if ((sh && vs.scheduler != "sh") || (mh && vs.scheduler != "mh")) {
        ctx.error(fn, "scheduler flag '" + f + "' needs scheduler \"" + (sh ? "sh" : "mh") + "\"");
        ok = false;
      } else {
        vs.scheduler_flags.push_back(f);
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
    if (auto v = r.choice("tunnel_type", {"ipip", "gue", "gre"})) rs.tunnel_type = *v;
    if (auto v = r.integer("tunnel_port", 1, 65535)) rs.tunnel_port = int(*v);
    if (auto v = r.choice("tunnel_checksum", {"none", "csum", "remcsum"})) rs.tunnel_checksum = *v;
    if (has_tunnel_keys && rs.forwarding.value_or(vs.forwarding) != Forwarding::tun) {
      ctx.error(rs.pos, "tunnel_type, tunnel_port and tunnel_checksum need forwarding = \"tun\"");
      rok = false;
    } else if (rs.tunnel_type == "gue" && rs.tunnel_port == 0) {
      ctx.error(*rt.get("tunnel_type"), "a gue tunnel needs tunnel_port (the real server's UDP port)");
      rok = false;
    } else if (rs.tunnel_type != "gue" && rt.get("tunnel_port")) {
      ctx.error(*rt.get("tunnel_port"), "tunnel_port is for gue tunnels only");
      rok = false;
    } else if (rs.tunnel_checksum == "remcsum" && rs.tunnel_type != "gue") {
      ctx.error(*rt.get("tunnel_checksum"), "remcsum is for gue tunnels only");
      rok = false;
    }
    if (rs.lower_threshold && rs.upper_threshold && rs.lower_threshold > rs.upper_threshold) {
      ctx.error(*r.node("lower_threshold"), "'lower_threshold' must not exceed 'upper_threshold'");
      rok = false;
    }
    if (auto* ct = r.subtable("check")) {
      auto c = load_check(ctx, *ct, "check of real server");
      if (c) rs.check = *c;
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
    if (rs.check && rs.check->type != CheckType::script && rs.port == 0 && !rs.check->connect_port) {
      ctx.error(pos_of(rt.get("check")->source()),
                "the check of real server " + rs.address.str() +
                    " needs a port: set connect_port (the real server's port is 0)");
      ok = false;
    } else if (rs.check && check_ok) {
      // The last word is the probes': whatever they would refuse to run is refused here.
      if (auto why = checkers::validate(to_check_spec(*rs.check, rs.address, rs.port ? rs.port : vs.port))) {
        ctx.error(pos_of(rt.get("check")->source()),
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
      ctx.error(rt.get("port") ? pos_of(rt.get("port")->source()) : rs.pos,
                std::string(to_string(fwd)) + " forwarding cannot change the port (" +
                    std::to_string(vs.port) + " -> " + std::to_string(rs.port) + "); use nat");
      ok = false;
    }
    for (auto& o : vs.real_servers)
      if (o.address == rs.address && o.port == rs.port) {
        ctx.error(rs.pos, "duplicate real server " + rs.address.str() + ":" + std::to_string(rs.port));
        ok = false;
      }
    vs.real_servers.push_back(rs);
  });
  t.finish();
  if (!ok) return std::nullopt;
  return vs;
}

std::optional<RealServerRole> load_realserver(Ctx& ctx, const toml::table& tt) {
  Table t(ctx, tt, "[realserver]");
  RealServerRole r;
  bool ok = true;
  if (auto* arr = t.array("vips", true)) {
    for (auto& e : *arr) {
      RealServerVip v;
      const toml::node* an = &e;
      std::optional<std::string> text;
      if (auto* s = e.as_string()) {
        text = s->get();
      } else if (auto* et = e.as_table()) {
        Table vt(ctx, *et, "[realserver] vips entry");
        text = vt.str("address", true);
        an = et->get("address");
        if (auto m = vt.choice("mode", {"dr", "tun"})) v.mode = *m == "tun" ? Forwarding::tun : Forwarding::dr;
        vt.finish();
      } else {
        t.wrong_type(e, "vips", "an address or {address, mode}");
      }
      if (!text) {
        ok = false;
        continue;
      }
      auto a = IpAddress::parse(*text);
      if (!a) {
        ctx.error(*an, "'" + *text + "' is not a valid IPv4 or IPv6 address");
        ok = false;
        continue;
      }
      for (auto& o : r.vips)
        if (o.address == *a) {
          ctx.error(*an, "duplicate VIP " + a->str());
          ok = false;
        }
      v.address = *a;
      r.vips.push_back(v);
    }
    if (arr->empty()) {
      ctx.error(*t.node("vips"), "'vips' must not be empty");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (auto v = t.string_list("interfaces")) r.interfaces = *v;
  if (auto v = t.integer("arp_ignore", 0, 8)) r.arp_ignore = int(*v);
  if (auto v = t.integer("arp_announce", 0, 2)) r.arp_announce = int(*v);
  if (auto v = t.integer("rp_filter", 0, 2)) r.rp_filter = int(*v);
  if (auto v = t.duration("check_interval", Millis(100), std::chrono::hours(1))) r.check_interval = *v;
  t.finish();
  if (!ok) return std::nullopt;
  return r;
}

void cross_checks(Ctx& ctx, Config& cfg) {
  std::map<std::string, SourcePos> names;
  std::map<std::tuple<std::string, Family, int>, std::string> vrids;
  for (auto& vi : cfg.vrrp_instances) {
    if (!names.emplace(vi.name, vi.pos).second)
      ctx.error(vi.pos, "duplicate vrrp_instance name '" + vi.name + "'");
    auto key = std::make_tuple(vi.interface, vi.family(), vi.vrid);
    auto [it, fresh] = vrids.emplace(key, vi.name);
    if (!fresh)
      ctx.error(vi.pos, "virtual_router_id " + std::to_string(vi.vrid) + " on " + vi.interface +
                            " is already used by instance '" + it->second + "'");
    for (auto& ref : vi.track_scripts) {
      bool found = std::any_of(cfg.track_scripts.begin(), cfg.track_scripts.end(),
                               [&](auto& s) { return s.name == ref.name; });
      if (!found)
        ctx.error(vi.pos, "instance '" + vi.name + "' tracks unknown track_script '" + ref.name + "'");
    }
  }
  std::set<std::string> scripts;
  for (auto& s : cfg.track_scripts)
    if (!scripts.insert(s.name).second)
      ctx.error(s.pos, "duplicate track_script name '" + s.name + "'");
  std::set<std::string> grouped;
  for (auto& g : cfg.sync_groups)
    for (auto& i : g.instances) {
      if (!names.count(i))
        ctx.error(g.pos, "sync_group '" + g.name + "' names unknown instance '" + i + "'");
      if (!grouped.insert(i).second)
        ctx.error(g.pos, "instance '" + i + "' is in more than one sync_group");
    }
  if (cfg.global.lvs_sync_daemon && !names.count(cfg.global.lvs_sync_daemon->vrrp_instance))
    ctx.error(SourcePos{1, 1}, "lvs_sync_daemon names unknown vrrp_instance '" +
                                   cfg.global.lvs_sync_daemon->vrrp_instance + "'");
  std::map<std::string, SourcePos> vss;
  for (auto& vs : cfg.virtual_servers) {
    auto [it, fresh] = vss.emplace(vs.key(), vs.pos);
    if (!fresh)
      ctx.error(vs.pos, "duplicate virtual server " + vs.key() + " (first defined at line " +
                            std::to_string(it->second.line) + ")");
  }
  for (auto& vi : cfg.vrrp_instances)
    for (auto& r : vi.track_virtual_servers)
      if (!vss.count(r.service))
        ctx.error(vi.pos, "instance '" + vi.name + "' tracks unknown virtual server '" + r.service +
                              "' (write it as \"tcp 192.0.2.1:80\" or \"fwmark 7 inet\")");
}

}  // namespace

std::string Error::str() const {
  std::ostringstream os;
  os << file << ":" << line << ":" << column << ": error: " << message;
  return os.str();
}

std::optional<Duration> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  auto num = text.substr(0, i);
  auto unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (num.empty() || num == "." || std::count(num.begin(), num.end(), '.') > 1) return std::nullopt;
  double v = std::strtod(std::string(num).c_str(), nullptr);
  double scale;
  if (unit.empty() || unit == "s") scale = 1.0;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "m") scale = 60.0;
  else if (unit == "h") scale = 3600.0;
  else return std::nullopt;
  double secs = v * scale;
  if (!std::isfinite(secs) || secs > 1e9) return std::nullopt;
  // Round to the nearest microsecond so "0.1s" is exactly 100ms.
  return std::chrono::duration_cast<Duration>(
      std::chrono::microseconds(static_cast<int64_t>(std::llround(secs * 1e6))));
}

LoadResult load_string(std::string_view text, const std::string& source_name) {
  LoadResult result;
  Ctx ctx(source_name, result.errors);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    result.errors.push_back(Error{source_name, static_cast<int>(e.source().begin.line),
                                  static_cast<int>(e.source().begin.column),
                                  std::string(e.description())});
    return result;
  }
  Config cfg;
  cfg.source = source_name;
  Table top(ctx, root, "the top level");
  load_global(top, cfg);
  each_table(top, "vrrp_instance", "[[vrrp_instance]]", [&](const toml::table& t, int) {
    Table it(ctx, t, "[[vrrp_instance]]");
    if (auto vi = load_vrrp(it)) cfg.vrrp_instances.push_back(*vi);
  });
  each_table(top, "track_script", "[[track_script]]", [&](const toml::table& t, int) {
    Table st(ctx, t, "[[track_script]]");
    TrackScript s;
    s.pos = st.pos();
    bool ok = true;
    if (auto v = st.str("name", true)) s.name = *v; else ok = false;
    if (auto v = st.argv("command", true)) s.command = *v; else ok = false;
    if (auto v = st.duration("interval", Millis(10), std::chrono::hours(24))) s.interval = *v;
    if (auto v = st.duration("timeout", Millis(1), std::chrono::hours(1))) s.timeout = *v;
    if (auto v = st.integer("rise", 1, 100)) s.rise = int(*v);
    if (auto v = st.integer("fall", 1, 100)) s.fall = int(*v);
    if (auto v = st.integer("weight", -254, 254)) s.weight = int(*v);
    st.finish();
    if (ok) cfg.track_scripts.push_back(s);
  });
  each_table(top, "sync_group", "[[sync_group]]", [&](const toml::table& t, int) {
    Table gt(ctx, t, "[[sync_group]]");
    SyncGroup g;
    auto n = gt.str("name", true);
    auto i = gt.node("instances", true) ? gt.strings(*gt.node("instances"), "instances", true)
                                        : std::nullopt;
    gt.finish();
    if (n && i) cfg.sync_groups.push_back({gt.pos(), *n, *i});
  });
  each_table(top, "virtual_server", "[[virtual_server]]", [&](const toml::table& t, int) {
    Table vt(ctx, t, "[[virtual_server]]");
    if (auto vs = load_vs(vt)) cfg.virtual_servers.push_back(*vs);
  });
  if (auto* rt = top.subtable("realserver")) {
    if (auto r = load_realserver(ctx, *rt)) cfg.realserver = *r;
  }
  top.finish();
  cross_checks(ctx, cfg);
  std::stable_sort(result.errors.begin(), result.errors.end(), [](const Error& a, const Error& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(Error{path, 0, 0, "cannot open: " + std::string(std::strerror(errno))});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

const char* to_string(Forwarding f) {
  switch (f) {
    case Forwarding::nat: return "nat";
    case Forwarding::dr: return "dr";
    case Forwarding::tun: return "tun";
  }
  return "?";
}
const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp: return "tcp";
    case Protocol::udp: return "udp";
    case Protocol::sctp: return "sctp";
  }
  return "?";
}
const char* to_string(CheckType t) {
  switch (t) {
    case CheckType::tcp: return "tcp";
    case CheckType::http: return "http";
    case CheckType::https: return "https";
    case CheckType::script: return "script";
  }
  return "?";
}
const char* to_string(Dataplane d) { return d == Dataplane::none ? "none" : "kernel"; }

std::string VirtualServer::key() const {
  if (fwmark) return "fwmark " + std::to_string(fwmark) + (family_ == Family::v6 ? " inet6" : " inet");
  std::string a = address ? address->str() : "?";
  if (address && !address->is_v4()) a = "[" + a + "]";
  return std::string(to_string(protocol)) + " " + a + ":" + std::to_string(port);
}

}  // namespace hd::config
