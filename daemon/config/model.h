// SPDX-License-Identifier: GPL-2.0-or-later
// The validated configuration: plain values, no TOML. Everything a subsystem
// reads comes from here; the loader guarantees every invariant documented in
// docs/hadirector.toml.5.md (ranges, families, uniqueness).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkers/spec.h"
#include "core/address.h"
#include "core/clock.h"
#include "core/log.h"
#include "ipvs/model.h"
#include "vrrp/auth.h"

namespace hd::config {

// Where a value came from, for messages and for "changed" diagnostics.
struct SourcePos {
  int line = 0;
  int column = 0;
  auto operator<=>(const SourcePos&) const = default;
};

// kernel: IPVS; nftables: an nftables table (nftables/render.h); none: nothing programmed.
enum class Dataplane { kernel, none, nftables };

// Who makes a virtual server's address attract traffic (docs/anycast.md): the VRRP Master
// holding it as a VIP (vrrp, the default), or a route this director exports over BGP
// through the routing daemon beside it while it can serve the address (bgp).
enum class Announce { vrrp, bgp };

// [anycast]: where announce = "bgp" addresses live. hadirector creates `interface` (a TUN
// device only this process holds, so it and its routes vanish when the process dies, even
// by SIGKILL), puts each such address on it (local, so the data plane takes its packets)
// and, while the address may attract traffic, a route `ADDR/32 dev interface table table
// proto hadirector`: the routing daemon (BIRD, FRR) exports exactly those routes over BGP.
struct Anycast {
  SourcePos pos;
  std::string interface = "hd-anycast";
  uint32_t table = 200;
  // On stop: routes withdrawn first, then the addresses (and forwarding) kept this long for
  // the upstream routers to move the flows away.
  Duration withdraw_linger = std::chrono::seconds(2);
  bool operator==(const Anycast& o) const {
    return interface == o.interface && table == o.table && withdraw_linger == o.withdraw_linger;
  }
};

// [vrrp_instance.auth] / [global.vrrp_auth] (vrrp/auth.h; docs/vrrp-auth.md).
struct AuthSection {
  SourcePos pos;
  vrrp::AuthConfig auth;  // window: see resolve_auth
  std::optional<Duration> window;  // as given; nullopt: max(3 x advert interval, 5 s)
  // Where each key came from, in the order of auth.keys: "file:/path", "credential:NAME" or
  // "hex:" (inline; the writer writes the key itself back). Never the key.
  std::vector<std::string> key_sources;
  bool inherited = false;  // an instance's copy of [global.vrrp_auth]
  bool operator==(const AuthSection& o) const {
    return auth == o.auth && window == o.window && key_sources == o.key_sources &&
           inherited == o.inherited;
  }
};

// The engine's AuthConfig for an instance advertising every `advert_interval`.
vrrp::AuthConfig resolve_auth(const AuthSection& s, Duration advert_interval);

struct SyncDaemon {
  std::string interface;     // where the kernel's IPVS sync traffic goes
  // The backup role runs always; the master role from this instance's first MASTER on,
  // or from the start when empty (directors forwarding at once: announce = "bgp").
  std::string vrrp_instance;
  int sync_id = 0;           // 0-255
  // Largest sync message the master role sends (bytes; 0: the kernel's, 1472 for IPv4). The
  // kernel sends a message once the next entry does not fit, a partial one only 2 s after
  // its first entry: small messages (128: three IPv4 connections) reach the other director
  // within tens of milliseconds under traffic, what a switchover that loses no connection
  // needs, for a datagram per few connections.
  int max_message = 128;
  bool operator==(const SyncDaemon&) const = default;
};

// Connection sync for conntrack (the nftables data plane's connection table) by conntrackd,
// which the operator runs (its own config and unit); hadirector tells it the director's role
// on each transition of `vrrp_instance`, as conntrack-tools' primary-backup.sh does from
// keepalived's notify: MASTER commits the connections the other director sent (-c), flushes
// its caches (-f), resyncs with the kernel (-R) and sends them all (-B); BACKUP and FAULT
// shorten the timers of what it held (-t) and ask the Master for its table (-n).
struct Conntrackd {
  std::string config;  // conntrackd's own config file (-C)
  std::string vrrp_instance;
  std::string binary = "conntrackd";  // an absolute path, or a name looked up in PATH
  bool operator==(const Conntrackd&) const = default;
};

struct IpvsTimeouts {
  Duration tcp = Duration::zero();  // 0: leave the kernel's value
  Duration tcpfin = Duration::zero();
  Duration udp = Duration::zero();
  bool operator==(const IpvsTimeouts&) const = default;
};

// [global] metrics: the Prometheus endpoint (off when absent).
struct MetricsEndpoint {
  IpAddress address;  // 127.0.0.1 by default when only a port is given
  int port = 9406;
  bool operator==(const MetricsEndpoint&) const = default;
};

struct Global {
  std::string router_id;
  log::Level log_level = log::Level::info;
  std::string control_socket = "/run/hadirector/control.sock";
  std::string runtime_dir = "/run/hadirector";
  // Where state that must survive a reboot lives: the runtime overrides (hadirector ctl).
  std::string state_dir = "/var/lib/hadirector";
  // Groups (by name) whose members may, besides root, change state over the control socket
  // (admin_group) or read it: status, overrides (read_group). Empty: root only.
  std::string admin_group;
  std::string read_group;
  Dataplane dataplane = Dataplane::kernel;
  bool vrrp_realtime = false;  // SCHED_FIFO for the VRRP thread
  int vrrp_rt_priority = 10;
  std::vector<int> vrrp_cpu_affinity;  // CPUs the VRRP thread may run on; empty: any
  bool ipvs_remove_on_stop = false;  // ipvs_on_stop = "remove": delete our services on stop
  // A new VRRP Master forwards TCP packets its IPVS does not know to the old Master while
  // that one lingers (nftables/handover.h): no handshake is lost in a planned switchover.
  bool handover_forwarding = true;
  Duration reconcile_interval = std::chrono::seconds(5);  // drift repair period
  std::optional<SyncDaemon> lvs_sync_daemon;
  std::optional<Conntrackd> conntrackd;
  IpvsTimeouts ipvs_timeouts;
  std::optional<MetricsEndpoint> metrics;
  // Default authentication for instances without an [vrrp_instance.auth] of their own.
  std::optional<AuthSection> vrrp_auth;
  bool operator==(const Global&) const = default;
};

struct Vip {
  IpPrefix prefix;
  std::string label;  // empty: no label
  bool operator==(const Vip&) const = default;
};

struct Garp {
  int count = 5;                      // packets in the burst on becoming Master
  Duration spacing = Millis(100);     // between packets of the burst
  Duration refresh = Duration::zero();  // periodic repeat while Master; 0 = off
  // A second burst this long after the first: neighbours ignore ARP updates within their
  // locktime (1 s by default on Linux) of a previous one, e.g. the other director's. 0 = off.
  Duration second_burst_delay = std::chrono::seconds(2);
  bool operator==(const Garp&) const = default;
};

struct Notify {
  std::vector<std::string> master, backup, fault, stop;  // argv; instance and state appended
  Duration timeout = std::chrono::seconds(10);
  bool operator==(const Notify&) const = default;
};

// An instance's reference to a [[track_script]] or a [[track_file]] by name.
struct TrackRef {
  std::string name;
  std::optional<int> weight;  // overrides the script's (the file's) weight
  bool operator==(const TrackRef&) const = default;
};
using TrackScriptRef = TrackRef;
using TrackFileRef = TrackRef;

struct TrackVirtualServerRef {
  std::string service;  // a virtual server's key(): "tcp 192.0.2.1:80", "fwmark 7 inet"
  int weight = 0;       // 0: quorum lost -> FAULT; else added to the priority while lost
  bool operator==(const TrackVirtualServerRef&) const = default;
};

struct VrrpInstance {
  SourcePos pos;
  std::string name;
  std::string interface;
  int vrid = 0;
  int priority = 100;
  int version = 3;
  Duration advert_interval = std::chrono::seconds(1);
  bool preempt = true;
  Duration preempt_delay = Duration::zero();
  // vrrp::Params::linger: a Master handing over (ctl failover / hold, a stopping daemon) or
  // preempted keeps its VIPs this long after the new Master holds them (0: RFC, at once).
  Duration handover_linger = std::chrono::seconds(3);
  std::vector<Vip> vips;
  // Held with vips while MASTER but not advertised (keepalived's virtual_ipaddress_excluded):
  // not bound by what one advert carries, and of any family.
  std::vector<Vip> excluded_vips;
  std::optional<IpAddress> unicast_source;
  std::vector<IpAddress> unicast_peers;
  std::vector<IpAddress> peers;  // multicast: adverts from other sources are dropped
  int adopt_interval_ratio = 10;  // v3: Params::adopt_interval_ratio (0 = no bound)
  std::string auth_pass;  // v2 simple password (interop only; not security)
  std::optional<AuthSection> auth;  // its own, or [global.vrrp_auth] (inherited)
  Garp garp;
  std::vector<std::string> track_interfaces;
  std::vector<TrackScriptRef> track_scripts;
  std::vector<TrackFileRef> track_files;
  std::vector<TrackVirtualServerRef> track_virtual_servers;
  Notify notify;
  // An instance without VIPs (keepalived's, for notify hooks that move an address
  // elsewhere) is version 2, so IPv4.
  Family family() const { return vips.empty() ? Family::v4 : vips.front().prefix.address.family(); }
  bool operator==(const VrrpInstance& o) const {
    return name == o.name && interface == o.interface && vrid == o.vrid &&
           priority == o.priority && version == o.version &&
           advert_interval == o.advert_interval && preempt == o.preempt &&
           preempt_delay == o.preempt_delay && handover_linger == o.handover_linger &&
           vips == o.vips &&
           excluded_vips == o.excluded_vips &&
           unicast_source == o.unicast_source && unicast_peers == o.unicast_peers &&
           peers == o.peers && adopt_interval_ratio == o.adopt_interval_ratio &&
           auth_pass == o.auth_pass && auth == o.auth && garp == o.garp && track_interfaces == o.track_interfaces &&
           track_scripts == o.track_scripts && track_files == o.track_files &&
           track_virtual_servers == o.track_virtual_servers && notify == o.notify;
  }
};

struct TrackScript {
  SourcePos pos;
  std::string name;
  std::vector<std::string> command;
  Duration interval = std::chrono::seconds(2);
  Duration timeout = std::chrono::seconds(1);
  int rise = 1;
  int fall = 1;
  int weight = 0;  // 0: failure puts tracking instances in Fault; else added to priority
  bool operator==(const TrackScript& o) const {
    return name == o.name && command == o.command && interval == o.interval &&
           timeout == o.timeout && rise == o.rise && fall == o.fall && weight == o.weight;
  }
};

// keepalived's track_file: a number an operator (or a tool) writes to a file, read each
// time the file is written (daemon/track_files.h). Weight 0: a non-zero number faults the
// instances that track it; otherwise number x weight is added to their priority (below
// -253: fault).
struct TrackFile {
  SourcePos pos;
  std::string name;
  std::string path;
  int weight = 0;
  std::optional<long long> init;  // written when the file is first watched and is missing
  bool init_overwrite = false;    // ... or whatever it holds
  bool operator==(const TrackFile& o) const {
    return name == o.name && path == o.path && weight == o.weight && init == o.init &&
           init_overwrite == o.init_overwrite;
  }
};

struct SyncGroup {
  SourcePos pos;
  std::string name;
  std::vector<std::string> instances;
  bool operator==(const SyncGroup& o) const { return name == o.name && instances == o.instances; }
};

// The checkers library's own types: what the loader parses is what the probes run.
using CheckType = checkers::CheckType;
using checkers::HttpMethod;
using checkers::StatusRange;
using checkers::to_string;  // CheckType, HttpMethod

struct Check {
  CheckType type = CheckType::tcp;
  Duration interval = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(2);
  int rise = 1;
  int fall = 1;
  bool initial_up = false;  // assume down until proven up
  std::optional<IpAddress> connect_address;
  std::optional<int> connect_port;
  std::optional<IpAddress> source_address;
  // tcp: probe = "syn" (half-open) or "connect". The loader's default is "syn" unless send or
  // expect is set; a Check built in code gets checkers::Spec's default (connect).
  bool half_open = false;
  std::string send;    // tcp, udp (bytes: send_hex in the file when not UTF-8)
  std::string expect;  // tcp, udp
  bool require_reply = false;  // udp
  // http / https
  HttpMethod method = HttpMethod::get;
  std::string path = "/";
  std::string host;
  std::vector<StatusRange> expect_status = {StatusRange{}};
  std::string body_contains;
  std::string body_regex;
  std::string body_sha256;
  bool tls_verify = true;
  bool keepalive = false;  // http, https: reuse the connection between runs
  std::string ca_file;
  std::string sni;
  Duration connect_timeout = Duration::zero();  // 0: same as timeout
  // dns
  std::string query_name;
  uint16_t query_type = 1;  // A
  // smtp
  std::string helo_name;  // empty: this host's name
  bool starttls = false;
  // script
  std::vector<std::string> command;
  std::map<int, int> exit_weights;  // exit code -> weight (up with that weight)
  // file (keepalived's FILE_CHECK): checkers::Spec::file_path, file_weight
  std::string file;
  int file_weight = 0;
  bool operator==(const Check&) const = default;
};

enum class Forwarding { nat, dr, tun };
enum class Protocol { tcp, udp, sctp };

// A real server's check, or none: held by pointer and shared between the real servers whose
// checks are equal (the loader: a config of 100,000 real servers usually has a handful of
// distinct checks, each 570 bytes; the loader shares them as it reads, config::Ctx::shared).
// Reads like std::optional<Check>; mut() copies first.
class SharedCheck {
 public:
  SharedCheck() = default;
  SharedCheck(std::nullopt_t) {}
  SharedCheck(Check c) : p_(std::make_shared<const Check>(std::move(c))) {}
  SharedCheck(const std::optional<Check>& c) {
    if (c) p_ = std::make_shared<const Check>(*c);
  }
  SharedCheck& operator=(Check c) {
    p_ = std::make_shared<const Check>(std::move(c));
    return *this;
  }
  explicit operator bool() const { return p_ != nullptr; }
  bool has_value() const { return p_ != nullptr; }
  const Check& operator*() const { return *p_; }
  const Check* operator->() const { return p_.get(); }
  void reset() { p_.reset(); }
  // A writable Check: this real server's own copy from now on.
  Check& mut() {
    auto own = std::make_shared<Check>(p_ ? *p_ : Check{});
    Check& ref = *own;
    p_ = std::move(own);
    return ref;
  }
  // Whether two real servers share one Check object (not only equal ones).
  bool same_object(const SharedCheck& o) const { return p_ == o.p_; }
  // Points at o's Check when the two are equal.
  void share_with(const SharedCheck& o) {
    if (p_ && o.p_ && p_ != o.p_ && *p_ == *o.p_) p_ = o.p_;
  }
  bool operator==(const SharedCheck& o) const {
    return p_ == o.p_ || (p_ && o.p_ && *p_ == *o.p_);
  }

