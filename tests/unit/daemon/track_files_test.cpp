// SPDX-License-Identifier: GPL-2.0-or-later
// Track files on real files in a temporary directory (inotify on a Loop): a write seen
// when its writer closes the file, a rename onto it, a removal; a bad write keeps the last
// value. (What a file's text reads as: checkers/file_check_test.cpp.)
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/loop.h"
#include "daemon/track_files.h"

namespace hd {
namespace {

class TrackFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hd-trackfiles-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name), std::ios::trunc) << text;  // closed here: IN_CLOSE_WRITE
  }
  config::TrackFile file(const std::string& name, const std::string& file_name) {
    config::TrackFile f;
    f.name = name;
    f.path = path(file_name);
    return f;
  }
  // Runs the loop until `done()`, or 2 s pass.
  template <typename F>
  void run_until_true(F done) {
    for (int i = 0; i < 200 && !done(); ++i) {
      loop_.run_nowait();
      if (!done()) ::usleep(10000);
    }
  }
  void run_until(int n) { run_until_true([&] { return changes_ >= n; }); }
  // Runs the loop for `turns` turns 10 ms apart, whatever happens.
  void spin(int turns) {
    for (int i = 0; i < turns; ++i) loop_.run_nowait(), ::usleep(10000);
  }
  void run_until_errors(const TrackFiles& files, const std::string& name, uint64_t n) {
    run_until_true([&] { return files.states().at(name).errors >= n; });
  }
  Loop loop_;
  std::string dir_;
  int changes_ = 0;
};

TEST_F(TrackFilesTest, ReadsAtConfigureAndAgainWhenTheWriterClosesTheFile) {
  write("maint", "3\n");
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({file("maint", "maint")}), "");
  EXPECT_EQ(files.values().at("maint"), 3);
  EXPECT_FALSE(files.states().at("maint").missing);
  write("maint", "0\n");
  run_until(1);
  EXPECT_EQ(changes_, 1);
  EXPECT_EQ(files.values().at("maint"), 0);
  // The same value again changes nothing.
  write("maint", "0\n");
  run_until(2);
  EXPECT_EQ(changes_, 1);
  EXPECT_EQ(files.states().at("maint").reads, 3u);
}

TEST_F(TrackFilesTest, ARenameOntoItAndARemovalAreSeen) {
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({file("maint", "maint")}), "");
  EXPECT_EQ(files.values().at("maint"), 0);
  EXPECT_TRUE(files.states().at("maint").missing);
  write("maint.tmp", "-5");
  ASSERT_EQ(::rename(path("maint.tmp").c_str(), path("maint").c_str()), 0);
  run_until(1);
  EXPECT_EQ(files.values().at("maint"), -5);
  ASSERT_EQ(::unlink(path("maint").c_str()), 0);
  run_until(2);
  EXPECT_EQ(files.values().at("maint"), 0);
  EXPECT_TRUE(files.states().at("maint").missing);
  // Other files in the directory are not reported.
  write("other", "9");
  run_until(3);
  EXPECT_EQ(changes_, 2);
}

TEST_F(TrackFilesTest, ABadWriteKeepsTheLastValueAndShowsTheError) {
  write("maint", "1");
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({file("maint", "maint")}), "");
  write("maint", "yes please");
  run_until_errors(files, "maint", 1);
  EXPECT_EQ(files.values().at("maint"), 1);
  EXPECT_EQ(files.states().at("maint").error, "'yes please' is not an integer");
  EXPECT_EQ(files.states().at("maint").errors, 1u);
  EXPECT_EQ(changes_, 0);
  write("maint", "0");
  run_until(1);
  EXPECT_EQ(files.values().at("maint"), 0);
  EXPECT_EQ(files.states().at("maint").error, "");
}

TEST_F(TrackFilesTest, InitWritesAMissingFileAndOverwritesOnlyWhenAsked) {
  auto a = file("a", "a");
  a.init = 4;
  auto b = file("b", "b");
  b.init = 6;
  auto c = file("c", "c");
  c.init = 8;
  c.init_overwrite = true;
  write("b", "1");
  write("c", "1");
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({a, b, c}), "");
  EXPECT_EQ(files.values().at("a"), 4);
  EXPECT_EQ(files.values().at("b"), 1);
  EXPECT_EQ(files.values().at("c"), 8);
  // A reload that keeps them does not write init again.
  write("c", "2");
  run_until(1);
  ASSERT_EQ(files.configure({a, b, c}), "");
  EXPECT_EQ(files.values().at("c"), 2);
}

