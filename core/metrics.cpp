// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/metrics.h"

#include <charconv>
#include <cmath>

namespace hd::metrics {

namespace {
void append_escaped(std::string& out, std::string_view v) {
  if (v.find_first_of("\\\"\n") == std::string_view::npos) {  // the usual case: as is
    out.append(v);
    return;
  }
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v) || std::isinf(v)) {
    out += format_value(v);
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
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

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(counts_.size());
  uint64_t run = 0;
  for (size_t i = 0; i < counts_.size(); ++i) out[i] = run += counts_[i];
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
  return std::string(buf, r.ptr);
}

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  append_escaped(out, v);
  return out;
}

void Writer::start(std::string_view name, std::string_view type, std::string_view help) {
  family_ = name;
  out_.append("# HELP ").append(name).append(" ");
  // HELP text escapes backslash and newline only.
  for (char c : help) {
    if (c == '\\')
      out_ += "\\\\";
    else if (c == '\n')
      out_ += "\\n";
    else
      out_ += c;
  }
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
  out_.append(family_).append(suffix);
  if (labels.size() || extra) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      if (!first) out_ += ',';
      first = false;
      out_.append(l.name).append("=\"");
      append_escaped(out_, l.value);
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

void Writer::observe(std::initializer_list<Label> labels, std::span<const double> bounds,
                     std::span<const uint64_t> cumulative, double sum, uint64_t count) {
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    std::string le = format_value(bounds[i]);
    Label l{"le", le};
    line("_bucket", labels, &l, static_cast<double>(cumulative[i]));
  }
  Label inf{"le", "+Inf"};
  line("_bucket", labels, &inf, static_cast<double>(count));
  line("_sum", labels, nullptr, sum);
  line("_count", labels, nullptr, static_cast<double>(count));
}

}  // namespace hd::metrics
