// SPDX-License-Identifier: GPL-2.0-or-later
// [realserver]: this host as a real server (dr / tun VIPs, ARP sysctls).
#include "daemon/config/sections.h"

namespace hd::config {
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


}  // namespace hd::config
