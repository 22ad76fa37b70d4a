// SPDX-License-Identifier: GPL-2.0-or-later
// Every error class of the config loader, each with its exact line and column.
#include "daemon/config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "daemon/config/check_spec.h"
#include "daemon/config/writer.h"

namespace hd::config {
namespace {

using ::testing::HasSubstr;

std::string all_errors(const std::vector<Error>& errs) {
  std::string all;
  for (auto& e : errs) all += e.str() + "\n";
  return all;
}

// Every test's text is loaded both ways (parsed in pieces, one [[virtual_server]] at a time,
// and whole): the errors must be the same, positions included.
std::vector<Error> errors_of(const std::string& text) {
  auto pieces = load_string(text, "test.toml", 0).errors;
  auto whole = load_string(text, "test.toml", SIZE_MAX).errors;
  EXPECT_EQ(all_errors(pieces), all_errors(whole)) << "parsed in pieces vs whole";
  return whole;
}

// Asserts exactly one error, at LINE:COL, whose message contains `what`.
void expect_one(const std::string& text, int line, int col, const std::string& what) {
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 1u) << [&] {
    std::string all;
    for (auto& e : errs) all += e.str() + "\n";
    return all;
  }();
  EXPECT_EQ(errs[0].line, line) << errs[0].str();
  EXPECT_EQ(errs[0].column, col) << errs[0].str();
  EXPECT_THAT(errs[0].message, HasSubstr(what));
  EXPECT_EQ(errs[0].str().rfind("test.toml:" + std::to_string(line) + ":" + std::to_string(col) +
                                    ": error: ",
                                0),
            0u);
}

const std::string kInstance = R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 150
virtual_ipaddresses = [ { address = "192.168.110.90/24", label = "eth0:1" } ]
)";

