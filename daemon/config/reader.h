// SPDX-License-Identifier: GPL-2.0-or-later
// The loader's TOML reader: typed access to one table with the position of every value for
// the error, and key tracking (every key asked for is known; finish() reports the rest). The
// sections (global.cpp, vrrp.cpp, ...) read through it; sections.h names them.
#pragma once
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "core/text.h"
#include "daemon/config/loader.h"

namespace hd::config {

inline std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "nothing";
  }
}

class Ctx {
 public:
  Ctx(std::string file, std::vector<Error>& errors) : file_(std::move(file)), errors_(errors) {}
  // The file's position of a node: the loader parses a large file in pieces (loader.cpp), and
  // toml++ counts a piece's lines from 1; line_offset is the lines before the piece.
  SourcePos pos_of(const toml::source_region& r) const {
    return SourcePos{static_cast<int>(r.begin.line) + line_offset_,
                     static_cast<int>(r.begin.column)};
  }
  void set_line_offset(int lines) { line_offset_ = lines; }
  // The file's mode bits when the text came from a file (load_file), else nullopt: a key
  // written inline is refused in a file others can read.
  std::optional<unsigned> file_mode() const { return file_mode_; }
  void set_file_mode(std::optional<unsigned> m) { file_mode_ = m; }
  // Whether key files are read (load_file's Secrets).
  bool read_secrets() const { return read_secrets_; }
  void set_read_secrets(bool on) { read_secrets_ = on; }
  void error(SourcePos p, std::string message) {
    errors_.push_back(Error{file_, p.line, p.column, std::move(message)});
  }
  void error(const toml::node& n, std::string message) { error(pos_of(n.source()), message); }
  // Accepted, but said: `check` prints it, the daemon logs it.
  void warn(SourcePos p, std::string message) {
    errors_.push_back(Error{file_, p.line, p.column, std::move(message), true});
  }
  void warn(const toml::node& n, std::string message) { warn(pos_of(n.source()), message); }
  // The check as a SharedCheck, one object for every equal check loaded so far (the first
  // 64 distinct ones are remembered): 100,000 real servers with one kind of check hold one.
  SharedCheck shared(Check c) {
    for (auto& s : checks_)
      if (*s == c) return s;
    SharedCheck out(std::move(c));
    if (checks_.size() < 64) checks_.push_back(out);
    return out;
  }

 private:
  std::string file_;
  std::vector<Error>& errors_;
  int line_offset_ = 0;
  std::optional<unsigned> file_mode_;
  bool read_secrets_ = true;
  std::vector<SharedCheck> checks_;
};

// Reads one TOML table; every key it is asked for is marked as known, and
// finish() reports the rest as unknown keys.
class Table {
 public:
  Table(Ctx& ctx, const toml::table& t, std::string where)
      : ctx_(ctx), t_(t), where_(std::move(where)) {}

  SourcePos pos() const { return ctx_.pos_of(t_.source()); }
  const std::string& where() const { return where_; }
  Ctx& ctx() { return ctx_; }

