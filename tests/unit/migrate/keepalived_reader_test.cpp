// SPDX-License-Identifier: GPL-2.0-or-later
// keepalived.conf read as keepalived 2.2.7 reads it. Each expectation is what `keepalived -t`
// did with the same input (probe files, session 8; docs/plans/issue15-importer.md).
#include "migrate/keepalived_reader.h"
#include "migrate/map_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace hd::migrate::keepalived {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Words = std::vector<std::string>;

std::vector<Words> words_of(const ReadResult& r) {
  std::vector<Words> out;
  for (auto& l : r.lines) out.push_back(l.words);
  return out;
}

ReadResult read_it(std::string_view text, const std::string& config_id = "lb1") {
  MapFiles f;
  return read_text("/etc/keepalived/keepalived.conf", text, f, ReadOptions{config_id});
}

TEST(KeepalivedReader, CommentsStartAnywhereOutsideDoubleQuotes) {
  auto r = read_it("auth_pass Test123!\npriority 100#x\n# whole line\n! another\n"
                   "notify \"/bin/a #b !c\"\nk 'a#b'\nk \\#x\n");
  EXPECT_THAT(words_of(r), ElementsAre(Words{"auth_pass", "Test123"}, Words{"priority", "100"},
                                       Words{"notify", "/bin/a #b !c"}, Words{"k", "'a"},
                                       Words{"k", "#x"}));
}

TEST(KeepalivedReader, BracesAreLinesOfTheirOwnWhereverTheyStand) {
  auto r = read_it("vrrp_instance X { state MASTER }\nvirtual_server 10.0.0.1 80{\n}\n"
                   "track {a b}\nk \"{not a brace}\"\n");
  EXPECT_THAT(words_of(r),
              ElementsAre(Words{"vrrp_instance", "X"}, Words{"{"}, Words{"state", "MASTER"},
                          Words{"}"}, Words{"virtual_server", "10.0.0.1", "80"}, Words{"{"},
                          Words{"}"}, Words{"track"}, Words{"{"}, Words{"a", "b"}, Words{"}"},
                          Words{"k", "{not a brace}"}));
}

TEST(KeepalivedReader, QuotesMakeOneWordAndAQuoteInsideAWordEndsIt) {
  auto r = read_it("script \"/bin/sh -c 'x y'\"\nk abc\"d e\"\nk \"open\n");
  EXPECT_THAT(words_of(r), ElementsAre(Words{"script", "/bin/sh -c 'x y'"},
                                       Words{"k", "abc", "d e"}, Words{"k"}));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].str(),
            "/etc/keepalived/keepalived.conf:3: warning: unterminated quote: the rest of the "
            "line is dropped");
}

TEST(KeepalivedReader, ConditionalLinesFollowTheConfigId) {
  const char* text = "@low priority 50\n@high priority 150\n@^low k not-low\n@low\n";
  EXPECT_THAT(words_of(read_it(text, "low")), ElementsAre(Words{"priority", "50"}));
  EXPECT_THAT(words_of(read_it(text, "high")),
              ElementsAre(Words{"priority", "150"}, Words{"k", "not-low"}));
}

TEST(KeepalivedReader, DefinitionsAreUsedAsTheyStandWhenUsed) {
  auto r = read_it("$IP=10.0.0.1\nvirtual_server $IP 80\n$IP=10.0.0.2\nk ${IP}:80 $UNDEF\n"
                   "$EMPTY=\nk a $EMPTY\nk $IPx\n");
  EXPECT_THAT(words_of(r), ElementsAre(Words{"virtual_server", "10.0.0.1", "80"},
                                       Words{"k", "10.0.0.2:80", "$UNDEF"}, Words{"k", "a"},
                                       Words{"k", "$IPx"}));
}

// A definition that uses itself four times would grow the line 4^16-fold over the 16 rounds
// (the fuzzer's slow input): expansion stops at 64 KiB, said once.
TEST(KeepalivedReader, SelfUsingDefinitionsStopGrowing) {
  auto r = read_it("$A=x ${A} ${A} ${A} ${A}\nk $A\n");
  // (the braces of the unexpanded ${A}s left at the cut become lines of their own)
  size_t bytes = 0;
  for (auto& l : r.lines)
    for (auto& w : l.words) bytes += w.size();
  EXPECT_LE(bytes, 64u * 1024);
  ASSERT_GE(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("expansion stopped"));
}

TEST(KeepalivedReader, AMultiLineDefinitionUsedLastSplicesItsLines) {
  auto r = read_it("$CHECK=TCP_CHECK \\\n{ \\\n# a comment\n  connect_timeout 3 \\\n}\n"
                   "real_server 10.0.0.1 80 {\n  $CHECK\n}\n");
  EXPECT_THAT(words_of(r),
              ElementsAre(Words{"real_server", "10.0.0.1", "80"}, Words{"{"},
                          Words{"TCP_CHECK"}, Words{"{"}, Words{"connect_timeout", "3"},
                          Words{"}"}, Words{"}"}));
}

