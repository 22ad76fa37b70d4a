// SPDX-License-Identifier: GPL-2.0-or-later
// [global]: identity, logging, paths, dataplane, the IPVS sync daemon and timeouts.
#include "daemon/config/sections.h"

#include <grp.h>
#include <sched.h>
#include <unistd.h>

#include <vector>

namespace hd::config {

std::optional<gid_t> group_id(const std::string& name) {
  if (name.empty()) return std::nullopt;
  group g{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  while (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found) == ERANGE &&
         buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  if (!found) return std::nullopt;
  return found->gr_gid;
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
  if (auto v = g.str("state_dir")) {
    if (v->empty() || (*v)[0] != '/')
      g.ctx().error(*g.node("state_dir"), "'state_dir' must be an absolute path");
    else
      cfg.global.state_dir = *v;
  }
  for (auto [key, dst] : {std::pair{"admin_group", &cfg.global.admin_group},
                          std::pair{"read_group", &cfg.global.read_group}}) {
    auto v = g.str(key);
    if (!v) continue;
    if (!group_id(*v))
      g.ctx().error(*g.node(key), std::string("'") + key + "': no group named '" + *v +
                                      "' on this host (getent group " + *v + ")");
    else
      *dst = *v;
  }
  if (auto v = g.choice("dataplane", {"kernel", "none", "nftables"})) {
    cfg.global.dataplane = *v == "none"       ? Dataplane::none
                           : *v == "nftables" ? Dataplane::nftables
                                              : Dataplane::kernel;
  }
  if (auto v = g.boolean("vrrp_realtime")) cfg.global.vrrp_realtime = *v;
  if (auto v = g.integer("vrrp_rt_priority", 1, 99)) cfg.global.vrrp_rt_priority = int(*v);
  if (auto* a = g.array("vrrp_cpu_affinity")) {
    for (auto& e : *a) {
      auto* i = e.as_integer();
      if (!i || i->get() < 0 || i->get() >= CPU_SETSIZE) {
        g.ctx().error(e, "'vrrp_cpu_affinity' holds CPU numbers from 0 to " +
                             std::to_string(CPU_SETSIZE - 1));
        continue;
      }
      cfg.global.vrrp_cpu_affinity.push_back(int(i->get()));
    }
  }
  if (auto v = g.choice("ipvs_on_stop", {"keep", "remove"}))
    cfg.global.ipvs_remove_on_stop = *v == "remove";
  if (auto v = g.boolean("handover_forwarding")) cfg.global.handover_forwarding = *v;
  if (auto v = g.duration("reconcile_interval", Millis(100), std::chrono::hours(1)))
    cfg.global.reconcile_interval = *v;
  if (auto* st = g.subtable("lvs_sync_daemon")) {
    Table s(g.ctx(), *st, "lvs_sync_daemon");
    SyncDaemon sd;
    auto i = s.str("interface", true);
    // Without vrrp_instance both roles run from the start: directors that all forward at
    // once (announce = "bgp" behind ECMP) each send their connections and take the others'.
    auto vi = s.str("vrrp_instance");
    if (auto id = s.integer("sync_id", 0, 255)) sd.sync_id = int(*id);
    // 0: the kernel's (its MTU-sized messages); else at least one IPv6 entry fits.
    if (auto n = s.integer("max_message", 0, 65000)) {
      if (*n != 0 && *n < 64)
        g.ctx().error(*s.node("max_message"),
                      "'max_message' must be 0 (the kernel's size) or 64..65000 bytes");
      else
        sd.max_message = int(*n);
    }
    s.finish();
    if (vi && vi->empty()) {
      g.ctx().error(*s.node("vrrp_instance"), "'vrrp_instance' must name an instance (or be left out: "
                                              "both roles then run from the start)");
    } else if (i) {
      sd.interface = *i;
      sd.vrrp_instance = vi.value_or("");
      cfg.global.lvs_sync_daemon = sd;
    }
  }
  if (auto* ct = g.subtable("conntrackd")) {
    Table s(g.ctx(), *ct, "conntrackd");
    Conntrackd c;
    auto file = s.file_path("config", true);
    auto vi = s.str("vrrp_instance", true);
    if (auto b = s.str("binary")) {
      if (b->empty() || (b->find('/') != std::string::npos && b->front() != '/'))
        g.ctx().error(*s.node("binary"), "'binary' must be an absolute path or a program name");
      else
        c.binary = *b;
    }
    s.finish();
    if (file && vi) {
      c.config = *file;
      c.vrrp_instance = *vi;
      cfg.global.conntrackd = c;
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
  if (auto* at = g.subtable("vrrp_auth")) {
    if (auto sec = load_auth(g.ctx(), *at, "[global.vrrp_auth]")) cfg.global.vrrp_auth = std::move(*sec);
  }
  if (auto* mt = g.subtable("metrics")) {
    Table m(g.ctx(), *mt, "metrics");
    if (auto v = m.str("listen", true)) {
      if (auto e = parse_listen(*v))
        cfg.global.metrics = *e;
      else
        m.ctx().error(*m.node("listen"),
                      "'listen' must be ADDRESS:PORT ('127.0.0.1:9406', '[::1]:9406') with a "
                      "port from 1 to 65535, got '" + *v + "'");
    }
    m.finish();
  }
  // What only IPVS has (nftables/render.h says what the nftables data plane does).
  if (cfg.global.dataplane == Dataplane::nftables) {
    for (const char* key : {"lvs_sync_daemon", "ipvs_timeouts"})
      if (auto* n = g.node(key))
        g.ctx().error(*n, std::string("'") + key + "' is IPVS's; dataplane = \"nftables\" has no " +
                              (std::string(key) == "lvs_sync_daemon"
                                   ? "IPVS sync daemon (conntrackd syncs conntrack)"
                                   : "IPVS timeouts (conntrack's apply)"));
  }
  g.finish();
}

}  // namespace hd::config
