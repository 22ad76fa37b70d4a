// SPDX-License-Identifier: GPL-2.0-or-later
// keepalived.conf's language as keepalived 2.2 reads it (lib/parser.c; docs/plans/
// issue15-importer.md lists the rules and how they were checked): comments, @conditional
// lines, $NAME definitions and their use, include with globs, braces split into lines of
// their own, quoted words. The first stage of `hadirector import-keepalived` (#15): it turns
// files into positioned lines of words, then into a tree of blocks; mapping the tree to a
// hadirector config is the next stage (not written yet). Pure apart from the Files port.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hd::migrate::keepalived {

struct Pos {
  std::string file;
  int line = 0;
  friend bool operator==(const Pos&, const Pos&) = default;
};

// One logical line: a keyword and its arguments, or a lone "{" or "}".
struct Line {
  Pos pos;
  std::vector<std::string> words;
};

// What keepalived would warn about (or what the importer reads differently), with where.
// A warning: something keepalived would have done that the importer does not carry over
// (`import-keepalived --strict` fails on any). A note: carried over, but hadirector behaves
// differently in a way the operator should know.
enum class Severity { warning, note };
struct Diagnostic {
  Pos pos;
  std::string message;
  Severity severity = Severity::warning;
  std::string str() const;  // "FILE:LINE: warning: MESSAGE" (or "note:")
};

// The file system as include sees it; tests and the fuzzer give a map.
class Files {
 public:
  virtual ~Files() = default;
  virtual std::optional<std::string> read(const std::string& path) = 0;
  // The regular, non-executable files matching a glob(3) pattern (braces too), sorted.
  virtual std::vector<std::string> glob(const std::string& pattern) = 0;
};

class RealFiles final : public Files {
 public:
  std::optional<std::string> read(const std::string& path) override;
  std::vector<std::string> glob(const std::string& pattern) override;
};

struct ReadOptions {
  // keepalived's config-id (its -i), for @id / @^id lines: by default its host name up to
  // the first dot, as keepalived takes it.
  std::string config_id;
  int max_include_depth = 32;
  // Files read in all (a file that includes itself twice would otherwise double the work
  // with every level of depth).
  int max_files = 1000;
};

struct ReadResult {
  std::vector<Line> lines;
  std::vector<Diagnostic> diagnostics;
};

ReadResult read(const std::string& path, Files& files, const ReadOptions& options);
// `text` as the contents of `name` (includes still go through `files`).
ReadResult read_text(const std::string& name, std::string_view text, Files& files,
                     const ReadOptions& options);

// A block tree: a line followed by "{" opens a block of the lines up to its "}".
struct Node {
  Pos pos;
  std::string keyword;
  std::vector<std::string> args;
  bool block = false;
  std::vector<Node> children;
};

struct Tree {
  std::vector<Node> top;
  std::vector<Diagnostic> diagnostics;  // unexpected or extra braces, missing '}'s
};

// Blocks nest at most `max_depth` deep (keepalived's own blocks go 3 deep; an unbounded
// depth would let a hostile file overflow the stack of everything that walks the tree):
// a deeper '{' and its matching '}' are ignored with a diagnostic, their lines stay at the
// level reached.
Tree build_tree(const std::vector<Line>& lines, size_t max_depth = 16);

// The host name up to its first dot (keepalived's default config-id).
std::string default_config_id();

}  // namespace hd::migrate::keepalived