// keepalived.conf(5)'s "Sequence blocks" and "List blocks", with its own examples.
TEST(KeepalivedReader, SequenceBlocksRepeatTheRestOfTheLine) {
  auto r = read_it("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n"
                   "~SEQx(SUBNET, 0x90, 0x10, 0xc0) ip_address fe80::20:${SUBNET}:1\n"
                   "~SEQ(N, 3) k $N\n~SEQ(N, 2, 0) k $N\nk $N\n");
  EXPECT_THAT(words_of(r),
              ElementsAre(Words{"ip_address", "10.0.0.1"}, Words{"ip_address", "10.0.1.1"},
                          Words{"ip_address", "10.0.2.1"}, Words{"ip_address", "10.0.3.1"},
                          Words{"ip_address", "fe80::20:90:1"}, Words{"ip_address", "fe80::20:a0:1"},
                          Words{"ip_address", "fe80::20:b0:1"}, Words{"ip_address", "fe80::20:c0:1"},
                          Words{"k", "1"}, Words{"k", "2"}, Words{"k", "3"},
                          Words{"k", "2"}, Words{"k", "1"}, Words{"k", "0"},
                          Words{"k", "$N"}));  // not defined after its block
  EXPECT_TRUE(r.diagnostics.empty());
  for (auto& l : r.lines) EXPECT_EQ(l.pos.file, "/etc/keepalived/keepalived.conf");
  EXPECT_EQ(r.lines[3].pos.line, 1);
}

TEST(KeepalivedReader, BlocksNestAndSpliceMultiLineDefinitions) {
  auto r = read_it("$VI=vrrp_instance v${IF}.${ID} { \\\n  virtual_router_id ${ID} \\\n}\n"
                   "~SEQ(IF,0,1) ~SEQ(ID,1,2) $VI\n"
                   "~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}\n"
                   "~LST(X, a, b) ~SEQx(Y, 10, 11) k $X$Y\n");
  EXPECT_THAT(words_of(r),
              ElementsAre(Words{"vrrp_instance", "v0.1"}, Words{"{"}, Words{"virtual_router_id", "1"}, Words{"}"},
                          Words{"vrrp_instance", "v0.2"}, Words{"{"}, Words{"virtual_router_id", "2"}, Words{"}"},
                          Words{"vrrp_instance", "v1.1"}, Words{"{"}, Words{"virtual_router_id", "1"}, Words{"}"},
                          Words{"vrrp_instance", "v1.2"}, Words{"{"}, Words{"virtual_router_id", "2"}, Words{"}"},
                          Words{"192.168.10.1"}, Words{"192.168.20.4"},
                          Words{"k", "$Xa"}, Words{"k", "$Xb"}, Words{"k", "$Xa"}, Words{"k", "$Xb"}));
}

TEST(KeepalivedReader, BadBlocksAreWarnedAndBoundedLikeDefinitions) {
  auto r = read_it("~SEQ(A, 1, 0, 5) k\n~SEQ(A, x) k\n~LST({A, B}, {1}) k\n~SEQZ(A) k\n"
                   "~SEQ(A, 1, 1000000) ~SEQ(B, 1, 1000000) k\n");
  EXPECT_EQ(r.lines.size(), 199999u);  // every repetition counts, the outer one too
  EXPECT_THAT(r.diagnostics,
              ElementsAre(::testing::Field(&Diagnostic::message, HasSubstr("never reaches 5")),
                          ::testing::Field(&Diagnostic::message, HasSubstr("'x' is not a number")),
                          ::testing::Field(&Diagnostic::message, HasSubstr("has 1 value(s) for 2 variable(s)")),
                          ::testing::Field(&Diagnostic::message, HasSubstr("is not a ~SEQ, ~SEQx or ~LST block")),
                          ::testing::Field(&Diagnostic::message, HasSubstr("more than 200000 repetitions"))));
  // Nesting is bounded too.
  auto deep = read_it("~LST(a,1) ~LST(b,1) ~LST(c,1) ~LST(d,1) ~LST(e,1) ~LST(f,1) ~LST(g,1) "
                      "~LST(h,1) ~LST(i,1) k\n");
  EXPECT_TRUE(deep.lines.empty());
  EXPECT_THAT(deep.diagnostics.at(0).message, HasSubstr("nested more than 8 deep"));
}

TEST(KeepalivedReader, IncludesAreRelativeToTheIncludingFileAndKeepPositions) {
  MapFiles f;
  f.files["/etc/keepalived/keepalived.conf"] = "global_defs {\n}\ninclude conf.d/*\n";
  f.files["/etc/keepalived/conf.d/a.conf"] = "vrrp_instance A {\n include ../sub.inc\n}\n";
  f.files["/etc/keepalived/sub.inc"] = "priority 100\n";
  f.files["/etc/keepalived/conf.d/b.conf"] = "include missing.conf\n";
  auto r = read("/etc/keepalived/keepalived.conf", f, ReadOptions{"lb1"});
  EXPECT_THAT(words_of(r), ElementsAre(Words{"global_defs"}, Words{"{"}, Words{"}"},
                                       Words{"vrrp_instance", "A"}, Words{"{"},
                                       Words{"priority", "100"}, Words{"}"}));
  EXPECT_EQ(r.lines[5].pos, (Pos{"/etc/keepalived/sub.inc", 1}));
  EXPECT_EQ(r.lines[3].pos, (Pos{"/etc/keepalived/conf.d/a.conf", 1}));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].str(),
              HasSubstr("conf.d/b.conf:1: warning: include missing.conf: no such file"));
}