TEST_F(TrackFilesTest, TwoSpellingsOfOneDirectoryAreBothWatched) {
  ASSERT_EQ(::mkdir(path("real").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(path("real").c_str(), path("link").c_str()), 0);
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({file("a", "real/a"), file("b", "link/b")}), "");
  write("link/b", "7");
  run_until(1);
  EXPECT_EQ(files.values().at("b"), 7);
  write("real/a", "3");
  run_until(2);
  EXPECT_EQ(files.values().at("a"), 3);
}

TEST_F(TrackFilesTest, AReloadKeepsTheStateOfAFileItStillWatches) {
  write("maint", "4");
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({file("maint", "maint")}), "");
  write("maint", "junk");
  run_until_errors(files, "maint", 1);
  ASSERT_EQ(files.states().at("maint").errors, 1u);
  // The reload reads it again: still junk, so the value read last (4) stays, and the
  // counters go on; a renamed track_file on the same path is the same file.
  ASSERT_EQ(files.configure({file("renamed", "maint")}), "");
  EXPECT_EQ(files.values().at("renamed"), 4);
  EXPECT_EQ(files.states().at("renamed").errors, 2u);
  auto again = file("renamed", "maint");
  again.init = 0;
  again.init_overwrite = true;
  ASSERT_EQ(files.configure({again}), "");  // a path watched already: init is not written
  EXPECT_EQ(files.values().at("renamed"), 4);
}

// A watched directory removed reads its files as missing; made again (here two levels, one
// mkdir at a time, the loop running between them), it is watched again with no reload.
TEST_F(TrackFilesTest, ARemovedDirectoryIsWatchedAgainOnceMadeAgain) {
  namespace fs = std::filesystem;
  fs::create_directories(path("a/b"));
  write("a/b/maint", "3");
  write("other", "1");
  TrackFiles files(loop_, [&] { ++changes_; });
  config::TrackFile deep = file("maint", "a/b/maint");
  ASSERT_EQ(files.configure({deep, file("other", "other"), file("late", "late")}), "");
  EXPECT_EQ(files.values().at("maint"), 3);
  fs::remove_all(path("a"));
  run_until(1);
  EXPECT_EQ(files.values().at("maint"), 0);
  EXPECT_TRUE(files.states().at("maint").missing);
  // A reload meanwhile (for another reason) is no error: the directory stays awaited.
  EXPECT_EQ(files.configure({deep, file("other", "other"), file("late", "late")}), "");
  ASSERT_EQ(::mkdir(path("a").c_str(), 0755), 0);
  spin(5);
  ASSERT_EQ(::mkdir(path("a/b").c_str(), 0755), 0);
  spin(5);
  write("a/b/maint", "7");
  run_until_true([&] { return files.values().at("maint") == 7; });
  EXPECT_EQ(files.values().at("maint"), 7);
  EXPECT_FALSE(files.states().at("maint").missing);
  // The directory's other file and the one beside it keep being watched.
  write("other", "2");
  run_until_true([&] { return files.values().at("other") == 2; });
  EXPECT_EQ(files.values().at("other"), 2);
  // The test directory was an ancestor awaited (its inode's watch gained IN_CREATE): a file
  // made there is still read only when its writer closes it, never half-written.
  FILE* late = std::fopen(path("late").c_str(), "w");
  ASSERT_NE(late, nullptr);
  spin(10);
  EXPECT_TRUE(files.states().at("late").missing);
  std::fputs("4", late);
  std::fclose(late);
  run_until_true([&] { return files.values().at("late") == 4; });
  EXPECT_EQ(files.values().at("late"), 4);
  // Renamed away and another made in its place, all at once: the new one is watched.
  // (A rename of an ancestor is not seen: inotify tells a directory's watch nothing of it.)
  fs::rename(path("a/b"), path("a/b-old"));
  fs::create_directories(path("a/b"));
  write("a/b/maint", "9");
  run_until_true([&] { return files.values().at("maint") == 9; });
  EXPECT_EQ(files.values().at("maint"), 9);
  write("a/b-old/maint", "11");  // the old one is not
  spin(10);
  EXPECT_EQ(files.values().at("maint"), 9);
}

TEST_F(TrackFilesTest, ADirectoryThatCannotBeWatchedIsAnErrorAndChangesNothing) {
  write("maint", "2");
  TrackFiles files(loop_, [&] { ++changes_; });
  ASSERT_EQ(files.configure({file("maint", "maint")}), "");
  config::TrackFile gone;
  gone.name = "gone";
  gone.path = dir_ + "/no-such-dir/file";
  auto err = files.configure({file("maint", "maint"), gone});
  EXPECT_EQ(err, "track_file 'gone': " + dir_ +
                     "/no-such-dir: cannot watch the directory: No such file or directory");
  EXPECT_EQ(files.states().count("gone"), 0u);
  // The old set still works.
  write("maint", "0");
  run_until(1);
  EXPECT_EQ(files.values().at("maint"), 0);
}

}  // namespace
}  // namespace hd
