// SPDX-License-Identifier: GPL-2.0-or-later
// Numbers in files (keepalived's track_file): what a file's text reads as, and the file
// check (keepalived's FILE_CHECK) that judges a real server by one.
//
// Reading, as keepalived does where an operator would not be surprised: a missing or empty
// file reads 0; otherwise the file holds one decimal integer (sign allowed, surrounding
// whitespace ignored) in the 32-bit range. Anything else is an error. The file is read
// with one open and small reads: it is meant to be a local file (tmpfs, /run), not a
// network mount that can stall the loop.
#pragma once
#include <string>
#include <string_view>

#include "checkers/probe.h"
#include "core/loop.h"

namespace hd::checkers {

// The number in a file's text, or an error (pure).
struct NumberText {
  long long value = 0;
  std::string error;  // "" when value holds
};
NumberText parse_number_text(std::string_view text);

// Reads and parses `path`: missing or empty -> 0 with missing set; an error (unreadable,
// not a regular file, not a number) in `error`.
struct NumberFile {
  long long value = 0;
  bool missing = false;
  std::string error;
};
NumberFile read_number_file(const std::string& path);

// The verdict on a number (pure): see Spec::file_path.
Result judge_file_value(const NumberFile& read, int file_weight, int base_weight);

// Reads the file at each run (a result the next loop turn). A file that holds no number
// is inconclusive (Reason::local_error): the server keeps its state, as keepalived keeps
// the value read last.
class FileProbe final : public Probe {
 public:
  FileProbe(Loop& loop, SpecPtr spec);
  void start(ProbeDone done) override;
  void cancel() override;
  bool running() const override { return static_cast<bool>(done_); }

 private:
  SpecPtr spec_;
  Timer next_turn_;
  ProbeDone done_;
};

}  // namespace hd::checkers