 private:
  std::shared_ptr<const Check> p_;
};

struct RealServer {
  SourcePos pos;
  IpAddress address;
  int port = 0;
  int weight = 1;
  std::optional<Forwarding> forwarding;  // defaults to the virtual server's
  int upper_threshold = 0;
  int lower_threshold = 0;
  // tun forwarding: tunnel_type (ipip, gue, gre), tunnel_port (gue: the UDP destination
  // port), tunnel_checksum (none = 0, csum = ipvs::kTunCsum, remcsum = ipvs::kTunRemCsum, gue).
  ipvs::Tunnel tunnel;
  SharedCheck check;  // none: always up
  bool operator==(const RealServer& o) const {
    return address == o.address && port == o.port && weight == o.weight &&
           forwarding == o.forwarding && upper_threshold == o.upper_threshold &&
           lower_threshold == o.lower_threshold && tunnel == o.tunnel && check == o.check;
  }
};

struct SorryServer {
  IpAddress address;
  int port = 0;
  bool operator==(const SorryServer&) const = default;
};

struct VirtualServer {
  SourcePos pos;
  std::optional<IpAddress> address;  // address+port, or fwmark
  int port = 0;
  uint32_t fwmark = 0;
  Family family_ = Family::v4;  // for fwmark services
  Protocol protocol = Protocol::tcp;
  ipvs::Scheduler scheduler = ipvs::Scheduler::wlc;
  // ipvs::kShFallback | kShPort (scheduler sh) or kMhFallback | kMhPort (scheduler mh).
  uint32_t scheduler_flags = 0;
  Forwarding forwarding = Forwarding::nat;
  Duration persistence_timeout = Duration::zero();
  std::optional<int> persistence_netmask;
  int quorum = 0;
  int hysteresis = 0;
  std::optional<SorryServer> sorry_server;
  bool inhibit_on_failure = false;
  // IPVS one-packet scheduling (keepalived's ops; ipvsadm -o): every UDP datagram is
  // scheduled on its own, no connection entry kept. udp only.
  bool one_packet = false;
  Duration slow_start = Duration::zero();
  Announce announce = Announce::vrrp;
  std::vector<RealServer> real_servers;
  Family family() const { return address ? address->family() : family_; }
  std::string key() const;  // "tcp 192.0.2.1:80" or "fwmark 7 v4"
  bool operator==(const VirtualServer& o) const {
    return address == o.address && port == o.port && fwmark == o.fwmark &&
           family_ == o.family_ && protocol == o.protocol && scheduler == o.scheduler &&
           scheduler_flags == o.scheduler_flags && forwarding == o.forwarding &&
           persistence_timeout == o.persistence_timeout &&
           persistence_netmask == o.persistence_netmask && quorum == o.quorum &&
           hysteresis == o.hysteresis && sorry_server == o.sorry_server &&
           inhibit_on_failure == o.inhibit_on_failure && one_packet == o.one_packet &&
           slow_start == o.slow_start && announce == o.announce &&
           real_servers == o.real_servers;
  }
};

struct RealServerVip {
  IpAddress address;
  Forwarding mode = Forwarding::dr;  // dr: on lo; tun: on tunl0
  bool operator==(const RealServerVip&) const = default;
};

struct RealServerRole {
  std::vector<RealServerVip> vips;
  std::vector<std::string> interfaces;  // empty: the interface of the default route
  int arp_ignore = 1;
  int arp_announce = 2;
  int rp_filter = 0;  // tun mode
  Duration check_interval = std::chrono::seconds(5);
  bool operator==(const RealServerRole&) const = default;
};

struct Config {
  std::string source;  // file name the config came from
  Global global;
  std::vector<VrrpInstance> vrrp_instances;
  std::vector<TrackScript> track_scripts;
  std::vector<TrackFile> track_files;
  std::vector<SyncGroup> sync_groups;
  std::vector<VirtualServer> virtual_servers;
  std::optional<RealServerRole> realserver;
  Anycast anycast;  // [anycast]; defaults when absent
};

// A copy of `cfg` without its virtual servers (and their real servers): what a part that
// does not program them keeps, at a size independent of the number of real servers.
Config without_virtual_servers(const Config& cfg);

const char* to_string(Forwarding f);
const char* to_string(Protocol p);
const char* to_string(Dataplane d);
const char* to_string(Announce a);
// "ADDR:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1); nullopt when it is none of those.
std::optional<MetricsEndpoint> parse_listen(std::string_view text);
std::string to_string(const MetricsEndpoint& e);
// The instances that move with `instance`: its sync group's members, or just itself.
std::vector<std::string> sync_group_of(const Config& cfg, const std::string& instance);
// The id of the group named `name` on this host (admin_group, read_group), or nullopt.
std::optional<gid_t> group_id(const std::string& name);

}  // namespace hd::config
