// SPDX-License-Identifier: GPL-2.0-or-later
// Numbers in files: what a file's text reads as (pure, also track files'), the file check
// (keepalived's FILE_CHECK)'s verdict on a number (pure), the reading of a real file, and a
// Checker running it on a Loop.
#include "checkers/file_check.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checkers/checker.h"

namespace hd::checkers {
namespace {

TEST(NumberText, AnIntegerWithWhitespaceAroundIt) {
  EXPECT_EQ(parse_number_text("0").value, 0);
  EXPECT_EQ(parse_number_text("1\n").value, 1);
  EXPECT_EQ(parse_number_text("  -42 \r\n").value, -42);
  EXPECT_EQ(parse_number_text("+7").value, 7);
  EXPECT_EQ(parse_number_text("2147483647").value, 2147483647);
  EXPECT_EQ(parse_number_text("-2147483648").value, -2147483648LL);
  EXPECT_TRUE(parse_number_text("5\n").error.empty());
}

TEST(NumberText, EmptyReadsZero) {
  EXPECT_EQ(parse_number_text("").value, 0);
  EXPECT_TRUE(parse_number_text("").error.empty());
  EXPECT_EQ(parse_number_text(" \n\t").value, 0);
  EXPECT_TRUE(parse_number_text(" \n").error.empty());
}

TEST(NumberText, AnythingElseIsAnErrorThatQuotesIt) {
  EXPECT_EQ(parse_number_text("up").error, "'up' is not an integer");
  EXPECT_EQ(parse_number_text("1 2").error, "'1 2' is not an integer");
  EXPECT_EQ(parse_number_text("0x10").error, "'0x10' is not an integer");
  EXPECT_EQ(parse_number_text("+-1").error, "'+-1' is not an integer");
  EXPECT_EQ(parse_number_text("-").error, "'-' is not an integer");
  EXPECT_EQ(parse_number_text("1.5").error, "'1.5' is not an integer");
  EXPECT_EQ(parse_number_text("2147483648").error, "'2147483648' is out of range (a 32-bit integer)");
  EXPECT_EQ(parse_number_text("99999999999999999999999").error,
            "'99999999999999999999999' is out of range (a 32-bit integer)");
  EXPECT_EQ(parse_number_text(std::string("1\0", 2)).error, "'1?' is not an integer");
}

NumberFile reads(long long v) { return NumberFile{v, false, ""}; }

TEST(FileCheck, WeightZeroIsUpOnlyAtZero) {
  EXPECT_TRUE(judge_file_value(reads(0), 0, 5).ok());
  EXPECT_FALSE(judge_file_value(reads(0), 0, 5).weight);  // the configured weight stays
  auto r = judge_file_value(reads(3), 0, 5);
  EXPECT_EQ(r.reason, Reason::file_value);
  EXPECT_EQ(r.to_string(), "file reads 3");
  EXPECT_EQ(judge_file_value(reads(-1), 0, 5).to_string(), "file reads -1");
  NumberFile missing{0, true, ""};
  EXPECT_TRUE(judge_file_value(missing, 0, 5).ok());
}

TEST(FileCheck, AWeightMovesTheServersWeightAndBelowZeroIsDown) {
  EXPECT_EQ(judge_file_value(reads(0), 10, 100).weight, 100);
  EXPECT_EQ(judge_file_value(reads(3), 10, 100).weight, 130);
  EXPECT_EQ(judge_file_value(reads(-10), 10, 100).weight, 0);
  EXPECT_EQ(judge_file_value(reads(2), -50, 100).weight, 0);
  auto r = judge_file_value(reads(-11), 10, 100);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.to_string(), "file reads -11: weight 100 + -11 x 10 is below 0");
  EXPECT_EQ(judge_file_value(reads(2147483647), 65535, 1).weight, 65535);  // capped
}

TEST(FileCheck, AFileThatHoldsNoNumberIsInconclusive) {
  NumberFile bad{0, false, "'x' is not an integer"};
  auto r = judge_file_value(bad, 0, 1);
  EXPECT_TRUE(r.inconclusive());
  EXPECT_EQ(r.to_string(), "local error: file: 'x' is not an integer");
}

class FileCheckOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hd-filecheck-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/rs1";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  std::string dir_, path_;
};

TEST_F(FileCheckOnDisk, ReadNumberFile) {
  EXPECT_TRUE(read_number_file(path_).missing);
  EXPECT_EQ(read_number_file(path_).value, 0);
  write(" 12\n");
  EXPECT_EQ(read_number_file(path_).value, 12);
  EXPECT_FALSE(read_number_file(path_).missing);
  write("twelve");
  EXPECT_EQ(read_number_file(path_).error, "'twelve' is not an integer");
  EXPECT_EQ(read_number_file(dir_).error, "not a regular file");
}

TEST_F(FileCheckOnDisk, ACheckerTakesTheServerDownAndUpAndMovesItsWeight) {
  Loop loop;
  std::vector<Change> changes;
  Checker checker(loop, [&](const Change& c) { changes.push_back(c); });
  Target t;
  t.id = "web/10.0.0.1:80";
  t.spec.type = CheckType::file;
  t.spec.file_path = path_;
  t.spec.interval = std::chrono::milliseconds(20);
  t.spec.timeout = std::chrono::milliseconds(20);
  t.spec.initial_up = true;
  t.spec.file_base_weight = 100;
  auto run_until = [&](size_t n) {
    for (int i = 0; i < 300 && changes.size() < n; ++i) {
      loop.run_nowait();
      ::usleep(2000);
    }
  };
  write("1");
  checker.start({t});
  run_until(1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].up);
  EXPECT_EQ(changes[0].reason, "file reads 1");
  write("0");
  run_until(2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[1].up);
  // With a weight: the server's weight follows the number.
  t.spec.file_weight = 5;
  write("4");
  checker.update({t});
  run_until(3);
  ASSERT_GE(changes.size(), 3u);
  EXPECT_TRUE(changes.back().up);
  EXPECT_EQ(changes.back().weight, 120);
  checker.stop();
}

}  // namespace
}  // namespace hd::checkers
