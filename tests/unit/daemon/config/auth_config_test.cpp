// SPDX-License-Identifier: GPL-2.0-or-later
// [vrrp_instance.auth] / [global.vrrp_auth]: keys from files, credentials and inline text;
// the file permission rules; every mistake with its position; the writer's round trip.
#include "daemon/config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/config/writer.h"

namespace hd::config {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kHexA = std::string(64, 'a');  // 32 bytes of 0xaa
const std::string kHexB = std::string(128, 'b');  // 64 bytes

std::string instance(const std::string& auth, const std::string& extra = "") {
  return R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
advert_interval = "100ms"
virtual_ipaddresses = [ "192.168.110.90/24" ]
)" + extra + auth;
}

std::string errors(const LoadResult& r) {
  std::string all;
  for (auto& e : r.errors) all += e.str() + "\n";
  return all;
}

class AuthConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hd-auth-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  std::string dir_;
};

TEST_F(AuthConfigTest, KeysFromAFileACredentialAndInline) {
  std::string k1 = write("k1", kHexA + "\n", 0600);
  write("vrrp-k2", kHexB, 0400);
  setenv("CREDENTIALS_DIRECTORY", dir_.c_str(), 1);
  auto r = load_string(instance(R"([vrrp_instance.auth]
keys = [ { id = 1, secret = "file:)" + k1 + R"(" }, { id = 2, secret = "credential:vrrp-k2" },
         { id = 9, secret = "hex:)" + std::string(64, '0') + R"(" } ]
active_key = 2
mode = "permissive"
)"), "t.toml");
  unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(r.ok()) << errors(r);
  auto& a = *r.config->vrrp_instances[0].auth;
  ASSERT_EQ(a.auth.keys.size(), 3u);
  EXPECT_EQ(a.auth.keys[0].secret, Secret(std::vector<uint8_t>(32, 0xaa)));
  EXPECT_EQ(a.auth.keys[1].secret, Secret(std::vector<uint8_t>(64, 0xbb)));
  EXPECT_EQ(a.auth.keys[2].secret, Secret(std::vector<uint8_t>(32, 0)));
  EXPECT_EQ(a.auth.active_key, 2);
  EXPECT_EQ(a.auth.mode, vrrp::AuthMode::permissive);
  EXPECT_EQ(a.key_sources, (std::vector<std::string>{"file:" + k1, "credential:vrrp-k2", "hex:"}));
  // The default window: max(3 x 100 ms, 5 s).
  EXPECT_EQ(resolve_auth(a, std::chrono::milliseconds(100)).window, std::chrono::seconds(5));
  EXPECT_EQ(resolve_auth(a, std::chrono::seconds(3)).window, std::chrono::seconds(9));
}

TEST_F(AuthConfigTest, TheGlobalDefaultIsInheritedAndTheWriterKeepsItGlobal) {
  std::string k = write("k", kHexA, 0600);
  std::string text = R"([global.vrrp_auth]
keys = [ { id = 4, secret = "file:)" + k + R"(" } ]
anti_replay = "monotonic"

)" + instance("") + R"(
[[vrrp_instance]]
name = "VI_2"
interface = "eth0"
virtual_router_id = 52
virtual_ipaddresses = [ "192.168.110.91/24" ]
[vrrp_instance.auth]
keys = [ { id = 5, secret = "hex:)" + kHexB + R"(" } ]
window = "2s"
)";
  auto r = load_string(text, "t.toml");
  ASSERT_TRUE(r.ok()) << errors(r);
  auto& v1 = *r.config->vrrp_instances[0].auth;
  auto& v2 = *r.config->vrrp_instances[1].auth;
  EXPECT_TRUE(v1.inherited);
  EXPECT_EQ(v1.auth.active_key, 4) << "one key: it is the active one";
  EXPECT_EQ(v1.auth.anti_replay, vrrp::AntiReplay::monotonic);
  EXPECT_FALSE(v2.inherited);
  EXPECT_EQ(v2.auth.keys[0].id, 5);
  EXPECT_EQ(resolve_auth(v2, std::chrono::seconds(1)).window, std::chrono::seconds(2));
  // Written and read back: the same config (the inline key written inline, the file named).
  std::string again = to_toml(*r.config);
  EXPECT_THAT(again, HasSubstr("file:" + k));
  EXPECT_EQ(again.find("hex:" + kHexA), std::string::npos) << "a file's key is never written out";
  auto r2 = load_string(again, "again.toml");
  ASSERT_TRUE(r2.ok()) << errors(r2) << again;
  EXPECT_EQ(r2.config->vrrp_instances, r.config->vrrp_instances);
  EXPECT_EQ(r2.config->global, r.config->global);
}