  const toml::node* node(std::string_view key, bool required = false) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
    const toml::node* n = t_.get(key);
    if (!n && required) ctx_.error(pos(), "missing required key '" + std::string(key) + "' in " + where_);
    return n;
  }

  // The string at `key` (a node: its position for errors), or null: absent, or not a
  // string (then an error says so).
  const toml::value<std::string>* string_node(std::string_view key, bool required) {
    auto* n = node(key, required);
    if (!n) return nullptr;
    auto* s = n->as_string();
    if (!s) wrong_type(*n, key, "a string");
    return s;
  }

  std::optional<std::string> str(std::string_view key, bool required = false) {
    if (auto* s = string_node(key, required)) return s->get();
    return std::nullopt;
  }

  std::optional<int64_t> integer(std::string_view key, int64_t lo, int64_t hi,
                                 bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    return check_int(*n, key, lo, hi);
  }

  std::optional<int64_t> check_int(const toml::node& n, std::string_view key, int64_t lo,
                                   int64_t hi) {
    auto* i = n.as_integer();
    if (!i) {
      wrong_type(n, key, "an integer");
      return std::nullopt;
    }
    int64_t v = i->get();
    if (v < lo || v > hi) {
      ctx_.error(n, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                        std::to_string(hi) + ", not " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(std::string_view key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    if (auto* b = n->as_boolean()) return b->get();
    wrong_type(*n, key, "a boolean");
    return std::nullopt;
  }

  // A number of seconds, or a string with a unit: "100ms", "1.5s", "2m".
  std::optional<Duration> duration(std::string_view key, Duration lo, Duration hi,
                                   bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    std::optional<Duration> d;
    if (auto* i = n->as_integer()) {
      if (i->get() >= 0 && i->get() < 1000000000) d = std::chrono::seconds(i->get());
    } else if (auto* f = n->as_floating_point()) {
      double v = f->get();
      if (std::isfinite(v) && v >= 0 && v < 1e9)
        d = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(v));
    } else if (auto* s = n->as_string()) {
      d = parse_duration(s->get());
    } else {
      wrong_type(*n, key, "a duration (seconds, or a string such as \"100ms\", \"2s\", \"1m\")");
      return std::nullopt;
    }
    if (!d) {
      ctx_.error(*n, "'" + std::string(key) +
                         "' is not a valid duration (use seconds, or \"100ms\", \"2s\", \"1m\")");
      return std::nullopt;
    }
    if (*d < lo || *d > hi) {
      ctx_.error(*n, "'" + std::string(key) + "' must be between " + fmt(lo) + " and " + fmt(hi));
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::string> choice(std::string_view key, const std::set<std::string>& allowed,
                                    bool required = false) {
    auto* s = string_node(key, required);
    if (!s) return std::nullopt;
    if (!allowed.count(s->get())) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      ctx_.error(*s, "'" + std::string(key) + "' must be one of " + list + ", not \"" + s->get() +
                         "\"");
      return std::nullopt;
    }
    return s->get();
  }

  // A string that is an absolute path to a file (is_absolute_file_path).
  std::optional<std::string> file_path(std::string_view key, bool required = false) {
    auto* s = string_node(key, required);
    if (!s) return std::nullopt;
    if (!is_absolute_file_path(s->get())) {
      ctx_.error(*s, "'" + std::string(key) + "' must be an absolute path to a file, not '" + s->get() + "'");
      return std::nullopt;
    }
    return s->get();
  }

  std::optional<IpAddress> address(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    return check_address(*n, key);
  }

  std::optional<IpAddress> check_address(const toml::node& n, std::string_view key) {
    auto* s = n.as_string();
    if (!s) {
      wrong_type(n, key, "a string holding an IP address");
      return std::nullopt;
    }
    auto a = IpAddress::parse(s->get());
    if (!a) ctx_.error(n, "'" + s->get() + "' is not a valid IPv4 or IPv6 address");
    return a;
  }

  // A string, or an array of strings (argv for a program run without a shell). The program
  // is an absolute path: nothing searches PATH, and a relative name is a trap in a daemon.
  std::optional<std::vector<std::string>> argv(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return std::nullopt;
    std::optional<std::vector<std::string>> v;
    if (auto* s = n->as_string()) {
      if (s->get().empty()) {
        ctx_.error(*n, "'" + std::string(key) + "' must not be empty");
        return std::nullopt;
      }
      v = std::vector<std::string>{s->get()};
    } else {
      v = strings(*n, key, /*non_empty=*/true);
    }
    if (v && (v->front().empty() || v->front()[0] != '/')) {
      ctx_.error(*n, "'" + std::string(key) + "' must start with an absolute program path (no "
                     "shell runs it), not \"" + v->front() + "\"");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::vector<std::string>> string_list(std::string_view key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    return strings(*n, key, false);
  }

  std::optional<std::vector<std::string>> strings(const toml::node& n, std::string_view key,
                                                  bool non_empty) {
    auto* a = n.as_array();
    if (!a) {
      wrong_type(n, key, "an array of strings");
      return std::nullopt;
    }
    if (non_empty && a->empty()) {
      ctx_.error(n, "'" + std::string(key) + "' must not be empty");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (auto& e : *a) {
      if (auto* s = e.as_string())
        out.push_back(s->get());
      else {
        wrong_type(e, key, "a string");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  const toml::table* subtable(std::string_view key) {
    auto* n = node(key);
    if (!n) return nullptr;
    if (auto* t = n->as_table()) return t;
    wrong_type(*n, key, "a table");
    return nullptr;
  }

  const toml::array* array(std::string_view key, bool required = false) {
    auto* n = node(key, required);
    if (!n) return nullptr;
    if (auto* a = n->as_array()) return a;
    wrong_type(*n, key, "an array");
    return nullptr;
  }

  void finish() {
    for (auto&& [k, v] : t_) {
      if (std::find(known_.begin(), known_.end(), k.str()) == known_.end())
        ctx_.error(ctx_.pos_of(k.source()), "unknown key '" + std::string(k.str()) + "' in " + where_);
    }
  }

  void wrong_type(const toml::node& n, std::string_view key, const std::string& want) {
    ctx_.error(n, "'" + std::string(key) + "' must be " + want + ", not " + type_name(n));
  }

  static std::string fmt(Duration d) {
    auto ms = std::chrono::duration_cast<Millis>(d).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
  }

 private:
  Ctx& ctx_;
  const toml::table& t_;
  std::string where_;
  // The keys asked for: a dozen at most, so a vector (a set cost a tenth of loading 100,000
  // real servers).
  std::vector<std::string> known_;
};

// Helpers to iterate a key that must be an array of tables.
template <typename F>
void each_table(Table& parent, std::string_view key, const std::string& what, F&& f) {
  auto* n = parent.node(key);
  if (!n) return;
  auto* arr = n->as_array();
  if (!arr) {
    parent.wrong_type(*n, key, "an array of tables ([[" + std::string(key) + "]])");
    return;
  }
  int idx = 0;
  for (auto& e : *arr) {
    if (auto* t = e.as_table()) {
      f(*t, idx);
    } else {
      parent.wrong_type(e, key, "a table (" + what + ")");
    }
    ++idx;
  }
}

}  // namespace hd::config
