// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/file_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

namespace hd::checkers {
namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40))
    out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
  return out;
}

}  // namespace

NumberText parse_number_text(std::string_view text) {
  NumberText out;
  size_t b = 0, e = text.size();
  while (b < e && space(text[b])) ++b;
  while (e > b && space(text[e - 1])) --e;
  if (b == e) return out;  // empty: 0
  std::string_view num = text.substr(b, e - b);
  std::string_view digits = num;
  if (digits.front() == '+') digits.remove_prefix(1);  // from_chars takes '-' only
  long long v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  const bool whole = p == digits.data() + digits.size();
  if (!digits.empty() && whole && (num.front() != '+' || digits.front() != '-') &&
      (ec == std::errc::result_out_of_range || (ec == std::errc{} && (v < INT32_MIN || v > INT32_MAX)))) {
    out.error = "'" + shown(num) + "' is out of range (a 32-bit integer)";
    return out;
  }
  if (ec != std::errc{} || !whole || digits.empty() || (num.front() == '+' && digits.front() == '-')) {
    out.error = "'" + shown(num) + "' is not an integer";
    return out;
  }
  out.value = v;
  return out;
}

NumberFile read_number_file(const std::string& path) {
  NumberFile out;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) out.missing = true;
    else out.error = std::string("cannot open: ") + std::strerror(errno);
    return out;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.error = "not a regular file";
    return out;
  }
  std::string text;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::string("cannot read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > 4096) {
      out.error = "longer than 4096 bytes: not a number";
      break;
    }
  }
  ::close(fd);
  if (out.error.empty()) {
    auto p = parse_number_text(text);
    out.value = p.value;
    out.error = p.error;
  }
  return out;
}

Result judge_file_value(const NumberFile& read, int file_weight, int base_weight) {
  if (!read.error.empty()) return Result::failure(Reason::local_error, 0, "file: " + read.error);
  const long long v = read.value;
  if (file_weight == 0) {
    if (v == 0) return Result::success();
    return Result::failure(Reason::file_value, static_cast<int>(v));
  }
  const long long w = base_weight + v * file_weight;  // |v| < 2^31, |file_weight| < 2^16
  if (w < 0)
    return Result::failure(Reason::file_value, static_cast<int>(v),
                           "weight " + std::to_string(base_weight) + " + " + std::to_string(v) +
                               " x " + std::to_string(file_weight) + " is below 0");
  Result r = Result::success();
  r.weight = static_cast<int>(std::min<long long>(w, 65535));  // IPVS/nftables weight range here
  return r;
}

FileProbe::FileProbe(Loop& loop, SpecPtr spec)
    : spec_(std::move(spec)), next_turn_(loop, [this] {
        auto done = std::move(done_);
        done_ = nullptr;
        done(judge_file_value(read_number_file(spec_->file_path), spec_->file_weight,
                              spec_->file_base_weight));
      }) {}

void FileProbe::start(ProbeDone done) {
  done_ = std::move(done);
  next_turn_.start(Duration::zero());  // never from inside start()
}

void FileProbe::cancel() {
  next_turn_.stop();
  done_ = nullptr;
}

}  // namespace hd::checkers