TEST_F(AuthConfigTest, KeyFilesOthersCanReadAreRefused) {
  std::string k = write("k", kHexA, 0644);
  auto r = load_string(instance(R"([vrrp_instance.auth]
keys = [ { id = 1, secret = "file:)" + k + R"(" } ]
)"), "t.toml");
  ASSERT_EQ(r.errors.size(), 1u) << errors(r);
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_THAT(r.errors[0].message, HasSubstr("can be read or written by others"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("(mode 0644)"));
  // Whoever can write the key chooses it: a group-writable key file is refused too, and a
  // symbolic link is not followed.
  std::string gw = write("gw", kHexA, 0620);
  std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(write("target", kHexA, 0600).c_str(), link.c_str()), 0);
  for (auto [path, what] : {std::pair{gw, std::string("(mode 0620)")},
                            std::pair{link, std::string("a symbolic link")}}) {
    auto e = load_string(instance("[vrrp_instance.auth]\nkeys = [ { id = 1, secret = \"file:" + path +
                                  "\" } ]\n"), "t.toml");
    ASSERT_EQ(e.errors.size(), 1u) << errors(e);
    EXPECT_THAT(e.errors[0].message, HasSubstr(what));
  }
}

TEST_F(AuthConfigTest, AnInlineKeyInAFileOthersCanReadIsRefused) {
  std::string text = instance("[vrrp_instance.auth]\nkeys = [ { id = 1, secret = \"hex:" + kHexA + "\" } ]\n");
  std::string open = write("open.toml", text, 0644);
  auto r = load_file(open);
  ASSERT_EQ(r.errors.size(), 1u) << errors(r);
  EXPECT_EQ(r.errors[0].file, open);
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_THAT(r.errors[0].message, HasSubstr("an inline key ('hex:') in a file others can read"));
  std::string closed = write("closed.toml", text, 0640);
  EXPECT_TRUE(load_file(closed).ok()) << errors(load_file(closed));
}

TEST_F(AuthConfigTest, EveryMistakeIsNamedWhereItIs) {
  std::string k = write("k", "not hex\n", 0600);
  std::string shortk = write("short", std::string(62, 'a'), 0600);
  struct Case {
    std::string auth;
    int line;
    std::string what;
  };
  std::vector<Case> cases = {
      {"keys = []\n", 8, "at least one key"},
      {"keys = [ { id = 0, secret = \"hex:" + kHexA + "\" } ]\n", 8, "'id' must be between 1 and 255"},
      {"keys = [ { id = 1, secret = \"plain\" } ]\n", 8, "\"hex:<64 to 128 hex digits>\""},
      {"keys = [ { id = 1, secret = \"file:" + k + "\" } ]\n", 8, "is not hex text"},
      {"keys = [ { id = 1, secret = \"file:" + shortk + "\" } ]\n", 8, "holds 31 bytes"},
      {"keys = [ { id = 1, secret = \"file:" + dir_ + "/none\" } ]\n", 8, "No such file"},
      {"keys = [ { id = 1, secret = \"credential:x\" } ]\n", 8, "$CREDENTIALS_DIRECTORY is not set"},
      {"keys = [ { id = 1, secret = \"hex:" + kHexA + "\" }, { id = 1, secret = \"hex:" + kHexA +
           "\" } ]\n", 8, "key id 1 is given twice"},
      {"keys = [ { id = 1, secret = \"hex:" + kHexA + "\" }, { id = 2, secret = \"hex:" + kHexA +
           "\" } ]\n", 7, "'active_key' is needed"},
      {"keys = [ { id = 1, secret = \"hex:" + kHexA + "\" } ]\nactive_key = 3\n", 9,
       "'active_key' 3 is not one of 'keys'"},
      {"keys = [ { id = 1, secret = \"hex:" + kHexA + "\" } ]\nmode = \"strict\"\n", 9,
       "'mode' must be one of enforce, permissive, receive-only"},
      {"keys = [ { id = 1, secret = \"hex:" + kHexA + "\" } ]\nanti_replay = \"monotonic\"\nwindow = \"1s\"\n",
       10, "'window' applies to anti_replay = \"time\" only"},
      {"keys = [ { id = 1, secret = \"hex:" + kHexA + "\" } ]\nsalt = 1\n", 9, "salt"},
  };
  unsetenv("CREDENTIALS_DIRECTORY");
  for (auto& c : cases) {
    auto r = load_string(instance("[vrrp_instance.auth]\n" + c.auth), "t.toml");
    ASSERT_EQ(r.errors.size(), 1u) << c.auth << errors(r);
    EXPECT_EQ(r.errors[0].line, c.line) << c.auth << errors(r);
    EXPECT_THAT(r.errors[0].message, HasSubstr(c.what)) << c.auth;
    EXPECT_EQ(r.errors[0].message.find(kHexA), std::string::npos) << "no key in an error";
  }
}

// A client that only needs the control socket (reload -c, status -c) does not read keys:
// it may not be allowed to, and the daemon reads and checks them.
TEST_F(AuthConfigTest, SkippingSecretsReadsNoKeyFile) {
  unsetenv("CREDENTIALS_DIRECTORY");
  std::string text = "[global]\ncontrol_socket = \"/run/x.sock\"\n" +
                     instance("[vrrp_instance.auth]\nkeys = [ { id = 1, secret = \"file:" + dir_ +
                              "/absent\" }, { id = 2, secret = \"credential:k\" } ]\nactive_key = 1\n");
  std::string path = write("c.toml", text, 0600);
  EXPECT_EQ(load_file(path).errors.size(), 2u);
  auto r = load_file(path, Secrets::skip);
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_EQ(r.config->global.control_socket, "/run/x.sock");
}

// 89 IPv6 VIPs fit one advert, not with the 44-byte trailer (vrrp/rules.h).
TEST_F(AuthConfigTest, TheTrailerCountsAgainstTheMtu) {
  std::string vips;
  for (int i = 1; i <= 89; ++i) vips += std::string(i > 1 ? ", " : "") + "\"2001:db8::" + std::to_string(i) + "\"";
  std::string text = "[[vrrp_instance]]\nname = \"V6\"\ninterface = \"eth0\"\nvirtual_router_id = 9\n"
                     "virtual_ipaddresses = [ " + vips + " ]\n";
  EXPECT_TRUE(load_string(text, "t.toml").ok());
  auto r = load_string(text + "[vrrp_instance.auth]\nkeys = [ { id = 1, secret = \"hex:" + kHexA + "\" } ]\n",
                       "t.toml");
  ASSERT_EQ(r.errors.size(), 1u) << errors(r);
  EXPECT_THAT(r.errors[0].message, HasSubstr("with authentication one advert carries at most 88"));
}

}  // namespace
}  // namespace hd::config

