// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/lab.h"

#include <signal.h>

#include <sstream>
#include <stdexcept>

#include "drill/proc.h"

namespace hd::drill {

void Lab::host(const std::string& role, const std::string& ifname, const std::string& bridge,
               const std::string& addr) {
  Port p{role, ifname, bridge, addr, "p" + std::to_string(++ports_)};
  plug(p);
  port_of_.push_back(p);
}

void Lab::plug(const Port& p) {
  std::string n = ns(p.role);
  must({"ip", "link", "add", p.port, "netns", ns("sw"), "type", "veth", "peer", "name", p.ifname,
        "netns", n});
  must(in_ns(ns("sw"), {"ip", "link", "set", p.port, "master", p.bridge, "up"}));
  must(in_ns(n, {"ip", "addr", "add", p.addr, "dev", p.ifname}));
  must(in_ns(n, {"ip", "link", "set", p.ifname, "up"}));
}

const Lab::Port& Lab::port(const std::string& role, const std::string& ifname) const {
  for (auto& p : port_of_)
    if (p.role == role && p.ifname == ifname) return p;
  throw std::runtime_error("the lab has no interface " + role + ":" + ifname);
}

void Lab::delete_interface(const std::string& role, const std::string& ifname) {
  must(in_ns(ns("sw"), {"ip", "link", "del", port(role, ifname).port}));
}

void Lab::recreate_interface(const std::string& role, const std::string& ifname) {
  plug(port(role, ifname));
}

std::vector<std::string> Lab::director_ports(int i) const {
  std::vector<std::string> out;
  std::string role = director(i);
  for (auto& p : port_of_)
    if (p.role == role) out.push_back(p.port);
  return out;
}

void Lab::build() {
  auto add_ns = [&](const std::string& role) {
    must({"ip", "netns", "add", ns(role)});
    namespaces.push_back(ns(role));
    must(in_ns(ns(role), {"ip", "link", "set", "lo", "up"}));
  };
  add_ns("sw");
  for (auto br : {"front", "back"}) {
    if (mode == Mode::dr && std::string(br) == "back") continue;
    must(in_ns(ns("sw"), {"ip", "link", "add", br, "type", "bridge"}));
    must(in_ns(ns("sw"), {"ip", "link", "set", br, "up"}));
  }
  add_ns("client");
  host("client", "eth0", "front", "10.9.0.10/24");
  for (int i = 0; i < 2; ++i) {
    std::string role = director(i);
    add_ns(role);
    host(role, "eth0", "front", director_ip(i) + "/24");
    if (mode == Mode::nat) {
      host(role, "eth1", "back", director_back_ip(i) + "/24");
      must(in_ns(ns(role), {"sysctl", "-qw", "net.ipv4.ip_forward=1"}));
    }
    // Connections to a removed real server are reset at once instead of hanging.
    run(in_ns(ns(role), {"sysctl", "-qw", "net.ipv4.vs.expire_nodest_conn=1"}));
  }
  for (int i = 0; i < 3; ++i) {
    std::string role = real(i);
    add_ns(role);
    if (mode == Mode::nat) {
      host(role, "eth0", "back", real_ip(i) + "/24");
      must(in_ns(ns(role), {"ip", "route", "add", "default", "via", "10.10.0.1"}));
    } else {
      host(role, "eth0", "front", real_ip(i) + "/24");
    }
  }
}

void Lab::destroy() {
  for (auto it = namespaces.rbegin(); it != namespaces.rend(); ++it) {
    auto pids = run({"ip", "netns", "pids", *it});
    std::istringstream is(pids.out);
    int pid;
    while (is >> pid) ::kill(pid, SIGKILL);
  }
  for (auto it = namespaces.rbegin(); it != namespaces.rend(); ++it) run({"ip", "netns", "del", *it});
  namespaces.clear();
}

}  // namespace hd::drill
