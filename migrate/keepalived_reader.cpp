// SPDX-License-Identifier: GPL-2.0-or-later
#include "migrate/keepalived_reader.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hd::migrate::keepalived {
namespace {

constexpr size_t kKeepalivedLineMax = 1024;  // MAXBUF: keepalived reads longer lines in pieces

bool blank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r'; }

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && blank(s[a])) ++a;
  while (b > a && blank(s[b - 1])) --b;
  return std::string(s.substr(a, b - a));
}

// '#' or '!' outside double quotes starts a comment, anywhere (even inside a word);
// "\#" and "\!" outside quotes are the characters themselves.
std::string strip_comment(std::string_view s) {
  std::string out;
  bool quote = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') quote = !quote;
    if (!quote && c == '\\' && i + 1 < s.size() && (s[i + 1] == '#' || s[i + 1] == '!')) {
      out += s[++i];
      continue;
    }
    if (!quote && (c == '#' || c == '!')) break;
    out += c;
  }
  return out;
}

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class Reader {
 public:
  Reader(Files& files, const ReadOptions& o) : files_(files), o_(o) {}

  void file(const std::string& path, std::string_view text, int depth) {
    const std::string dir = dir_of(path);
    int no = 0;
    size_t at = 0;
    while (at <= text.size()) {
      size_t nl = text.find('\n', at);
      std::string_view raw = text.substr(at, nl == std::string_view::npos ? text.size() - at : nl - at);
      at = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
      ++no;
      if (nl == std::string_view::npos && raw.empty()) break;  // no newline at the end
      while (!raw.empty() && (raw.back() == '\r' || raw.back() == '\n')) raw.remove_suffix(1);
      Pos pos{path, no};
      if (raw.size() > kKeepalivedLineMax)
        warn(pos, "line longer than " + std::to_string(kKeepalivedLineMax) +
                      " bytes: keepalived reads it as several lines; read here as one");
      line(pos, raw, dir, depth);
    }
    end_definition();
  }

  ReadResult take() { return {std::move(lines_), std::move(diags_)}; }

 private:
  void warn(const Pos& p, std::string m) { diags_.push_back({p, std::move(m)}); }

  void line(const Pos& pos, std::string_view raw, const std::string& dir, int depth) {
    if (lines_capped_) return;  // the rest is left out (said once)
    if (defining_) {
      // A multi-line definition ($NAME=\): it ends at an empty line or the first line
      // without a trailing backslash; blank and comment-only lines are skipped.
      if (raw.empty()) {
        end_definition();
        return;
      }
      std::string s = trim(strip_comment(raw));
      if (s.empty()) return;
      bool more = s.back() == '\\';
      if (more) s = trim(std::string_view(s).substr(0, s.size() - 1));
      definition_.push_back(s);
      if (!more) end_definition();
      return;
    }
    std::string s = trim(strip_comment(raw));
    if (s.empty()) return;
    if (s[0] == '@') {
      // @id LINE: only when id is the config-id; @^id LINE: only when it is not.
      bool negate = s.size() > 1 && s[1] == '^';
      size_t start = negate ? 2 : 1, end = start;
      while (end < s.size() && !blank(s[end])) ++end;
      std::string id = s.substr(start, end - start);
      std::string rest = trim(std::string_view(s).substr(end));
      if (rest.empty()) return;
      if ((id == o_.config_id) == negate) return;
      s = rest;
    }
    if (s[0] == '$' && s.size() > 1 && name_start(s[1])) {
      size_t e = 1;
      while (e < s.size() && name_char(s[e])) ++e;
      if (e < s.size() && s[e] == '=') {
        std::string name = s.substr(1, e - 1);
        std::string value = s.substr(e + 1);
        if (!value.empty() && value.back() == '\\') {
          defining_ = true;
          definition_name_ = name;
          definition_.clear();
          std::string first = trim(std::string_view(value).substr(0, value.size() - 1));
          if (!first.empty()) definition_.push_back(first);
        } else {
          defs_[name] = {value};
        }
        return;
      }
    }
    if (s.rfind("~SEQ", 0) == 0 || s.rfind("~LST", 0) == 0) {
      repeat(pos, s, dir, depth);
      return;
    }
    std::vector<std::string> extra;
    if (s.find('$') != std::string::npos) {
      s = substitute(pos, s, dir, extra);
      s = trim(strip_comment(s));
    }
    emit(pos, s, dir, depth);
    // A multi-line definition's other lines are read as lines too: their own uses expand
    // (a definition used by a ~SEQ block refers to the block's variable on each line).
    for (size_t i = 0; i < extra.size(); ++i) {
      std::string e = extra[i];
      if (e.find('$') != std::string::npos && extra.size() < 4096) {
        std::vector<std::string> more;
        e = substitute(pos, e, dir, more);
        extra.insert(extra.begin() + static_cast<long>(i) + 1, more.begin(), more.end());
      }
      emit(pos, trim(strip_comment(e)), dir, depth);
    }
  }

  // keepalived's sequence and list blocks: "~SEQ(VAR, START, STEP, END) REST" (~SEQx: the
  // value in hexadecimal) and "~LST(VAR, V1, V2...) REST" / "~LST({A, B}, {1, 2}, ...) REST":
  // REST is read once per value with $VAR (and ${VAR}) defined as it; blocks nest and may
  // follow each other on one line. The variable is undefined after the block (keepalived
  // says not to rely on it). Bounded for any input (the reader is fuzzed): blocks nest at
  // most kMaxBlockDepth deep; all blocks of a read make at most kMaxRepeats repetitions in
  // all (nested ones and failing ones counted), and a read keeps at most kMaxLines lines.
  static constexpr int kMaxRepeats = 200000;
  static constexpr int kMaxBlockDepth = 8;
  static constexpr size_t kMaxLines = 1000000;

  // "~KIND(ARGS) REST": the kind, the arguments split at top-level commas, and REST.
  struct BlockSpec {
    std::string kind;
    std::vector<std::string> args;
    std::string rest;
  };
  static std::optional<BlockSpec> block_spec(const std::string& s) {
    size_t open = s.find('(');
    if (open == std::string::npos) return std::nullopt;
    BlockSpec b;
    b.kind = s.substr(0, open);
    int depth = 0;
    std::string cur;
    for (size_t i = open + 1; i < s.size(); ++i) {
      char c = s[i];
      if (c == '{') ++depth;
      if (c == '}') --depth;
      if (depth == 0 && c == ')') {
        b.args.push_back(trim(cur));
        b.rest = trim(std::string_view(s).substr(i + 1));
        return b;
      }
      if (depth == 0 && c == ',') {
        b.args.push_back(trim(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
    return std::nullopt;  // no closing parenthesis
  }

  // "{A, B}" -> {"A", "B"}; "A" -> {"A"}.
  static std::vector<std::string> group(const std::string& a) {
    if (a.size() < 2 || a.front() != '{' || a.back() != '}') return {a};
    std::vector<std::string> out;
    std::string cur;
    for (char c : std::string_view(a).substr(1, a.size() - 2)) {
      if (c == ',') {
        out.push_back(trim(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
    out.push_back(trim(cur));
    return out;
  }

  static std::optional<long long> number(const std::string& t) {
    if (t.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(t.c_str(), &end, 0);
    if (errno != 0 || *end != '\0' || v < -(1LL << 40) || v > (1LL << 40)) return std::nullopt;
    return v;
  }

  void repeat(const Pos& pos, const std::string& s, const std::string& dir, int depth) {
    if (block_depth_ >= kMaxBlockDepth) {
      warn(pos, "~SEQ/~LST blocks nested more than " + std::to_string(kMaxBlockDepth) +
                    " deep: line skipped");
      return;
    }
    auto b = block_spec(s);
    const bool seq = b && (b->kind == "~SEQ" || b->kind == "~SEQx");
    const bool lst = b && b->kind == "~LST";
    if (!seq && !lst) {
      warn(pos, "'" + s.substr(0, std::min<size_t>(s.size(), 40)) +
                    "' is not a ~SEQ, ~SEQx or ~LST block: line skipped");
      return;
    }
    std::vector<std::string> vars;
    std::vector<std::vector<std::string>> values;  // per iteration, one per variable
    if (seq) {
      const auto& a = b->args;
      if (a.size() < 2 || a.size() > 4 || a[0].empty() || !name_start(a[0][0])) {
        warn(pos, b->kind + " needs (VAR, [START, [STEP,]] END): line skipped");
        return;
      }
      std::vector<long long> n;
      for (size_t i = 1; i < a.size(); ++i) {
        auto v = number(a[i]);
        if (!v) {
          warn(pos, b->kind + ": '" + a[i] + "' is not a number: line skipped");
          return;
        }
        n.push_back(*v);
      }
      long long end = n.back();
      long long start = n.size() >= 2 ? n[0] : (end >= 0 ? 1 : -1);
      long long step = n.size() == 3 ? n[1] : (end >= start ? 1 : -1);
      if (step == 0 || (step > 0 && start > end) || (step < 0 && start < end)) {
        warn(pos, b->kind + ": from " + std::to_string(start) + " by " + std::to_string(step) +
                      " never reaches " + std::to_string(end) + ": line skipped");
        return;
      }
      vars.push_back(a[0]);
      for (long long v = start; step > 0 ? v <= end : v >= end; v += step) {
        if (values.size() >= static_cast<size_t>(kMaxRepeats)) break;
        std::ostringstream os;
        if (b->kind == "~SEQx") os << std::hex;
        os << v;
        values.push_back({os.str()});
      }
    } else {
      if (b->args.size() < 2) {
        warn(pos, "~LST needs (VAR, VALUE...): line skipped");
        return;
      }
      vars = group(b->args[0]);
      for (size_t i = 1; i < b->args.size(); ++i) {
        auto v = group(b->args[i]);
        if (v.size() != vars.size()) {
          warn(pos, "~LST: '" + b->args[i] + "' has " + std::to_string(v.size()) + " value(s) for " +
                        std::to_string(vars.size()) + " variable(s): line skipped");
          return;
        }
        values.push_back(std::move(v));
      }
    }
    for (auto& v : vars)
      if (v.empty() || !name_start(v[0]) ||
          !std::all_of(v.begin(), v.end(), [](char c) { return name_char(c); })) {
        warn(pos, b->kind + ": '" + v + "' is not a variable name: line skipped");
        return;
      }
    ++block_depth_;
    for (auto& row : values) {
      if (repeated_ >= kMaxRepeats) {
        if (!repeat_capped_)
          warn(pos, "more than " + std::to_string(kMaxRepeats) +
                        " repetitions from ~SEQ/~LST blocks: the rest left out");
        repeat_capped_ = true;
        break;
      }
      for (size_t i = 0; i < vars.size(); ++i) defs_[vars[i]] = {row[i]};
      ++repeated_;
      line(pos, b->rest, dir, depth);
    }
    --block_depth_;
    for (auto& v : vars) defs_.erase(v);
  }

  void end_definition() {
    if (!defining_) return;
    defs_[definition_name_] = definition_;
    defining_ = false;
  }

  // ${NAME} anywhere, $NAME before a blank, ',', ')' or the end; repeated until nothing
  // changes. A multi-line value used at the end of the line: its first line there, the
  // others as lines of their own (`extra`).
  static constexpr size_t kMaxExpandedLine = 64 * 1024;
  std::string substitute(const Pos& pos, std::string s, const std::string& dir,
                         std::vector<std::string>& extra) {
    for (int round = 0; round < 16; ++round) {
      bool changed = false;
      std::string out;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '$' || i + 1 >= s.size()) {
          out += s[i];
          continue;
        }
        size_t name_at, name_end, end;
        if (s[i + 1] == '{') {
          name_at = i + 2;
          name_end = s.find('}', name_at);
          if (name_end == std::string::npos) {
            out += s[i];
            continue;
          }
          end = name_end + 1;
        } else if (name_start(s[i + 1])) {
          name_at = i + 1;
          name_end = name_at;
          while (name_end < s.size() && name_char(s[name_end])) ++name_end;
          end = name_end;
          if (end < s.size() && !blank(s[end]) && s[end] != ',' && s[end] != ')') {
            out += s[i];
            continue;
          }
        } else {
          out += s[i];
          continue;
        }
        std::string name = s.substr(name_at, name_end - name_at);
        std::optional<std::vector<std::string>> value = builtin(pos, name, dir);
        if (!value) {
          auto it = defs_.find(name);
          if (it == defs_.end()) {  // undefined: left as it is
            out += s.substr(i, end - i);
            i = end - 1;
            continue;
          }
          value = it->second;
        }
        const bool last = trim(std::string_view(s).substr(end)).empty();
        if (value->empty()) {
          // nothing
        } else if (value->size() == 1 || !last) {
          std::string joined;
          for (auto& v : *value) joined += (joined.empty() ? "" : " ") + v;
          if (value->size() > 1)
            warn(pos, "multi-line definition '" + name + "' used inside a line: joined here");
          out += joined;
        } else {
          out += value->front();
          extra.insert(extra.end(), value->begin() + 1, value->end());
        }
        changed = true;
        i = end - 1;
      }
      s = std::move(out);
      if (!changed) return s;
      if (s.size() > kMaxExpandedLine) {
        // A definition used several times in its own value doubles the line each round.
        warn(pos, "line longer than " + std::to_string(kMaxExpandedLine) +
                      " bytes while expanding definitions: expansion stopped");
        s.resize(kMaxExpandedLine);
        return s;
      }
    }
    warn(pos, "definitions still expand after 16 rounds (a definition that uses itself?)");
    return s;
  }

  std::optional<std::vector<std::string>> builtin(const Pos& pos, const std::string& name,
                                                  const std::string& dir) {
    if (name == "_PWD") return std::vector<std::string>{dir};
    if (name == "_INSTANCE") return std::vector<std::string>{o_.config_id};
    if (name == "_HASH") return std::vector<std::string>{"#"};
    if (name == "_BANG") return std::vector<std::string>{"!"};
    if (name.rfind("_RANDOM", 0) == 0) {
      warn(pos, "${_RANDOM ...}: keepalived draws a number; the importer takes the lowest");
      std::istringstream is(name.substr(7));
      std::string lo = "0";
      is >> lo;
      return std::vector<std::string>{lo};
    }
    return std::nullopt;
  }

  void emit(const Pos& pos, const std::string& s, const std::string& dir, int depth) {
    if (s.empty()) return;
    // include PATTERN (and keepalived's includer, includem, ...): the rest of the line is
    // one glob, relative to the including file's directory.
    static const char* kIncludes[] = {"include", "includer", "includem", "includew",
                                      "includeb", "includea"};
    for (const char* kw : kIncludes) {
      const size_t n = std::char_traits<char>::length(kw);
      if (s.size() > n && s.compare(0, n, kw) == 0 && blank(s[n])) {
        include(pos, trim(std::string_view(s).substr(n)), dir, depth);
        return;
      }
    }
    // Every brace outside double quotes is a line of its own.
    std::string piece;
    bool quote = false;
    for (char c : s) {
      if (c == '"') quote = !quote;
      if (!quote && (c == '{' || c == '}')) {
        words(pos, piece);
        piece.clear();
        lines_.push_back({pos, {std::string(1, c)}});
        continue;
      }
      piece += c;
    }
    words(pos, piece);
  }

  void include(const Pos& pos, const std::string& pattern, const std::string& dir, int depth) {
    if (pattern.empty()) {
      warn(pos, "include without a file");
      return;
    }
    if (depth >= o_.max_include_depth) {
      warn(pos, "include nested deeper than " + std::to_string(o_.max_include_depth) +
                    ": not followed (a file including itself?)");
      return;
    }
    const std::string full = pattern[0] == '/' ? pattern : dir + "/" + pattern;
    auto matches = files_.glob(full);
    if (matches.empty()) {
      warn(pos, "include " + pattern + ": no such file (keepalived warns and goes on)");
      return;
    }
    for (auto& m : matches) {
      if (++files_read_ > o_.max_files) {
        if (files_read_ == o_.max_files + 1)
          warn(pos, "more than " + std::to_string(o_.max_files) +
                        " files included in all: the rest not followed");
        return;
      }
      auto text = files_.read(m);
      if (!text) {
        warn(pos, "include " + m + ": cannot be read");
        continue;
      }
      file(m, *text, depth + 1);
    }
  }

  // Blanks separate words; a word starting with '"' runs to the next '"' (no escapes), and
  // a '"' inside a word ends it.
  void words(const Pos& pos, std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && blank(s[i])) ++i;
      if (i >= s.size()) break;
      if (s[i] == '"') {
        size_t close = s.find('"', i + 1);
        if (close == std::string_view::npos) {
          warn(pos, "unterminated quote: the rest of the line is dropped");
          break;
        }
        out.emplace_back(s.substr(i + 1, close - i - 1));
        i = close + 1;
        continue;
      }
      size_t e = i;
      while (e < s.size() && !blank(s[e]) && s[e] != '"') ++e;
      out.emplace_back(s.substr(i, e - i));
      i = e;
    }
    if (out.empty()) return;
    if (lines_.size() >= kMaxLines) {
      if (!lines_capped_) warn(pos, "more than " + std::to_string(kMaxLines) + " lines: the rest left out");
      lines_capped_ = true;
      return;
    }
    lines_.push_back({pos, std::move(out)});
  }

  Files& files_;
  const ReadOptions& o_;
  std::map<std::string, std::vector<std::string>> defs_;
  int repeated_ = 0;  // repetitions of ~SEQ/~LST blocks so far, in the whole read
  bool repeat_capped_ = false;
  int block_depth_ = 0;
  bool lines_capped_ = false;
  bool defining_ = false;
  std::string definition_name_;
  std::vector<std::string> definition_;
  std::vector<Line> lines_;
  std::vector<Diagnostic> diags_;
  int files_read_ = 0;
};

}  // namespace

std::string Diagnostic::str() const {
  return pos.file + ":" + std::to_string(pos.line) +
         (severity == Severity::warning ? ": warning: " : ": note: ") + message;
}

std::optional<std::string> RealFiles::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> RealFiles::glob(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), GLOB_BRACE, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      struct stat st;
      if (::stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 0111))
        out.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

ReadResult read_text(const std::string& name, std::string_view text, Files& files,
                     const ReadOptions& options) {
  Reader r(files, options);
  r.file(name, text, 0);
  return r.take();
}

ReadResult read(const std::string& path, Files& files, const ReadOptions& options) {
  auto text = files.read(path);
  if (!text) return {{}, {{Pos{path, 0}, "cannot be read"}}};
  return read_text(path, *text, files, options);
}

Tree build_tree(const std::vector<Line>& lines, size_t max_depth) {
  Tree t;
  std::vector<std::vector<Node>*> stack{&t.top};
  size_t too_deep = 0;  // '{'s ignored for depth, whose '}'s are ignored too
  for (auto& l : lines) {
    auto& level = *stack.back();
    if (l.words.size() == 1 && l.words[0] == "{") {
      if (level.empty() || level.back().block) {
        t.diagnostics.push_back({l.pos, "unexpected '{': ignored (as keepalived does)"});
        continue;
      }
      if (stack.size() > max_depth) {
        if (too_deep++ == 0)
          t.diagnostics.push_back({l.pos, "blocks nested deeper than " +
                                              std::to_string(max_depth) +
                                              ": '{' ignored, its lines read one level up"});
        continue;
      }
      level.back().block = true;
      stack.push_back(&level.back().children);
      continue;
    }
    if (l.words.size() == 1 && l.words[0] == "}") {
      if (too_deep > 0) {
        --too_deep;
        continue;
      }
      if (stack.size() == 1) {
        t.diagnostics.push_back({l.pos, "extra '}': ignored"});
        continue;
      }
      stack.pop_back();
      continue;
    }
    Node n;
    n.pos = l.pos;
    n.keyword = l.words[0];
    n.args.assign(l.words.begin() + 1, l.words.end());
    level.push_back(std::move(n));
  }
  if (stack.size() > 1)
    t.diagnostics.push_back({lines.empty() ? Pos{} : lines.back().pos,
                             std::to_string(stack.size() - 1) +
                                 " missing '}': the open blocks run to the end"});
  return t;
}

std::string default_config_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  std::string h = host;
  return h.substr(0, h.find('.'));
}

}  // namespace hd::migrate::keepalived
