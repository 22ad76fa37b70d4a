// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/scenarios.h"

#include <signal.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "drill/clock.h"
#include "drill/text.h"

namespace hd::drill {
namespace {

// The table's common shapes: a fixed duration; a fault whose time is taken just before it
// acts; a repair whose time is taken once it is done; a budget that depends on no timer.
std::function<double(const LabParams&)> fixed(double s) {
  return [s](const LabParams&) { return s; };
}
std::function<double(Drill&)> timed(std::function<void(Drill&)> act) {
  return [act](Drill& d) {
    double t0 = now();
    act(d);
    return t0;
  };
}
std::function<double(Drill&)> then_now(std::function<void(Drill&)> heal) {
  return [heal](Drill& d) {
    heal(d);
    return now();
  };
}
std::function<Budget(const LabParams&)> budget(Budget b) {
  return [b](const LabParams&) { return b; };
}

// A real server that failed is back in rotation within rise checks, a timeout and a second.
double back_budget(const LabParams& p) { return p.rise * p.check_interval + p.check_timeout + 1.0; }
// A real server that fails is out of rotation within fall checks, a timeout and a second.
double out_budget(const LabParams& p) { return p.fall * p.check_interval + p.check_timeout + 1.0; }
double settle_after_real_heal(const LabParams& p) { return p.rise * p.check_interval + p.slow_start + 2; }

// What a switchover loses in NAT. The kernel syncs no half-open connection
// (ip_vs_sync_conn_needed: ESTABLISHED and later only), so a TCP handshake that crosses the
// switch is lost unless the two directors pass it between them: the handover forwarding
// (daemon/handover_forwarding.h) sends what one director's IPVS does not know to the other,
// and a sync group announces the real servers' gateway before the clients' VIP
// (vrrp/sync_group.h), so a SYN-ACK never reaches the old director before it follows the new
// one. Measured in the VM at 40 new connections/s, planned-switchover (two switches a play):
// 10 requests lost in 11 plays with neither, 6 in 16 with the forwarding, 4 in 8 (seen in a
// capture: the client's VIP announced ~10 ms before the gateway) and 0 in 24 with both;
// master-stop 3 in 18, every one a switchover that came while the other director still
// lingered from the takeback before (its forwarding for clients is off while it lingers and
// written at the takeover: wait_steady waits that out now), then 0 in 12. nftables has no
// handover forwarding: a crossing handshake is lost there (kHandshakesCrossing a switch).
constexpr int kHandshakesCrossing = 2;  // nftables, per switch, with a margin over what was measured

// The lab's VRRP keys (ids 1 and 2), inline: the drill writes its configs 0600.
config::AuthSection lab_auth(vrrp::AuthMode mode, std::vector<uint8_t> ids, uint8_t active) {
  config::AuthSection a;
  for (uint8_t id : ids) {
    a.auth.keys.push_back(vrrp::AuthKey{id, Secret(std::vector<uint8_t>(32, static_cast<uint8_t>(0x40 + id)))});
    a.key_sources.push_back("hex:");
  }
  a.auth.active_key = active;
  a.auth.mode = mode;
  return a;
}

// Authentication rolled out on the running pair, one director after the other at each step
// (docs/vrrp-auth.md): receive-only, permissive, enforce; then key 2 added, made the one
// that signs, and key 1 removed. Every step is a reload applied in place.
void auth_rollout(Drill& d) {
  using M = vrrp::AuthMode;
  const std::vector<config::AuthSection> steps = {
      lab_auth(M::receive_only, {1}, 1), lab_auth(M::permissive, {1}, 1),
      lab_auth(M::enforce, {1}, 1),      lab_auth(M::enforce, {1, 2}, 1),
      lab_auth(M::enforce, {1, 2}, 2),   lab_auth(M::enforce, {2}, 2)};
  for (auto& s : steps)
    for (int i = 0; i < 2; ++i) {
      d.set_auth(i, s);
      sleep_s(0.25);
    }
}

// Back to no authentication without a failover: the reverse steps (a Backup in enforce
// would refuse an unsigned Master's adverts and take over).
void auth_rollback(Drill& d) {
  using M = vrrp::AuthMode;
  for (auto& s : {lab_auth(M::permissive, {2}, 2), lab_auth(M::receive_only, {2}, 2)})
    for (int i = 0; i < 2; ++i) {
      d.set_auth(i, s);
      sleep_s(0.25);
    }
  for (int i = 0; i < 2; ++i) d.set_auth(i, std::nullopt);
}

std::vector<Scenario> make_table() {
  std::vector<Scenario> t;
  // A request in flight when the Master dies waits for the client's 1 s timeout: + 1.5 s.
  t.push_back({
      .name = "master-kill",
      .description = "Master killed with SIGKILL",
      .act = timed([](Drill& d) { d.stop_director(0, SIGKILL); }),
      .fault_s = fixed(4),
      // A crashed box keeps its addresses; the restart must clean them.
      .heal = then_now([](Drill& d) { d.start_director(0); }),
      .budget = [](const LabParams& p) { return Budget{.max_outage = p.mdi() + 1.5}; },
  });
  t.push_back({
      .name = "master-stop",
      .description = "Master stopped gracefully (SIGTERM)",
      .act = timed([](Drill& d) { d.stop_director(0, SIGTERM); }),
      .fault_s = fixed(3),
      .heal = then_now([](Drill& d) { d.start_director(0); }),
      // A stopping Master hands over (handover_linger) before it exits: no established
      // connection is lost, nor (IPVS) a handshake that crosses the switch.
      // nftables: conntrackd carries the connections (3/3 kept in runs on a quiet host), but
      // not always yet: a CI run under load broke all 3 here (its -c commit runs in the
      // background, its -t while the old Master still lingers): reported, not judged, until
      // the handover and conntrackd's steps are ordered (issue #18's note).
      .budget = [](const LabParams& p) {
        // IPVS: 0, as the issue asks of a SIGTERM'd Master (measured 0 in 12 plays, then 0
        // in 16 more (NAT and DR) and in every CI run since session 19).
        return Budget{.max_outage = p.skew() + 1.2,
                      .max_failed = p.nftables ? kHandshakesCrossing : 0,
                      .max_long_broken = p.nftables ? -1 : 0};
      },
  });
  // The operator's planned switchover and its undoing: `ctl failover` on the Master, then
  // `ctl release` (it preempts back). Both directions are judged: the old Master keeps its
  // VIPs and forwards for handover_linger after the new one holds them, and the connection
  // sync runs both ways, so no request and no long-lived connection may be lost.
  t.push_back({
      .name = "planned-switchover",
      .description = "ctl failover VI_1 on the Master, then ctl release VI_1 (it takes back)",
      .act = timed([](Drill& d) {
        for (int i : {0, 1})
          d.marks["handover_applied_" + std::to_string(i)] =
              d.status_number(i, "\"handover_forwarding\"", "applied");
        d.ctl(0, "failover VI_1");
      }),
      .fault_s = fixed(5),
      .heal = then_now([](Drill& d) { d.ctl(0, "release VI_1"); }),
      .heal_first = true,
      // The failback: Master_Down_Interval to preempt, B's linger, and a margin.
      .settle_s = [](const LabParams& p) { return p.mdi() + 3 + 2; },
      // IPVS: no request lost (0 in 24 plays measured). nftables: two switches,
      // kHandshakesCrossing each (no handover forwarding); conntrackd carries the long-lived
      // connections, not yet reliably (see master-stop): reported, not judged.
      .budget = [](const LabParams& p) {
        return Budget{.max_failed = p.nftables ? 2 * kHandshakesCrossing : 0,
                      .max_long_broken = p.nftables ? -1 : 0};
      },
      .judge =
          [](Drill& d, const Times& t, Result& r) {
            if (!d.took_over(1, t.fault, t.heal))
              r.violations.push_back("B never became Master after ctl failover");
            if (d.director_state(0) != "MASTER")
              r.violations.push_back("A is not Master again after ctl release");
            if (d.params().nftables) return;
            // Each director changed its handover forwarding in this play (following the new
            // Master, the takeover's window over) and nftables refused none of it: what
            // makes the budget of 0 hold.
            for (int i : {0, 1}) {
              const std::string who = i == 0 ? "A" : "B";
              long applied = d.status_number(i, "\"handover_forwarding\"", "applied") -
                             d.marks["handover_applied_" + std::to_string(i)];
              long failed = d.status_number(i, "\"handover_forwarding\"", "failed");
              if (applied < 1 || failed != 0)
                r.violations.push_back(who + "'s handover forwarding: " + std::to_string(applied) +
                                       " write(s), " + std::to_string(failed) + " refused");
            }
          },
  });
  t.push_back({
      .name = "link-cut",
      .description = "Master's links cut",
      .act = timed([](Drill& d) { d.set_director_links(0, false); }),
      .lab_command_act = true,
      .fault_s = fixed(4),
      .heal = then_now([](Drill& d) { d.set_director_links(0, true); }),
      .budget = [](const LabParams& p) { return Budget{.max_outage = p.mdi() + 1.5}; },
  });
  t.push_back({
      .name = "rs-down",
      .description = "a real server dies and comes back",
      .act = timed([](Drill& d) { d.stop_real(0); }),
      .fault_s = fixed(3),
      .heal = then_now([](Drill& d) { d.start_real(0); }),
      .heal_first = true,
      .settle_s = settle_after_real_heal,
      .failing_server = "rs1",
      .budget = [](const LabParams& p) { return Budget{.max_failing_after = out_budget(p)}; },
      .judge =
          [](Drill& d, const Times& t, Result& r) {
            double back = -1;
            for (auto& e : d.events(t.heal, t.end))
              if (e.kind == 'R' && e.ok && e.server == "rs1") {
                back = e.t1 - t.heal;
                break;
              }
            double budget = back_budget(d.params());
            if (back < 0)
              r.violations.push_back("rs1 never served again after coming back");
            else if (back > budget)
              r.violations.push_back(strf("rs1 served again %.2fs after it came back, budget rise "
                                         "x interval + timeout + 1s = %.2fs",
                                         back, budget));
          },
  });
  t.push_back({
      .name = "rs-500",
      .description = "a real server answers 500",
      .act = timed([](Drill& d) { d.set_real_failing(1, true); }),
      .fault_s = fixed(3),
      .heal = then_now([](Drill& d) { d.set_real_failing(1, false); }),
      .heal_first = true,
      .settle_s = settle_after_real_heal,
      .failing_server = "rs2",
      .budget = [](const LabParams& p) { return Budget{.max_failing_after = out_budget(p)}; },
  });
  t.push_back({
      .name = "reload-weight",
      .description = "reload with a changed weight",
      .act = timed([](Drill& d) { d.set_weights({1, 1, 3}); }),
      .fault_s = fixed(2.5),
      .heal = then_now([](Drill& d) { d.set_weights({1, 1, 1}); }),
      .budget = budget(Budget{.max_failed = 0}),
      .judge =
          [](Drill& d, const Times&, Result& r) {
            std::string rs3 = d.lab().real_ip(2) + ":80";
            auto p = r.ipvs_table.find(rs3);
            if (p == std::string::npos || r.ipvs_table.find(" 3 ", p) == std::string::npos)
              r.violations.push_back("rs3 does not have weight 3 in the kernel table after reload");
          },
  });
  t.push_back({
      .name = "wrr-share",
      .description = "new connections share out as the weights say (wrr 1:2:3)",
      .act = timed([](Drill& d) { d.set_weights({1, 2, 3}); }),
      .fault_s = fixed(7),
      .heal = then_now([](Drill& d) { d.set_weights({1, 1, 1}); }),
      .budget = budget(Budget{.max_failed = 0}),
      .judge =
          [](Drill& d, const Times& t, Result& r) {
            // The first second belongs to the reload; shares count from then on.
            std::map<std::string, int> share;
            int total = 0;
            for (auto& e : d.events(t.fault + 1.0, t.end))
              if (e.kind == 'R' && e.ok) ++share[e.server], ++total;
            r.served_by = share;
            for (int i = 0; i < 3 && total > 0; ++i) {
              std::string rs = Lab::real(i);
              double want = (i + 1) / 6.0, got = double(share[rs]) / total;
              if (std::abs(got - want) > 0.3 * want)
                r.violations.push_back(strf("%s served %.0f%% of %d new connections, weights say %.0f%%",
                                            rs.c_str(), got * 100, total, want * 100));
            }
            if (total < 50) r.violations.push_back("too few requests to measure shares");
          },
  });
  // A frozen Master (SIGSTOP: a stalled VM, a long GC-like pause) loses the election; when it
  // wakes (SIGCONT) it still believes it is Master until it hears the other, then one of them
  // yields. Judged from the thaw, as the partition is.
  t.push_back({
      .name = "master-freeze",
      .description = "Master frozen (SIGSTOP) for 3 s, then thawed (SIGCONT)",
      .act = timed([](Drill& d) { d.signal_director(0, SIGSTOP); }),
      .fault_s = fixed(3),
      .heal = then_now([](Drill& d) { d.signal_director(0, SIGCONT); }),
      .heal_first = true,
      .settle_s = fixed(3),
      .split_by_design = true,
      // No max_outage: the kernel keeps forwarding through a frozen daemon, and what breaks
      // (if anything) breaks at the thaw, so the time from the freeze says nothing.
      .budget = budget(Budget{.max_after_heal = 1.5}),
      .judge =
          [](Drill&, const Times&, Result& r) {
            if (r.max_masters > 1) r.violations.push_back("two Masters after the thaw");
          },
  });
  // Operators reload in loops (configuration management, a broken template): 30 reloads in
  // 3 s, every other one an invalid file, must neither fail a request nor move the VIP.
  t.push_back({
      .name = "reload-storm",
      .description = "30 reloads in 3 s on both directors, every other file invalid",
      .act = timed([](Drill& d) { d.reload_storm(3.0, 0.2); }),
      .fault_s = fixed(3.5),
      .budget = budget(Budget{.max_failed = 0}),
  });
  // The partition lasts 2 s plus however long nft takes to remove it (seconds under
  // emulation): what the directors answer for is the time from the heal to the VIP answering.
  t.push_back({
      .name = "partition",
      .description = "partition between the directors, then heal",
      .act = then_now([](Drill& d) { d.set_partition(true); }),  // once the rule is in place
      .fault_s = fixed(2),
      .heal = then_now([](Drill& d) { d.set_partition(false); }),  // once the rule is gone
      .heal_first = true,
      .settle_s = fixed(3),
      .split_by_design = true,
      .budget = budget(Budget{.max_after_heal = 1.5}),
      .judge =
          [](Drill&, const Times&, Result& r) {
            if (r.max_masters > 1) r.violations.push_back("two Masters after the partition healed");
          },
  });
  // The Master runs out of descriptors: checks cannot open sockets and the control socket
  // cannot accept. Nothing the users see may change: a probe that cannot run is no evidence
  // against a real server (checkers: Reason::local_error), and VRRP needs no new descriptor.
  t.push_back({
      .name = "fd-exhaustion",
      .description = "Master out of file descriptors for 3 s (RLIMIT_NOFILE lowered, the rest taken)",
      .act =
          [](Drill& d) {
            d.marks["inconclusive"] = d.status_number(0, "\"scheduler\":{", "inconclusive");
            double t0 = now();
            d.exhaust_descriptors(0, true);
            return t0;
          },
      .fault_s = fixed(3),
      .heal = then_now([](Drill& d) { d.exhaust_descriptors(0, false); }),
      .heal_first = true,
      .settle_s = fixed(1.5),
      .budget = budget(Budget{.max_failed = 0}),
      .judge =
          [](Drill& d, const Times&, Result& r) {
            long after = d.status_number(0, "\"scheduler\":{", "inconclusive");
            if (after < 0)
              r.violations.push_back("the Master's control socket does not answer after the fault");
            else if (after <= d.marks["inconclusive"])
              r.violations.push_back(strf("no probe ran into the descriptor limit (inconclusive "
                                          "%ld -> %ld): the fault did not take",
                                          d.marks["inconclusive"], after));
            if (d.director_state(0) != "MASTER") r.violations.push_back("A is no longer Master");
          },
  });
  // An on-link host that is not a director floods crafted adverts (priority 255 and 0, the
  // longest interval, bad checksums, cut packets, another VRID). The lab's directors list
  // each other as `peers`: nothing may move, and the drops must be counted.
  t.push_back({
      .name = "advert-flood",
      .description = "3,000 crafted adverts in 3 s from the client's namespace",
      .act =
          [](Drill& d) {
            for (int i = 0; i < 2; ++i)
              d.marks["unknown_peer" + std::to_string(i)] = d.status_number(i, "\"VI_1\"", "unknown_peer");
            double t0 = now();
            // 1,000 a second (a hundred times a 10 ms Master's rate). At 2,000 the emulated
            // VM's bridge, which floods them to all six ports, once lost a client's packet in
            // a 1-hour soak (1 request of 41 floods), a limit of the lab, not the directors.
            d.marks["sent"] = d.flood_adverts(3.0, 1000);
            return t0;
          },
      .fault_s = fixed(3.5),
      .budget = budget(Budget{.max_failed = 0}),
      .judge =
          [](Drill& d, const Times&, Result& r) {
            // 4 of every 7 are well-formed adverts for VRID 51 from a source not in `peers`.
            long want = d.marks["sent"] * 4 / 7 / 2;
            for (int i = 0; i < 2; ++i) {
              long before = d.marks["unknown_peer" + std::to_string(i)];
              long after = d.status_number(i, "\"VI_1\"", "unknown_peer");
              if (after - before < want)
                r.violations.push_back(strf("director %s counted %ld adverts from unknown peers of "
                                            "%ld sent (want at least %ld)",
                                            i == 0 ? "A" : "B", after - before, d.marks["sent"], want));
            }
            if (d.director_state(0) != "MASTER") r.violations.push_back("A is no longer Master");
            if (d.director_state(1) != "BACKUP") r.violations.push_back("B is no longer Backup");
          },
  });
  // The Master's interface is deleted (a driver reload, an operator's `ip link del`) and made
  // again with the same name: a new ifindex and MAC. B takes over as for a cut link; A must
  // find the new interface by itself and take the VIP back.
  t.push_back({
      .name = "iface-recreate",
      .description = "Master's eth0 deleted, then made again (new ifindex and MAC)",
      .act = timed([](Drill& d) { d.delete_director_interface(0); }),
      .lab_command_act = true,
      .fault_s = fixed(3),
      .heal =
          [](Drill& d) {
            d.recreate_director_interface(0);
            double t = now();
            for (double until = t + 10; now() < until; sleep_s(0.1))
              if (d.director_state(0) == "MASTER") return t;
            throw std::runtime_error("director A did not become Master again within 10 s of its "
                                     "eth0 being made again (state " + d.director_state(0) + ")");
          },
      .budget = [](const LabParams& p) { return Budget{.max_outage = p.mdi() + 1.5}; },
  });
  // The Master's adverts (only them) lose 10 %, arrive 0-10 ms late, duplicated and out of
  // order. A Backup that misses three in a row takes over (the protocol's answer to loss),
  // so the directors answer for what follows the repair, as for a partition.
  t.push_back({
      .name = "vrrp-netem",
      .description = "Master's adverts through netem for 4 s: 10% loss, 5+-5 ms delay, 20% "
                     "duplicated, 25% reordered",
      .act = then_now([](Drill& d) { d.set_vrrp_netem(0, true); }),
      .fault_s = fixed(4),
      .heal = then_now([](Drill& d) { d.set_vrrp_netem(0, false); }),
      .heal_first = true,
      .settle_s = fixed(3),
      .split_by_design = true,
      .budget = budget(Budget{.max_after_heal = 1.5}),
      .judge =
          [](Drill& d, const Times&, Result& r) {
            if (r.max_masters > 1) r.violations.push_back("two Masters after netem was removed");
            if (d.director_state(0) != "MASTER") r.violations.push_back("A is not Master after the repair");
          },
  });
  // Authenticated VRRP rolled out and its key rotated on the running pair with traffic
  // flowing: no request fails, nobody takes over, and at the end both directors enforce
  // with key 2, having rejected nothing (the Backup verified the Master's adverts).
  t.push_back({
      .name = "auth-rollout",
      .description = "authenticated VRRP rolled out (receive-only, permissive, enforce) and "
                     "its key rotated, one director after the other",
      .act =
          [](Drill& d) {
            d.marks["b_became_master"] = d.status_number(1, "\"name\":\"VI_1\"", "became_master");
            d.marks["a_adverts_late"] = d.status_number(0, "\"name\":\"VI_1\"", "adverts_late");
            double t0 = now();
            auth_rollout(d);
            return t0;
          },
      .fault_s = fixed(1),
      .heal = then_now(auth_rollback),
      .budget = budget(Budget{.max_failed = 0, .max_long_broken = 0}),
      .judge =
          [](Drill& d, const Times&, Result& r) {
            // Judged before the heal (the roll-back), on the first instance (VI_1).
            for (int i = 0; i < 2; ++i) {
              const char* who = i ? "B" : "A";
              long rejected = d.status_number(i, "\"rejected\":{", "total");
              if (rejected != 0)
                r.violations.push_back(strf("%s rejected %ld adverts of its peer", who, rejected));
              if (d.status_number(i, "\"auth\":{\"mode\":\"enforce\"", "active_key") != 2)
                r.violations.push_back(strf("%s does not enforce with key 2 at the end", who));
            }
            if (d.status_number(1, "\"auth\":{", "verified") <= 0)
              r.violations.push_back("B verified none of A's adverts");
            if (d.status_number(1, "\"name\":\"VI_1\"", "became_master") != d.marks["b_became_master"]) {
              // A takeover the roll-out caused would come with rejected adverts (judged above).
              // One while A's own adverts left late (its VRRP thread or the VM stalled past
              // the interval: a CI run beside sanitizer builds did it once) is VRRP answering a
              // silent Master, reported here; one with A on time is unexplained: a violation.
              const long now_late = d.status_number(0, "\"name\":\"VI_1\"", "adverts_late");
              const long late = now_late - d.marks["a_adverts_late"];
              if (now_late >= 0 && d.marks["a_adverts_late"] >= 0 && late > 0)  // -1: unread
                std::fprintf(stderr, "drill: auth-rollout: B took over while %ld of A's adverts "
                                     "left late (a stalled host, not the roll-out: nothing was "
                                     "rejected)\n", late);
              else
                r.violations.push_back("B became Master during the roll-out (A's adverts left "
                                       "on time)");
            }
          },
  });
  // The real-server role cannot save its state file (the disk is full) when a reload adds
  // a VIP: the reload must be refused whole (the old config, its VIP and its sysctls kept, the
  // daemon running, the failure counted), and succeed once there is room again.
  t.push_back({
      .name = "disk-full",
      .description = "rs1's state-file disk full while its real-server role reloads a new VIP",
      .act =
          [](Drill& d) {
            d.marks["reloads_failed"] = d.real_server_status_number(0, "\"reloads\":{", "failed");
            double t0 = now();
            d.fill_real_server_disk(true);
            d.reload_real_server(0, true);
            return t0;
          },
      .fault_s = fixed(2),
      .heal =
          [](Drill& d) {
            d.fill_real_server_disk(false);
            d.reload_real_server(0, true);
            double t = now();
            for (double until = t + 5; now() < until; sleep_s(0.1))
              if (d.real_server_has(0, d.lab().extra_vip())) break;
            if (!d.real_server_has(0, d.lab().extra_vip()))
              throw std::runtime_error("rs1 did not take the new VIP once its disk had room");
            d.reload_real_server(0, false);  // back to the lab's config
            return t;
          },
      .budget = budget(Budget{.max_failed = 0}),
      .judge =
          [](Drill& d, const Times&, Result& r) {
            if (!d.real_server_alive(0)) r.violations.push_back("rs1's real-server role died");
            long failed = d.real_server_status_number(0, "\"reloads\":{", "failed");
            if (failed != d.marks["reloads_failed"] + 1)
              r.violations.push_back(strf("rs1's failed reloads went %ld -> %ld, want +1",
                                          d.marks["reloads_failed"], failed));
            if (d.real_server_has(0, d.lab().extra_vip()))
              r.violations.push_back("rs1 added the new VIP although its state could not be saved");
            if (!d.real_server_has(0, d.lab().vip()))
              r.violations.push_back("rs1 lost the VIP in the failed reload");
          },
      .dr_only = true,
  });
  return t;
}

}  // namespace

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> table = make_table();
  return table;
}

const Scenario* find_scenario(const std::string& name) {
  for (auto& s : scenarios())
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> scenario_names(Mode mode) {
  std::vector<std::string> out;
  for (auto& s : scenarios())
    if (!s.dr_only || mode == Mode::dr) out.push_back(s.name);
  return out;
}

}  // namespace hd::drill