namespace hd::config {
namespace {

// dataplane = "nftables" (nftables/render.h): what it cannot do yet is refused where it is
// written; what it can do loads.
TEST(NftablesDataplaneConfig, WhatItCannotDoIsRefusedAtItsPlace) {
  const std::string ok = R"([global]
dataplane = "nftables"
[[virtual_server]]
address = "10.9.0.100"
port = 80
scheduler = "wrr"
persistence_timeout = 300
persistence_netmask = 24
real_server = [ { address = "10.10.0.11", weight = 2 }, { address = "10.10.0.12" } ]
)";
  auto r = load_string(ok, "t.toml");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_EQ(r.config->global.dataplane, Dataplane::nftables);
  const std::string bad = R"([global]
dataplane = "nftables"
ipvs_timeouts = { tcp = 900 }
[[virtual_server]]
address = "10.9.0.100"
port = 80
protocol = "udp"
scheduler = "wlc"
one_packet = true
real_server = [ { address = "10.10.0.11", forwarding = "dr" } ]
)";
  auto e = load_string(bad, "t.toml");
  ASSERT_EQ(e.errors.size(), 4u) << errors(e);
  EXPECT_EQ(e.errors[0].line, 3);
  EXPECT_THAT(e.errors[0].message, HasSubstr("'ipvs_timeouts' is IPVS's"));
  EXPECT_EQ(e.errors[1].line, 4);
  EXPECT_THAT(e.errors[1].message, HasSubstr("scheduler wlc; rr, wrr, sh, dh and mh only"));
  EXPECT_EQ(e.errors[2].line, 4);
  EXPECT_THAT(e.errors[2].message, HasSubstr("one_packet"));
  EXPECT_EQ(e.errors[3].line, 10);
  EXPECT_THAT(e.errors[3].message, HasSubstr("forwarding dr; nat only"));
}

}  // namespace
}  // namespace hd::config
