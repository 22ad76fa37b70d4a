// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/params.h"

#include <algorithm>
#include <chrono>

#include <toml++/toml.h>

#include "daemon/config/loader.h"
#include "drill/scenarios.h"

namespace hd::drill {
namespace {
double secs(Duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

std::string params_from_config(const std::string& path, LabParams& p, Options& o) {
  auto r = config::load_file(path);
  if (!r.ok()) {
    std::string all;
    for (auto& e : r.errors) all += e.str() + "\n";
    return all;
  }
  const auto& c = *r.config;
  if (!c.vrrp_instances.empty()) {
    const auto& vi = c.vrrp_instances.front();
    p.version = vi.version;
    p.advert = secs(vi.advert_interval);
    p.preempt = vi.preempt;
    p.preempt_delay = secs(vi.preempt_delay);
    p.notes.push_back("VRRP v" + std::to_string(p.version) + ", advert_interval, preempt from instance '" +
                      vi.name + "' (priorities stay 150/100, addresses the lab's)");
    if (vi.family() != Family::v4) p.notes.push_back("IPv6 instance: the lab runs IPv4");
  } else {
    p.notes.push_back("no vrrp_instance: the lab's defaults");
  }
  if (!c.virtual_servers.empty()) {
    const auto& vs = c.virtual_servers.front();
    p.scheduler = std::string(ipvs::to_string(vs.scheduler));
    p.persistence = static_cast<int>(
        std::chrono::duration_cast<std::chrono::seconds>(vs.persistence_timeout).count());
    p.inhibit = vs.inhibit_on_failure;
    p.slow_start = secs(vs.slow_start);
    if (!o.mode_given) {
      if (vs.forwarding == config::Forwarding::dr) o.mode = Mode::dr;
      else if (vs.forwarding == config::Forwarding::nat) o.mode = Mode::nat;
      else p.notes.push_back("tun forwarding does not fit the lab: drilled as nat");
    }
    p.notes.push_back("scheduler " + p.scheduler + ", persistence, inhibit_on_failure, slow_start from " +
                      vs.key());
    for (auto& rs : vs.real_servers) {
      if (!rs.check) continue;
      const auto& ck = *rs.check;
      p.check_interval = secs(ck.interval);
      p.check_timeout = secs(ck.timeout);
      p.rise = ck.rise;
      p.fall = ck.fall;
      if (ck.type == config::CheckType::tcp || ck.type == config::CheckType::http) {
        p.check_type = config::to_string(ck.type);
        if (ck.type == config::CheckType::http) p.check_path = ck.path;
      } else {
        p.notes.push_back(std::string(config::to_string(ck.type)) +
                          " check does not fit the lab's servers: drilled as http with the same timers");
      }
      p.notes.push_back("check timers (interval, timeout, rise, fall) from real server " + rs.address.str());
      break;
    }
  }
  return "";
}

std::string load_drill_config(const std::string& path, Options& o,
                              std::map<std::string, Budget>& budgets) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return path + ":" + std::to_string(e.source().begin.line) + ":" +
           std::to_string(e.source().begin.column) + ": error: " + std::string(e.description()) + "\n";
  }
  std::string err;
  auto pos = [&](const toml::node& n) {
    return path + ":" + std::to_string(n.source().begin.line) + ":" +
           std::to_string(n.source().begin.column) + ": error: ";
  };
  auto duration = [&](const toml::node& n, double& dst) {
    if (auto i = n.value<int64_t>()) dst = static_cast<double>(*i);
    else if (auto f = n.value<double>()) dst = *f;
    else if (auto s = n.value<std::string>(); s && config::parse_duration(*s)) dst = secs(*config::parse_duration(*s));
    else err += pos(n) + "not a duration\n";
  };
  for (auto&& [k, v] : t) {
    std::string key(k.str());
    if (key == "traffic" && v.is_table()) {
      for (auto&& [tk, tv] : *v.as_table()) {
        if (tk.str() == "rate" && tv.value<double>()) o.rate = *tv.value<double>();
        else if (tk.str() == "long_lived" && tv.value<int64_t>()) o.longs = static_cast<int>(*tv.value<int64_t>());
        else err += pos(tv) + "unknown or mistyped key '" + std::string(tk.str()) + "' in [traffic]\n";
      }
    } else if (key == "budget" && v.is_table()) {
      for (auto&& [sk, sv] : *v.as_table()) {
        std::string sc(sk.str());
        if (!find_scenario(sc) || !sv.is_table()) {
          err += pos(sv) + "unknown scenario '" + sc + "' in [budget]\n";
          continue;
        }
        Budget& b = budgets[sc];
        for (auto&& [bk, bv] : *sv.as_table()) {
          std::string name(bk.str());
          if (name == "max_outage") duration(bv, b.max_outage);
          else if (name == "max_failing_after") duration(bv, b.max_failing_after);
          else if (name == "max_after_heal" && find_scenario(sc)->heal_first) duration(bv, b.max_after_heal);
          else if (name == "max_failed" && bv.value<int64_t>()) b.max_failed = static_cast<int>(*bv.value<int64_t>());
          else if (name == "max_long_broken" && bv.value<int64_t>()) b.max_long_broken = static_cast<int>(*bv.value<int64_t>());
          else err += pos(bv) + "unknown or mistyped key '" + name + "' in [budget." + sc + "]\n";
        }
      }
    } else {
      err += pos(v) + "unknown key '" + key + "' (expected [traffic] and [budget.SCENARIO])\n";
    }
  }
  return err;
}

}  // namespace hd::drill