TEST(ConfigLoader, MinimalInstanceIsValid) {
  auto r = load_string(kInstance, "test.toml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  auto& vi = r.config->vrrp_instances.at(0);
  EXPECT_EQ(vi.name, "VI_1");
  EXPECT_EQ(vi.vrid, 51);
  EXPECT_EQ(vi.priority, 150);
  EXPECT_EQ(vi.version, 3);
  EXPECT_EQ(vi.advert_interval, std::chrono::seconds(1));
  ASSERT_EQ(vi.vips.size(), 1u);
  EXPECT_EQ(vi.vips[0].prefix.str(), "192.168.110.90/24");
  EXPECT_EQ(vi.vips[0].label, "eth0:1");
  EXPECT_EQ(vi.pos.line, 1);
}

TEST(ConfigLoader, SyntaxErrorHasPosition) {
  // The string opened at column 13 runs into the end of line 2: toml++ reports the
  // newline it met, column 15 ("router_id = \"a" is 14 characters).
  expect_one("[global]\nrouter_id = \"a\n", 2, 15, "Error while parsing string");
  // Another line, another column: the stray token itself.
  expect_one("[global]\nrouter_id = \"a\"\n  log_level = \"x\" y\n", 3, 19, "saw 'y'");
}

// IPVS schedules single packets for UDP services only: one_packet elsewhere is refused at
// the key, and reaches the service's flags where it is allowed.
TEST(ConfigLoader, OnePacketIsForUdpOnly) {
  expect_one("[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\none_packet = true\n", 4, 14,
             "one_packet is for udp services only");
  auto r = load_string("[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 53\n"
                       "protocol = \"udp\"\none_packet = true\n", "test.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).str();
  EXPECT_TRUE(r.config->virtual_servers.at(0).one_packet);
}

// A udp check: bytes as text or as hexadecimal, require_reply; each misuse at its key.
TEST(ConfigLoader, UdpChecks) {
  const std::string vs = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 53\n"
                         "protocol = \"udp\"\n[[virtual_server.real_server]]\n"
                         "address = \"10.0.0.1\"\n";
  auto r = load_string(vs + "check = { type = \"udp\", send_hex = \"12 34:ff\", "
                            "expect = \"ok\", require_reply = true }\n", "test.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).str();
  auto& c = *r.config->virtual_servers.at(0).real_servers.at(0).check;
  EXPECT_EQ(c.type, CheckType::udp);
  EXPECT_EQ(c.send, std::string("\x12\x34\xff", 3));
  EXPECT_EQ(c.expect, "ok");
  EXPECT_TRUE(c.require_reply);
  expect_one(vs + "check = { type = \"udp\", send_hex = \"123\" }\n", 7, 36,
             "'send_hex' must be pairs of hexadecimal digits");
  expect_one(vs + "check = { type = \"udp\", send = \"a\", send_hex = \"61\" }\n", 7, 48,
             "'send_hex' and 'send' exclude each other");
  expect_one(vs + "check = { type = \"tcp\", require_reply = true }\n", 7, 41,
             "'require_reply' applies only to udp checks");
  expect_one(vs + "check = { type = \"udp\", probe = \"syn\" }\n", 7, 33,
             "'probe' applies only to tcp checks");
}

TEST(ConfigLoader, FileChecks) {
  const std::string vs = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n"
                         "[[virtual_server.real_server]]\naddress = \"10.0.0.1\"\nweight = 40\n";
  auto r = load_string(vs + "check = { type = \"file\", file = \"/run/hd/rs1\", weight = -2 }\n",
                       "test.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).str();
  auto& rs = r.config->virtual_servers.at(0).real_servers.at(0);
  EXPECT_EQ(rs.check->type, CheckType::file);
  EXPECT_EQ(rs.check->file, "/run/hd/rs1");
  EXPECT_EQ(rs.check->file_weight, -2);
  auto spec = to_check_spec(*rs.check, rs.address, 80, rs.weight);
  EXPECT_EQ(spec.file_path, "/run/hd/rs1");
  EXPECT_EQ(spec.file_weight, -2);
  EXPECT_EQ(spec.file_base_weight, 40);
  expect_one(vs + "check = { type = \"file\" }\n", 7, 9, "missing required key 'file' in check of real server");
  expect_one(vs + "check = { type = \"file\", file = \"rs1\" }\n", 7, 33,
             "'file' must be an absolute path to a file, not 'rs1'");
  expect_one(vs + "check = { type = \"tcp\", file = \"/run/x\" }\n", 7, 32,
             "'file' applies only to file checks");
  expect_one(vs + "check = { type = \"file\", file = \"/run/x\", connect_port = 80 }\n", 7, 58,
             "'connect_port' applies only to tcp, udp, http, https and script checks");
  expect_one(vs + "check = { type = \"file\", file = \"/run/x\", weight = 70000 }\n", 7, 52,
             "'weight' must be between -65535 and 65535, not 70000");
}

TEST(ConfigLoader, DnsAndSmtpChecks) {
  const std::string vs = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 53\n"
                         "[[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n";
  auto r = load_string(vs + "check = { type = \"dns\", query_name = \"example.test\", "
                            "query_type = \"aaaa\" }\n", "test.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).str();
  auto& c = *r.config->virtual_servers.at(0).real_servers.at(0).check;
  EXPECT_EQ(c.query_name, "example.test");
  EXPECT_EQ(c.query_type, 28);
  expect_one(vs + "check = { type = \"dns\", query_name = \"a b\" }\n", 6, 38,
             "'query_name': the name holds a character");
  expect_one(vs + "check = { type = \"dns\", query_name = \"a\", query_type = \"X\" }\n", 6, 56,
             "'query_type' must be A, AAAA");
  r = load_string(vs + "check = { type = \"smtp\", helo_name = \"lb1.example\", starttls = true, "
                       "tls_verify = false }\n", "test.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).str();
  auto& s = *r.config->virtual_servers.at(0).real_servers.at(0).check;
  EXPECT_EQ(s.type, CheckType::smtp);
  EXPECT_EQ(s.helo_name, "lb1.example");
  EXPECT_TRUE(s.starttls);
  EXPECT_FALSE(s.tls_verify);
}

TEST(ConfigLoader, UnknownKey) {
  expect_one("[global]\nrouter_id = \"a\"\nrouterid = \"b\"\n", 3, 1, "unknown key 'routerid'");
}

TEST(ConfigLoader, UnknownTopLevelTable) {
  expect_one("[globl]\nx = 1\n", 1, 2, "unknown key 'globl'");
}

TEST(ConfigLoader, UnknownKeyInsideInstance) {
  expect_one(kInstance + "advert_int = 1\n", 7, 1, "unknown key 'advert_int' in [[vrrp_instance]]");
}

TEST(ConfigLoader, WrongType) {
  expect_one("[global]\nlog_level = 3\n", 2, 13, "'log_level' must be a string, not an integer");
}

TEST(ConfigLoader, WrongTypeBoolean) {
  expect_one(kInstance + "preempt = \"yes\"\n", 7, 11, "'preempt' must be a boolean, not a string");
}

TEST(ConfigLoader, VridOutOfRange) {
  std::string t = kInstance;
  t.replace(t.find("= 51"), 4, "= 256");
  expect_one(t, 4, 21, "'virtual_router_id' must be between 1 and 255, not 256");
  t = kInstance;
  t.replace(t.find("= 51"), 4, "= 0");
  expect_one(t, 4, 21, "not 0");
}

TEST(ConfigLoader, PriorityOutOfRange) {
  std::string t = kInstance;
  t.replace(t.find("priority = 150"), 14, "priority = 0");
  expect_one(t, 5, 12, "'priority' must be between 1 and 255, not 0");
  t = kInstance;
  t.replace(t.find("priority = 150"), 14, "priority = 300");
  expect_one(t, 5, 12, "not 300");
}

TEST(ConfigLoader, MissingRequiredKeyPointsAtTable) {
  expect_one("[global]\n\n[[vrrp_instance]]\nname = \"x\"\nvirtual_router_id = 1\n"
             "virtual_ipaddresses = [\"10.0.0.1\"]\n",
             3, 1, "missing required key 'interface'");
}

// keepalived's instances without VIPs: notify hooks do the work (a cloud's address).
// Version 2 only, as keepalived (RFC 5798 puts at least one address in a v3 advert).
TEST(ConfigLoader, InstancesWithoutVips) {
  const std::string head = "[[vrrp_instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\n"
                           "virtual_router_id = 51\nversion = 2\n";
  auto r = load_string(head + "notify = { master = \"/usr/local/bin/move-eni\" }\n", "t.toml");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).str();
  EXPECT_TRUE(r.warnings.empty());
  auto& vi = r.config->vrrp_instances.at(0);
  EXPECT_TRUE(vi.vips.empty());
  EXPECT_EQ(vi.family(), Family::v4);
  // The writer leaves the key out; the loader reads the same instance back.
  auto back = load_string(to_toml(*r.config), "w.toml");
  ASSERT_TRUE(back.ok()) << back.errors.at(0).str();
  EXPECT_EQ(back.config->vrrp_instances.at(0), vi);
  const std::string v3 = "[[vrrp_instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\n"
                         "virtual_router_id = 51\n";
  expect_one(v3 + "notify = { master = \"/bin/true\" }\n", 1, 1,
             "instance 'VI_1' has no virtual_ipaddresses: a VRRP version 3 advert carries at "
             "least one (RFC 5798); an instance without VIPs must be version = 2");
  expect_one(v3 + "virtual_ipaddresses = []\n", 5, 23,
             "instance 'VI_1' has no virtual_ipaddresses: a VRRP version 3 advert carries at "
             "least one (RFC 5798); an instance without VIPs must be version = 2");
  expect_one(head + "unicast_source = \"fd00::1\"\nunicast_peers = [\"10.0.0.2\"]\n", 6, 18,
             "unicast_source is not IPv4 (an instance without VIPs is version 2, IPv4)");
  // Nothing to hold and nothing to run: accepted, with a warning at the instance.
  r = load_string(head, "t.toml");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].str(), "t.toml:1:1: warning: instance 'VI_1' has no virtual IP addresses "
                                 "and no notify hooks: its Master holds nothing");
}

TEST(ConfigLoader, V2AdvertIntervalWholeSeconds) {
  expect_one(kInstance + "version = 2\nadvert_interval = \"500ms\"\n", 8, 19,
             "version 2 must be whole seconds from 1 to 255");
  EXPECT_TRUE(load_string(kInstance + "version = 2\nadvert_interval = 3\n", "t").ok());
}

TEST(ConfigLoader, V3AdvertIntervalRangeAndSteps) {
  expect_one(kInstance + "advert_interval = \"5ms\"\n", 7, 19, "10ms to 40.95s in 10ms steps");
  expect_one(kInstance + "advert_interval = \"105ms\"\n", 7, 19, "10ms steps");
  expect_one(kInstance + "advert_interval = 41\n", 7, 19, "10ms steps");
  auto r = load_string(kInstance + "advert_interval = \"40.95s\"\n", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->vrrp_instances[0].advert_interval, Millis(40950));
  r = load_string(kInstance + "advert_interval = 0.1\n", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->vrrp_instances[0].advert_interval, Millis(100));
}

TEST(ConfigLoader, MalformedDuration) {
  expect_one(kInstance + "preempt_delay = \"5 parsecs\"\n", 7, 17, "not a valid duration");
}

TEST(ConfigLoader, MalformedAddressAndPrefix) {
  std::string t = kInstance;
  t.replace(t.find("192.168.110.90/24"), 17, "192.168.110.300/24");
  expect_one(t, 6, 37, "'192.168.110.300/24' is not a valid address");
  t = kInstance;
  t.replace(t.find("192.168.110.90/24"), 17, "192.168.110.90/33");
  expect_one(t, 6, 37, "not a valid address or address/prefix");
}

TEST(ConfigLoader, LabelMustStartWithInterface) {
  std::string t = kInstance;
  t.replace(t.find("eth0:1"), 6, "eth1:1");
  expect_one(t, 6, 25, "label 'eth1:1' must start with the interface name 'eth0:'");
}

TEST(ConfigLoader, MixedFamiliesInInstance) {
  std::string t = kInstance;
  t.replace(t.find("} ]"), 3, "}, \"2001:db8::1/64\" ]");
  expect_one(t, 6, 78, "mixes address families");
}

TEST(ConfigLoader, DuplicateVridOnOneInterface) {
  std::string second = kInstance;
  second.replace(second.find("VI_1"), 4, "VI_2");
  second.replace(second.find("192.168.110.90"), 14, "192.168.110.91");
  second.replace(second.find("eth0:1"), 6, "eth0:2");
  expect_one(kInstance + "\n" + second, 8, 1,
             "virtual_router_id 51 on eth0 is already used by instance 'VI_1'");
}

TEST(ConfigLoader, SameVridOtherInterfaceIsFine) {
  std::string second = kInstance;
  second.replace(second.find("VI_1"), 4, "VI_2");
  second.replace(second.find("\"eth0\""), 6, "\"eth1\"");
  second.replace(second.find("eth0:1"), 6, "eth1:1");
  EXPECT_TRUE(load_string(kInstance + second, "t").ok());
}

TEST(ConfigLoader, DuplicateInstanceName) {
  std::string second = kInstance;
  second.replace(second.find("= 51"), 4, "= 52");
  expect_one(kInstance + second, 7, 1, "duplicate vrrp_instance name 'VI_1'");
}

const std::string kVs = R"([[virtual_server]]
address = "192.168.110.90"
port = 80
scheduler = "wrr"
forwarding = "nat"

  [[virtual_server.real_server]]
  address = "10.0.0.11"
  port = 8080
  weight = 3
  check = { type = "http", path = "/health", interval = "1s", timeout = "500ms", rise = 2, fall = 3 }
)";

TEST(ConfigLoader, VirtualServerValid) {
  auto r = load_string(kVs, "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  auto& vs = r.config->virtual_servers.at(0);
  EXPECT_EQ(vs.key(), "tcp 192.168.110.90:80");
  ASSERT_EQ(vs.real_servers.size(), 1u);
  EXPECT_EQ(vs.real_servers[0].weight, 3);
  ASSERT_TRUE(vs.real_servers[0].check);
  EXPECT_EQ(vs.real_servers[0].check->rise, 2);
  EXPECT_EQ(vs.real_servers[0].check->timeout, Millis(500));
}

TEST(ConfigLoader, DuplicateVirtualServer) {
  expect_one(kVs + "\n" + kVs, 13, 1, "duplicate virtual server tcp 192.168.110.90:80");
}

TEST(ConfigLoader, RealServerFamilyMustMatch) {
  std::string t = kVs;
  t.replace(t.find("10.0.0.11"), 9, "2001:db8::11");
  expect_one(t, 8, 13, "not in the virtual server's address family");
}

TEST(ConfigLoader, UnknownScheduler) {
  std::string t = kVs;
  t.replace(t.find("\"wrr\""), 5, "\"wrrr\"");
  expect_one(t, 4, 13, "'scheduler' must be one of");
}

TEST(ConfigLoader, DrCannotRemapPort) {
  std::string t = kVs;
  t.replace(t.find("\"nat\""), 5, "\"dr\"");
  expect_one(t, 9, 10, "dr forwarding cannot change the port (80 -> 8080)");
}

TEST(ConfigLoader, CheckKeysBelongToTheirType) {
  std::string t = kVs;
  t.replace(t.find("type = \"http\""), 13, "type = \"tcp\"");
  expect_one(t, 11, 34, "'path' applies only to http and https checks");
}

std::string with_check(const std::string& check) {
  std::string t = kVs;
  size_t at = t.find("check = {");
  return t.substr(0, at) + "check = " + check + "\n";
}

TEST(ConfigLoader, KeepaliveIsForHttpChecksAndOffByDefault) {
  auto r = load_string(with_check(R"({ type = "http" })"), "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_FALSE(r.config->virtual_servers[0].real_servers[0].check->keepalive);
  r = load_string(with_check(R"({ type = "https", keepalive = true })"), "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_TRUE(r.config->virtual_servers[0].real_servers[0].check->keepalive);
  EXPECT_TRUE(config::to_check_spec(*r.config->virtual_servers[0].real_servers[0].check,
                                    *IpAddress::parse("10.0.0.11"), 80)
                  .keepalive);
  r = load_string(with_check(R"({ type = "tcp", keepalive = true })"), "t");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("'keepalive' applies only to http and https checks"),
            std::string::npos)
      << r.errors[0].str();
}

TEST(ConfigLoader, TcpChecksAreHalfOpenUnlessTheyTalk) {
  auto r = load_string(with_check(R"({ type = "tcp" })"), "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_TRUE(r.config->virtual_servers[0].real_servers[0].check->half_open);
  r = load_string(with_check(R"({ type = "tcp", send = "PING", expect = "+PONG" })"), "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_FALSE(r.config->virtual_servers[0].real_servers[0].check->half_open);
  r = load_string(with_check(R"({ type = "tcp", probe = "connect" })"), "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_FALSE(r.config->virtual_servers[0].real_servers[0].check->half_open);
}

// `check` accepts exactly what the probes run: the values go through the probes' own
// validators (the loader once used std::regex, which accepts patterns glibc's matcher is
// guarded against, and took hosts with blanks), each error at the value's position.
TEST(ConfigLoader, CheckValuesAreJudgedAsTheProbesJudgeThem) {
  auto at = [](const std::string& check, const std::string& token) {
    return 11 + static_cast<int>(check.find(token));  // "  check = " is 10 columns
  };
  struct Case {
    std::string check, token, what;
  } cases[] = {
      {R"({ type = "http", path = "/", body_regex = "a{300}" })", "\"a{", "interval bound over 255"},
      {R"({ type = "http", path = "/", body_regex = "(a)\\1" })", "\"(a", "back-references"},
      {R"({ type = "http", path = "/", body_regex = "a+*" })", "\"a+", "stacked repetition"},
      {R"({ type = "http", path = "/a b" })", "\"/a", "'path': path holds blanks"},
      {R"({ type = "http", path = "/", host = "a b" })", "\"a b", "'host': host holds blanks"},
      {R"({ type = "https", path = "/", host = "a#b:8443" })", "\"a#", "'host': host holds"},
      {R"({ type = "https", path = "/", sni = "a:443" })", "\"a:", "'sni': sni must be a host name"},
      {R"({ type = "http", path = "/", method = "HEAD", body_contains = "x" })", "\"HEAD",
       "method HEAD gets no body"},
      {R"({ type = "tcp", source_address = "2001:db8::1" })", "\"2001",
       "source_address is not in the family of the address it checks (10.0.0.11)"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.check);
    expect_one(with_check(c.check), 11, at(c.check, c.token), c.what);
  }
  // What no single key says but the probe refuses as a whole: reported at the check.
  expect_one(with_check(R"({ type = "tcp", send = "x", expect = ")" + std::string(70000, 'a') +
                        R"(" })"),
             11, 11, "the check of real server 10.0.0.11 cannot run: expect longer than 64 KiB");
  // And what they accept, it accepts.
  auto r = load_string(with_check(R"({ type = "http", path = "/", body_regex = "^up( [0-9]+)?$", )"
                                  R"(host = "www.example.com", method = "GET" })"),
                       "t");
  EXPECT_TRUE(r.ok()) << r.errors[0].str();
}

TEST(ConfigLoader, SynProbeCannotTalk) {
  expect_one(with_check(R"({ type = "tcp", probe = "syn", expect = "220 " })"), 11, 35,
             "probe = \"syn\" cannot send or expect bytes; use probe = \"connect\"");
  expect_one(with_check(R"({ type = "http", probe = "syn" })"), 11, 36,
             "'probe' applies only to tcp checks");
  expect_one(with_check(R"({ type = "tcp", probe = "half" })"), 11, 35, "'probe' must be one of");
}

TEST(ConfigLoader, CheckTimeoutNotAboveInterval) {
  std::string t = kVs;
  t.replace(t.find("\"500ms\""), 7, "\"2s\"");
  expect_one(t, 11, 73, "must not exceed 'interval'");
}

TEST(ConfigLoader, ReportsEveryErrorNotOnlyTheFirst) {
  std::string t =
      "[global]\nlog_level = \"loud\"\nfoo = 1\n\n" + kInstance + "priority2 = 3\n";
  auto errs = errors_of(t);
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].line, 2);
  EXPECT_EQ(errs[1].line, 3);
  EXPECT_EQ(errs[2].line, 11);
}

TEST(ConfigLoader, V2IsIpv4Only) {
  std::string t = kInstance;
  t.replace(t.find("{ address = \"192.168.110.90/24\", label = \"eth0:1\" }"), 51,
            "\"2001:db8::90/64\"");
  expect_one(t + "version = 2\n", 6, 23, "VRRP version 2 is IPv4 only");
}

TEST(ConfigLoader, AuthPassOnlyInV2) {
  expect_one(kInstance + "auth_pass = \"secret\"\n", 7, 13, "only in VRRP version 2");
}

TEST(ConfigLoader, UnicastPeersFamily) {
  expect_one(kInstance + "unicast_peers = [\"10.0.0.2\", \"fe80::2\"]\n", 7, 30,
             "unicast peer fe80::2 is not in the virtual IPs' address family");
}

// #13: a multicast instance may list the routers it takes adverts from (any on-link host can
// otherwise send a priority-0 advert, or claim a 40 s interval).
TEST(ConfigLoader, PeersAllowListForMulticast) {
  auto r = load_string(kInstance + "peers = [\"192.168.110.2\", \"192.168.110.3\"]\n", "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->vrrp_instances[0].peers,
            (std::vector<IpAddress>{*IpAddress::parse("192.168.110.2"),
                                    *IpAddress::parse("192.168.110.3")}));
  expect_one(kInstance + "peers = [\"10.0.0.2\", \"fe80::2\"]\n", 7, 22,
             "peer fe80::2 is not in the virtual IPs' address family");
  expect_one(kInstance + "peers = [\"10.0.0.2\", \"10.0.0.2\"]\n", 7, 22, "duplicate peer 10.0.0.2");
  expect_one(kInstance + "unicast_peers = [\"10.0.0.2\"]\npeers = [\"10.0.0.3\"]\n", 8, 9,
             "'peers' is for multicast instances");
}

// #13: the Master's interval is adopted only within adopt_interval_ratio (default 10) of ours.
TEST(ConfigLoader, AdoptIntervalRatio) {
  EXPECT_EQ(load_string(kInstance, "t").config->vrrp_instances[0].adopt_interval_ratio, 10);
  auto r = load_string(kInstance + "adopt_interval_ratio = 0\n", "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->vrrp_instances[0].adopt_interval_ratio, 0);
  expect_one(kInstance + "adopt_interval_ratio = 4096\n", 7, 24, "between 0 and 4095");
  expect_one(kInstance + "version = 2\nadopt_interval_ratio = 5\n", 8, 24,
             "'adopt_interval_ratio' applies to VRRP version 3 only");
}

// An instance with `n` VIPs, "2001:db8::1" ... (or 10.1.x.y): entry i on line 6 + i.
std::string many_vips(int n, bool v6, int version = 3) {
  std::string t = "[[vrrp_instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\n"
                  "virtual_router_id = 51\nversion = " + std::to_string(version) +
                  "\nvirtual_ipaddresses = [\n";
  for (int i = 1; i <= n; ++i) {
    char buf[64];
    if (v6)
      std::snprintf(buf, sizeof buf, "  \"2001:db8::%x\",\n", i);
    else
      std::snprintf(buf, sizeof buf, "  \"10.1.%d.%d\",\n", i / 256, i % 256);
    t += buf;
  }
  return t + "]\n";
}

// #13 defect 6: an advert carries at most 255 addresses (an 8-bit count) and must fit a
// 1500-byte MTU: IPv6 40 + 8 + 16n <= 1500, so 90. 300 IPv6 VIPs used to be accepted, and
// the peers' 2,048-byte receive buffers truncated the advert: both routers became MASTER.
TEST(ConfigLoader, AdvertisedAddressesMustFitOneAdvert) {
  // The error points at the first address too many: entry 91, on line 97.
  expect_one(many_vips(300, true), 97, 3, "one advert carries at most 90 (1488 bytes");
  expect_one(many_vips(91, true), 97, 3, "list the rest in 'virtual_ipaddresses_excluded'");
  EXPECT_TRUE(load_string(many_vips(90, true), "t").ok());
  // IPv4: 20 + 8 + 4 x 255 (+ 8) fits; the count is the limit.
  expect_one(many_vips(256, false), 6 + 256, 3, "at most 255 (an 8-bit count)");
  EXPECT_TRUE(load_string(many_vips(255, false), "t").ok());
  EXPECT_TRUE(load_string(many_vips(255, false, 2), "t").ok());
}

// virtual_ipaddresses_excluded: held with the VIPs, not advertised, so not counted, and of
// any family (keepalived's virtual_ipaddress_excluded).
TEST(ConfigLoader, ExcludedVipsAreNotAdvertised) {
  std::string t = many_vips(2, false);
  t += "virtual_ipaddresses_excluded = [";
  for (int i = 1; i <= 300; ++i) t += "\"2001:db8::" + std::to_string(i) + "\", ";
  t += "{ address = \"192.0.2.7/24\", label = \"eth0:7\" } ]\n";
  auto r = load_string(t, "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  auto& vi = r.config->vrrp_instances[0];
  EXPECT_EQ(vi.vips.size(), 2u);
  ASSERT_EQ(vi.excluded_vips.size(), 301u);
  EXPECT_EQ(vi.excluded_vips.back().label, "eth0:7");
  EXPECT_EQ(vi.family(), Family::v4);
  expect_one(many_vips(2, false) + "virtual_ipaddresses_excluded = [\"10.1.0.2\"]\n", 10, 33,
             "duplicate virtual IP address 10.1.0.2");
}

TEST(ConfigLoader, TrackScriptMustExist) {
  expect_one(kInstance + "track_scripts = [\"chk_haproxy\"]\n", 1, 1,
             "tracks unknown track_script 'chk_haproxy'");
}

TEST(ConfigLoader, RealServerRole) {
  auto r = load_string("[realserver]\nvips = [\"192.168.110.90\", {address = \"192.168.110.91\", mode = \"tun\"}]\n", "t");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.config->realserver);
  EXPECT_EQ(r.config->realserver->vips.size(), 2u);
  EXPECT_EQ(r.config->realserver->vips[1].mode, Forwarding::tun);
  EXPECT_EQ(r.config->realserver->arp_ignore, 1);
  EXPECT_EQ(r.config->realserver->arp_announce, 2);
}

TEST(ConfigLoader, FwmarkService) {
  auto r = load_string("[[virtual_server]]\nfwmark = 7\nfamily = \"inet6\"\nscheduler = \"sh\"\n"
                       "scheduler_flags = [\"sh-port\"]\n",
                       "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->virtual_servers[0].key(), "fwmark 7 inet6");
  EXPECT_EQ(r.config->virtual_servers[0].scheduler, ipvs::Scheduler::sh);
  EXPECT_EQ(r.config->virtual_servers[0].scheduler_flags, ipvs::kShPort);
  expect_one("[[virtual_server]]\nfwmark = 7\nscheduler = \"sh\"\nscheduler_flags = [\"mh-port\"]\n",
             4, 20, "scheduler flag 'mh-port' needs scheduler \"mh\"");
  expect_one("[[virtual_server]]\nfwmark = 7\nscheduler_flags = [\"sh-nope\"]\n", 3, 20,
             "unknown scheduler flag 'sh-nope' (sh-fallback, sh-port, mh-fallback, mh-port)");
  expect_one("[[virtual_server]]\nfwmark = 7\nscheduler_flags = [\"sh-port\"]\n", 3, 20,
             "needs scheduler \"sh\"");
}

TEST(ConfigLoader, CheckOnPortZeroNeedsConnectPort) {
  expect_one("[[virtual_server]]\nfwmark = 7\n  [[virtual_server.real_server]]\n"
             "  address = \"10.0.0.2\"\n  check = { type = \"tcp\" }\n",
             5, 11, "needs a port: set connect_port");
  EXPECT_TRUE(load_string("[[virtual_server]]\nfwmark = 7\n  [[virtual_server.real_server]]\n"
                          "  address = \"10.0.0.2\"\n  check = { type = \"tcp\", connect_port = 80 }\n",
                          "t").ok());
}

TEST(ConfigLoader, ProgramsNeedAnAbsolutePath) {
  expect_one("[[track_script]]\nname = \"x\"\ncommand = [\"pidof\", \"haproxy\"]\n", 3, 11,
             "must start with an absolute program path");
}

TEST(ConfigLoader, TrackVirtualServersMustExist) {
  expect_one(kInstance + "track_virtual_servers = [\"tcp 10.0.0.1:80\"]\n", 1, 1,
             "tracks unknown virtual server 'tcp 10.0.0.1:80'");
  auto r = load_string(kInstance + "track_virtual_servers = [{ service = \"tcp 192.168.110.90:80\", "
                       "weight = -50 }]\n\n" + kVs, "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->vrrp_instances[0].track_virtual_servers[0].weight, -50);
}

TEST(ConfigLoader, TunnelTypes) {
  std::string base = "[[virtual_server]]\naddress = \"10.0.0.1\"\nport = 80\nforwarding = \"tun\"\n"
                     "  [[virtual_server.real_server]]\n  address = \"10.0.1.1\"\n";
  auto r = load_string(base + "  tunnel_type = \"gue\"\n  tunnel_port = 6080\n  tunnel_checksum = \"remcsum\"\n", "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->virtual_servers[0].real_servers[0].tunnel,
            (ipvs::Tunnel{ipvs::TunType::gue, 6080, ipvs::kTunRemCsum}));
  expect_one(base + "  tunnel_type = \"gue\"\n", 7, 17, "a gue tunnel needs tunnel_port");
  expect_one(base + "  tunnel_type = \"gre\"\n  tunnel_checksum = \"remcsum\"\n", 8, 21,
             "remcsum is for gue tunnels only");
  std::string nat = base;
  nat.replace(nat.find("\"tun\""), 5, "\"nat\"");
  expect_one(nat + "  tunnel_type = \"gre\"\n", 5, 3, "need forwarding = \"tun\"");
}

TEST(Duration, Parse) {
  EXPECT_EQ(parse_duration("100ms"), Millis(100));
  EXPECT_EQ(parse_duration("1.5s"), Millis(1500));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_duration("3"), std::chrono::seconds(3));
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("1.2.3s"), std::nullopt);
  EXPECT_EQ(parse_duration("10 years"), std::nullopt);
}

}  // namespace
}  // namespace hd::config

namespace hd::config {
namespace {
TEST(ConfigLoader, GlobalIpvsKeys) {
  auto r = load_string(
      "[global]\nipvs_on_stop = \"remove\"\nreconcile_interval = \"2s\"\n"
      "ipvs_timeouts = { tcp = 900, tcpfin = 120, udp = 300 }\n",
      "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_TRUE(r.config->global.ipvs_remove_on_stop);
  EXPECT_EQ(r.config->global.ipvs_timeouts.tcp, std::chrono::seconds(900));
  expect_one("[global]\nipvs_timeouts = { tcp = 1.5 }\n", 2, 25, "'tcp' must be whole seconds");
  expect_one("[global]\nipvs_on_stop = \"drop\"\n", 2, 16, "must be one of keep, remove");
}

TEST(ConfigLoader, VrrpCpuAffinity) {
  auto r = load_string("[global]\nvrrp_cpu_affinity = [1, 3]\n", "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->global.vrrp_cpu_affinity, (std::vector<int>{1, 3}));
  expect_one("[global]\nvrrp_cpu_affinity = [1, -2]\n", 2, 25,
             "'vrrp_cpu_affinity' holds CPU numbers from 0 to");
}

TEST(ConfigLoader, MetricsListen) {
  auto r = load_string("[global]\nmetrics = { listen = \"[::1]:9100\" }\n", "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  ASSERT_TRUE(r.config->global.metrics);
  EXPECT_EQ(to_string(*r.config->global.metrics), "[::1]:9100");
  r = load_string("[global]\n", "t");
  EXPECT_FALSE(r.config->global.metrics) << "off unless configured";
  EXPECT_EQ(to_string(*parse_listen(":9406")), "127.0.0.1:9406");
  EXPECT_EQ(to_string(*parse_listen("0.0.0.0:80")), "0.0.0.0:80");
  for (auto bad : {"9406", "::1:9406", "[10.0.0.1]:9406", "127.0.0.1:0", "127.0.0.1:65536",
                   "127.0.0.1:x", "host:9406", "127.0.0.1:"})
    EXPECT_EQ(parse_listen(bad), std::nullopt) << bad;
  expect_one("[global]\nmetrics = { listen = \"::1:9406\" }\n", 2, 22,
             "'listen' must be ADDRESS:PORT");
  expect_one("[global]\nmetrics = { }\n", 2, 11, "missing required key 'listen' in metrics");
}

TEST(ConfigLoader, SyncDaemonNamesAnInstance) {
  expect_one("[global]\nlvs_sync_daemon = { interface = \"eth1\", vrrp_instance = \"VI_9\" }\n", 1, 1,
             "lvs_sync_daemon names unknown vrrp_instance 'VI_9'");
  auto r = load_string("[global]\nlvs_sync_daemon = { interface = \"eth1\", vrrp_instance = \"VI_1\", "
                       "sync_id = 7 }\n" + kInstance, "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  EXPECT_EQ(r.config->global.lvs_sync_daemon->sync_id, 7);
  EXPECT_EQ(r.config->global.lvs_sync_daemon->max_message, 128);  // the default: fast sync
}

// conntrackd (conntrack's connection sync, run by the operator): its config file, the
// instance whose transitions it follows, optionally its program; written back as read.
TEST(ConfigLoader, ConntrackdFollowsAnInstance) {
  expect_one("[global]\nconntrackd = { config = \"/etc/conntrackd/conntrackd.conf\", vrrp_instance = \"VI_9\" }\n",
             1, 1, "conntrackd names unknown vrrp_instance 'VI_9'");
  expect_one("[global]\nconntrackd = { config = \"conntrackd.conf\", vrrp_instance = \"VI_1\" }\n" + kInstance,
             2, 25, "absolute");
  expect_one("[global]\nconntrackd = { vrrp_instance = \"VI_1\" }\n" + kInstance, 2, 14,
             "missing required key 'config' in conntrackd");
  expect_one("[global]\nconntrackd = { config = \"/c\", vrrp_instance = \"VI_1\", binary = \"bin/ctd\" }\n" +
                 kInstance,
             2, 64, "'binary' must be an absolute path or a program name");
  auto r = load_string("[global]\nconntrackd = { config = \"/etc/conntrackd/conntrackd.conf\", vrrp_instance = "
                       "\"VI_1\" }\n" + kInstance, "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  ASSERT_TRUE(r.config->global.conntrackd);
  EXPECT_EQ(r.config->global.conntrackd->config, "/etc/conntrackd/conntrackd.conf");
  EXPECT_EQ(r.config->global.conntrackd->vrrp_instance, "VI_1");
  EXPECT_EQ(r.config->global.conntrackd->binary, "conntrackd");
  auto back = load_string(to_toml(*r.config), "t");
  ASSERT_TRUE(back.ok()) << back.errors[0].str();
  EXPECT_EQ(back.config->global.conntrackd, r.config->global.conntrackd);
}

TEST(ConfigLoader, SyncDaemonMaxMessageIsZeroOrAtLeast64Bytes) {
  const std::string head = "[global]\nlvs_sync_daemon = { interface = \"eth1\", vrrp_instance = \"VI_1\", ";
  expect_one(head + "max_message = 10 }\n" + kInstance, 2, 79,
             "'max_message' must be 0 (the kernel's size) or 64..65000 bytes");
  for (int ok : {0, 64, 1400}) {
    auto r = load_string(head + "max_message = " + std::to_string(ok) + " }\n" + kInstance, "t");
    ASSERT_TRUE(r.ok()) << r.errors[0].str();
    EXPECT_EQ(r.config->global.lvs_sync_daemon->max_message, ok);
  }
}

TEST(ConfigLoader, HandoverLingerDefaultsTo3sWithin0To60s) {
  auto r = load_string(kInstance, "t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->vrrp_instances[0].handover_linger, std::chrono::seconds(3));
  r = load_string(kInstance + "handover_linger = 0\n", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->vrrp_instances[0].handover_linger, Duration::zero());
  expect_one(kInstance + "handover_linger = \"2m\"\n", 7, 19, "must be between 0s and 60s");
}
}  // namespace
}  // namespace hd::config

namespace hd::config {
namespace {

TEST(ConfigLoader, ControlGroupsMustExistAndStateDirBeAbsolute) {
  expect_one("[global]\nadmin_group = \"hd-no-such-group\"\n", 2, 15,
             "'admin_group': no group named 'hd-no-such-group' on this host");
  expect_one("[global]\nread_group = \"\"\n", 2, 14, "no group named ''");
  expect_one("[global]\nstate_dir = \"var/lib\"\n", 2, 13, "'state_dir' must be an absolute path");
  auto r = load_string("[global]\nadmin_group = \"root\"\nread_group = \"root\"\n"
                       "state_dir = \"/srv/hd\"\n",
                       "test.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->global.admin_group, "root");
  EXPECT_EQ(r.config->global.read_group, "root");
  EXPECT_EQ(r.config->global.state_dir, "/srv/hd");
  EXPECT_EQ(group_id("root"), gid_t{0});
  EXPECT_EQ(group_id("hd-no-such-group"), std::nullopt);
}

// A large file is parsed one [[virtual_server]] at a time (loader.cpp): the config, every
// position and every error are the same as from one parse of the whole text.
std::string many_servers(int n) {
  std::string t = "[global]\nrouter_id = \"lb1\"\n\n" + kInstance + "\n";
  for (int v = 0; v < n; ++v) {
    t += "[[virtual_server]] # number " + std::to_string(v) + "\n";
    t += "address = \"10.0.0." + std::to_string(v + 1) + "\"\nport = 80\n";
    t += v % 3 ? "scheduler = \"wrr\"\n" : "scheduler = \"rr\"\n";
    if (v % 4 == 0) t += "sorry_server = { address = \"10.9.9.9\", port = 80 }\n";
    for (int r = 0; r < 3; ++r) {
      t += "\n  [[virtual_server.real_server]]\n  address = \"10.1." + std::to_string(v) + "." +
           std::to_string(r + 1) + "\"\n  port = 8080\n  weight = " + std::to_string(r + 1) + "\n";
      if (r != 1) t += "  check = { type = \"tcp\", interval = \"" + std::to_string(r + 2) + "s\" }\n";
    }
    if (v % 5 == 0)
      t += "  [[virtual_server.real_server]]\n  address = \"10.2.0." + std::to_string(v + 1) +
           "\"\n  port = 8080\n  [virtual_server.real_server.check]\n  type = \"http\"\n"
           "  path = \"/health\"\n";
    t += "\n";
  }
  return t;
}

void expect_same_both_ways(const std::string& text) {
  auto pieces = load_string(text, "big.toml", 0);
  auto whole = load_string(text, "big.toml", SIZE_MAX);
  ASSERT_EQ(all_errors(pieces.errors), all_errors(whole.errors));
  ASSERT_EQ(pieces.ok(), whole.ok());
  if (!whole.ok()) return;
  EXPECT_EQ(to_toml(*pieces.config), to_toml(*whole.config));
  ASSERT_EQ(pieces.config->virtual_servers.size(), whole.config->virtual_servers.size());
  for (size_t i = 0; i < whole.config->virtual_servers.size(); ++i) {
    auto& a = pieces.config->virtual_servers[i];
    auto& b = whole.config->virtual_servers[i];
    EXPECT_EQ(a.pos.line, b.pos.line) << i;
    EXPECT_EQ(a.pos.column, b.pos.column) << i;
    ASSERT_EQ(a.real_servers.size(), b.real_servers.size());
    for (size_t j = 0; j < b.real_servers.size(); ++j)
      EXPECT_EQ(a.real_servers[j].pos.line, b.real_servers[j].pos.line) << i << "/" << j;
  }
}

TEST(LoadInPieces, SameConfigAndPositionsAsOneParse) {
  std::string text = many_servers(40);
  expect_same_both_ways(text);
  auto r = load_string(text, "big.toml", 0);
  ASSERT_TRUE(r.ok()) << all_errors(r.errors);
  EXPECT_EQ(r.parsed_pieces, 41u);  // what comes before the servers, then one per server
  EXPECT_EQ(load_string(text, "big.toml", SIZE_MAX).parsed_pieces, 1u);
  EXPECT_EQ(load_string(text, "big.toml").parsed_pieces, 1u);  // 8 kB: below kSplitAbove
  EXPECT_EQ(r.config->virtual_servers.size(), 40u);
  EXPECT_EQ(r.config->vrrp_instances.size(), 1u);
  EXPECT_EQ(r.config->global.router_id, "lb1");
  // The 40th virtual server's header line, counted in the text.
  size_t at = text.find("[[virtual_server]] # number 39");
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
  EXPECT_EQ(r.config->virtual_servers[39].pos.line, line);
}

TEST(LoadInPieces, ErrorsInLaterServersKeepTheirLines) {
  std::string text = many_servers(12);
  size_t at = text.find("weight = 2", text.find("# number 7"));
  text.replace(at, 10, "weight = -4");
  at = text.find("port = 80\n", text.find("# number 10"));
  text.insert(at, "colour = \"red\"\n");
  int l1 = 1 + static_cast<int>(std::count(text.begin(), text.begin() + text.find("weight = -4"), '\n'));
  auto r = load_string(text, "big.toml", 0);
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r.errors);
  EXPECT_EQ(r.errors[0].line, l1);
  EXPECT_THAT(r.errors[1].message, HasSubstr("unknown key 'colour'"));
  expect_same_both_ways(text);
}

TEST(LoadInPieces, SectionsAfterTheServersReadAsInOneParse) {
  std::string text = many_servers(6) + kInstance;  // a second VI_1: a duplicate name
  expect_same_both_ways(text);
  EXPECT_FALSE(load_string(text, "big.toml", 0).ok());
  std::string later = many_servers(6);
  later.replace(later.find("[global]\nrouter_id = \"lb1\"\n"), 26, "");
  later += "[global]\nrouter_id = \"lb9\"\n";
  expect_same_both_ways(later);
  auto r = load_string(later, "big.toml", 0);
  ASSERT_TRUE(r.ok()) << all_errors(r.errors);
  EXPECT_EQ(r.parsed_pieces, 1u);  // the pieces could not stand for the whole
  EXPECT_EQ(r.config->global.router_id, "lb9");
}

TEST(LoadInPieces, AHeaderInsideAMultiLineStringIsNotASplit) {
  std::string text = many_servers(4);
  size_t at = text.find("  path = \"/health\"\n");
  text.replace(at, 19, "  path = \"/health\"\n  body_contains = \"\"\"\n[[virtual_server]]\n\"\"\"\n");
  expect_same_both_ways(text);
  auto r = load_string(text, "big.toml", 0);
  ASSERT_TRUE(r.ok()) << all_errors(r.errors);
  EXPECT_EQ(r.parsed_pieces, 1u);
  EXPECT_EQ(r.config->virtual_servers.size(), 4u);
  EXPECT_EQ(r.config->virtual_servers[0].real_servers.back().check->body_contains,
            "[[virtual_server]]\n");
}

TEST(LoadInPieces, ASyntaxErrorInALaterServerIsReportedAsByOneParse) {
  std::string text = many_servers(8);
  size_t at = text.find("port = 8080", text.find("# number 6"));
  text.replace(at, 11, "port = = 8080");
  expect_same_both_ways(text);
  auto r = load_string(text, "big.toml", 0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line,
            1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n')));
}

TEST(LoadInPieces, TheSameCheckIsOneObject) {
  auto r = load_string(many_servers(10), "big.toml", 0);
  ASSERT_TRUE(r.ok());
  auto& a = r.config->virtual_servers[1].real_servers[0].check;
  auto& b = r.config->virtual_servers[8].real_servers[0].check;
  EXPECT_TRUE(a.same_object(b));
  EXPECT_FALSE(a.same_object(r.config->virtual_servers[8].real_servers[2].check));
}

}  // namespace
}  // namespace hd::config
