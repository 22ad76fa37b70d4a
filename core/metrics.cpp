// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/metrics.h"

#include "core/memory.h"

#include <charconv>
#include <cmath>

namespace hd::metrics {

namespace {
// Backslash and newline always; the double quote too in label values (not in HELP text).
void append_escaped(std::string& out, std::string_view v, bool quote) {
  // One pass over the characters (string_view::find_first_of calls memchr once per
  // character of v: the top entry of a profile of 10,000-real-server scrapes).
  bool plain = true;
  for (char c : v)
    if (c == '\\' || c == '\n' || (quote && c == '"')) {
      plain = false;
      break;
    }
  if (plain) {
    out.append(v);  // the usual case
    return;
  }
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"' && quote)
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    // Most samples are counts and 0/1 gauges: an integer's digits cost a fraction of the
    // shortest-double search below. The same value, spelled as digits (1e15 is written out,
    // -0 is "0"), which Prometheus reads alike.
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out.append(buf, r.ptr);
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
    out.append(buf, r.ptr);
  }
}
}  // namespace

void Histogram::observe(double v) {
  ++count_;
  sum_ += v;
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (v <= bounds_[i]) {
      ++counts_[i];
      return;
    }
}

std::string format_value(double v) {
  std::string out;
  append_value(out, v);
  return out;
}

void Writer::next_chunk() {
  const bool fresh = spare_.empty();
  if (fresh) {
    out_ = std::string();
  } else {
    out_ = std::move(spare_.back());
    spare_.pop_back();
    out_.clear();
  }
  out_.reserve(kChunk + kChunk / 16);  // a line that starts below kChunk ends in here
  if (fresh) prefault(out_.data(), out_.capacity());  // its pages now, in one call
}

std::string Writer::text() const {
  std::string all;
  all.reserve(size());
  for (auto& c : full_) all += c;
  return all += out_;
}

std::string Writer::take() {
  std::vector<std::string> chunks = take_chunks();
  if (chunks.size() == 1) return std::move(chunks.front());
  std::string all;
  for (auto& c : chunks) all += c;
  return all;
}

std::vector<std::string> Writer::take_chunks() {
  std::vector<std::string> out = std::move(full_);
  if (!out_.empty()) out.push_back(std::move(out_));
  full_.clear();
  out_.clear();
  full_size_ = 0;
  return out;
}

void Writer::start(std::string_view name, std::string_view type, std::string_view help) {
  roll();
  family_ = name;
  out_.append("# HELP ").append(name).append(" ");
  append_escaped(out_, help, false);
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Writer::gauge(std::string_view name, std::string_view help) { start(name, "gauge", help); }
void Writer::counter(std::string_view name, std::string_view help) {
  start(name, "counter", help);
}
void Writer::histogram(std::string_view name, std::string_view help) {
  start(name, "histogram", help);
}

// Appends straight into the output (no temporaries): a scrape of 100,000 series is this
// function 100,000 times on the main loop.
void Writer::line(std::string_view suffix, std::initializer_list<Label> labels,
                  const Label* extra, double value) {
  roll();
  out_.append(family_).append(suffix);
  if (labels.size() || extra) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      if (!first) out_ += ',';
      first = false;
      out_.append(l.name).append("=\"");
      append_escaped(out_, l.value, true);
      out_ += '"';
    };
    for (auto& l : labels) put(l);
    if (extra) put(*extra);
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

void Writer::sample(std::initializer_list<Label> labels, double value) {
  line("", labels, nullptr, value);
}

void Writer::observe(std::initializer_list<Label> labels, const Histogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    std::string le = format_value(h.bounds()[i]);
    Label l{"le", le};
    line("_bucket", labels, &l, static_cast<double>(cumulative));
  }
  Label inf{"le", "+Inf"};
  line("_bucket", labels, &inf, static_cast<double>(h.count()));
  line("_sum", labels, nullptr, h.sum());
  line("_count", labels, nullptr, static_cast<double>(h.count()));
}

bool run_all(const Steps& steps, Writer& w) {
  for (auto& step : steps) {
    StepResult r;
    while ((r = step(w)) == StepResult::more) {
    }
    if (r == StepResult::stale) return false;
  }
  return true;
}

}  // namespace hd::metrics