TEST(KeepalivedReader, AFileThatIncludesItselfStops) {
  MapFiles f;
  f.files["/k/self.conf"] = "k 1\ninclude self.conf\n";
  auto r = read("/k/self.conf", f, ReadOptions{"lb1", 4});
  EXPECT_EQ(r.lines.size(), 5u);  // k 1, four times included, then refused
  EXPECT_THAT(r.diagnostics.back().message, HasSubstr("nested deeper than 4"));
}

TEST(KeepalivedReader, IncludesAreBoundedInAll) {
  MapFiles f;
  f.files["/k/twice.conf"] = "k 1\ninclude twice.conf\ninclude twice.conf\n";  // 2^depth
  auto r = read("/k/twice.conf", f, ReadOptions{"lb1", 32, 50});
  EXPECT_EQ(r.lines.size(), 51u);  // the file itself and 50 includes
  EXPECT_THAT(r.diagnostics.back().message, HasSubstr("more than 50 files included in all"));
}

TEST(KeepalivedReader, CrLfAndNoFinalNewline) {
  auto r = read_it("k 1\r\nk 2");
  EXPECT_THAT(words_of(r), ElementsAre(Words{"k", "1"}, Words{"k", "2"}));
  EXPECT_EQ(r.lines[1].pos.line, 2);
}

TEST(KeepalivedReader, TreeRecoversAsKeepalivedDoes) {
  auto r = read_it("a {\n b 1\n c {\n d\n }\n}\n}\n{\ne {\n");
  auto t = build_tree(r.lines);
  ASSERT_EQ(t.top.size(), 2u);
  EXPECT_EQ(t.top[0].keyword, "a");
  ASSERT_EQ(t.top[0].children.size(), 2u);
  EXPECT_EQ(t.top[0].children[1].keyword, "c");
  EXPECT_TRUE(t.top[0].children[1].block);
  EXPECT_THAT(t.top[0].children[1].children[0].keyword, "d");
  std::vector<std::string> said;
  for (auto& d : t.diagnostics) said.push_back(d.message);
  EXPECT_THAT(said, ElementsAre("extra '}': ignored", "unexpected '{': ignored (as keepalived does)",
                                "1 missing '}': the open blocks run to the end"));
}

// A hostile file nests blocks 100,000 deep: the tree stops at max_depth (found by the
// fuzzer as a stack overflow in everything that walks the tree), keeps every line, and the
// braces past the limit pair up with each other, not with the blocks above.
TEST(KeepalivedReader, TreeDepthIsBounded) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "a {\n";
  for (int i = 0; i < 100000; ++i) text += "}\n";
  text += "after\n";
  auto t = build_tree(read_it(text).lines, 4);
  ASSERT_EQ(t.top.size(), 2u);
  EXPECT_EQ(t.top[1].keyword, "after");
  size_t depth = 0, lines = 0;
  for (const Node* n = &t.top[0]; n; ++depth) {
    lines += 1;
    if (n->children.empty()) break;
    lines += n->children.size() - 1;
    n = &n->children.back();
  }
  EXPECT_EQ(depth + 1, 5u);  // 4 blocks deep, the fifth level's lines all read there
  EXPECT_EQ(lines, 100000u);
  ASSERT_EQ(t.diagnostics.size(), 1u);
  EXPECT_EQ(t.diagnostics[0].message, "blocks nested deeper than 4: '{' ignored, its lines read one level up");
}

// Every sample Debian ships reads into a balanced tree with no diagnostic.
TEST(KeepalivedReader, DebianSamplesReadCleanly) {
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::is_directory(HD_KEEPALIVED_SAMPLES)) << "the keepalived package is a test dependency";
  RealFiles files;
  int read = 0;
  for (auto& e : fs::directory_iterator(HD_KEEPALIVED_SAMPLES)) {
    const std::string name = e.path().filename();
    if (!e.is_regular_file() || name.rfind("keepalived.conf", 0) != 0) continue;
    auto r = keepalived::read(e.path().string(), files, ReadOptions{"low"});
    auto t = build_tree(r.lines);
    EXPECT_TRUE(r.diagnostics.empty()) << name << ": " << r.diagnostics.front().str();
    EXPECT_TRUE(t.diagnostics.empty()) << name << ": " << t.diagnostics.front().str();
    EXPECT_FALSE(t.top.empty()) << name;
    ++read;
  }
  EXPECT_GE(read, 10);
}

}  // namespace
}  // namespace hd::migrate::keepalived
