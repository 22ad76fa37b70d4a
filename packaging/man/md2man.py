#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Convert the project's man page sources (docs/*.md) to man(7) roff.

Standard library only, so building the package needs nothing beyond python3
(pandoc would pull ~190 MB into the build environment for two pages).

The Markdown subset understood is the one docs/hadirector.8.md and
docs/hadirector.toml.5.md use:

  # name(section)            first line: the page title
  ## HEADING / ### Heading   .SH / .SS
  paragraphs                 filled text; a SYNOPSIS paragraph made only of
                             lines that are each one `code` span keeps its lines
  - item / 1. item           .IP lists; indented lines continue the item, an
                             unindented line after an item ends the list
  | a | b |  tables          one .TP entry per row: first cell is the tag, the
                             "meaning"/"description" column the text, the other
                             cells "header: value" (man pages have no room for
                             wide tables, and tbl is not needed)
  ``` fenced blocks          verbatim, indented
  `code`, **bold**           bold (literal text, per man-pages(7))
  *emphasis*                 italic
  [text](url)                text <url>

Usage: md2man.py IN.md OUT [--date YYYY-MM-DD] [--source "hadirector 1.2.3"]
                           [--manual "System Administration"]
"""

from __future__ import annotations

import argparse
import re
import sys

MANUALS = {
    "1": "User Commands",
    "5": "File Formats",
    "7": "Miscellanea",
    "8": "System Administration",
}


def escape_text(s: str) -> str:
    """Escape roff specials in running text (not at line starts)."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\e")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def escape_literal(s: str) -> str:
    """Escape text that is typed as is (code): real minus signs, no hyphenation."""
    return escape_text(s).replace("-", "\\-")


INLINE = re.compile(
    r"(?P<code>`+)(?P<codetext>[^`]+?)(?P=code)"
    r"|\*\*(?P<bold>[^*]+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s][^*]*?)\*(?![\w*])"
    r"|\[(?P<ltext>[^\]]+)\]\((?P<url>[^)\s]+)\)"
)


def inline(s: str) -> str:
    out = []
    pos = 0
    for m in INLINE.finditer(s):
        out.append(escape_text(s[pos:m.start()]))
        if m.group("code"):
            code = " ".join(m.group("codetext").split())
            out.append("\\fB" + escape_literal(code) + "\\fR")
        elif m.group("bold") is not None:
            out.append("\\fB" + inline(m.group("bold")) + "\\fR")
        elif m.group("em") is not None:
            out.append("\\fI" + inline(m.group("em")) + "\\fR")
        else:
            out.append(inline(m.group("ltext")) + " <" + escape_text(m.group("url")) + ">")
        pos = m.end()
    out.append(escape_text(s[pos:]))
    return "".join(out)


def text_line(s: str) -> str:
    """Running text, maybe several source lines (inline markup may span them):
    output lines without leading blanks and never starting with a control char."""
    lines = []
    for r in inline("\n".join(x.strip() for x in s.splitlines())).split("\n"):
        r = r.strip()
        if r.startswith((".", "'")):
            r = "\\&" + r
        if r:
            lines.append(r)
    return "\n".join(lines)


def split_row(line: str) -> list[str]:
    """Split a table row on '|' outside code spans; honour '\\|'."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells, cur, in_code, i = [], [], False, 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur).strip())
    return cells


TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def heading_text(s: str) -> str:
    s = s.replace("`", "")
    return '"' + escape_text(s).replace('"', '\\(dq') + '"'


class Converter:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.out: list[str] = []
        self.section = ""

    def emit(self, *lines: str) -> None:
        for line in lines:
            # No paragraph macro right after a heading (mandoc -Tlint).
            if line == ".PP" and self.out and self.out[-1].startswith((".SH", ".SS")):
                continue
            self.out.append(line)

    def convert(self) -> list[str]:
        i = 0
        n = len(self.lines)
        while i < n:
            line = self.lines[i]
            if not line.strip():
                i += 1
                continue
            m = HEADING.match(line)
            if m:
                level, text = len(m.group(1)), m.group(2)
                if level <= 2:
                    self.section = text.strip().upper()
                    self.emit(".SH " + heading_text(text))
                else:
                    self.emit(".SS " + heading_text(text))
                i += 1
                continue
            if line.lstrip().startswith("```"):
                i = self.fenced(i)
                continue
            if line.lstrip().startswith("|") and i + 1 < n and TABLE_SEP.match(self.lines[i + 1]):
                i = self.table(i)
                continue
            if LIST_ITEM.match(line):
                i = self.list_(i)
                continue
            i = self.paragraph(i)
        return self.out

    def is_block_start(self, i: int) -> bool:
        line = self.lines[i]
        return (
            not line.strip()
            or bool(HEADING.match(line))
            or line.lstrip().startswith("```")
            or bool(LIST_ITEM.match(line))
            or (line.lstrip().startswith("|") and i + 1 < len(self.lines)
                and bool(TABLE_SEP.match(self.lines[i + 1])))
        )

    def paragraph(self, i: int) -> int:
        body = []
        while i < len(self.lines) and (not body or not self.is_block_start(i)):
            body.append(self.lines[i])
            i += 1
        self.emit(".PP")
        if self.section == "NAME":
            # whatis(1)/lexgrog(1) want "name \- description".
            text = " ".join(b.strip() for b in body)
            name, sep, desc = text.partition(" - ")
            if sep:
                self.emit(escape_text(name) + " \\- " + inline(desc))
                return i
        if self.section == "SYNOPSIS" and all(re.fullmatch(r"\s*`[^`]+`\s*", b) for b in body):
            # One command form per line.
            self.emit("\n.br\n".join(text_line(b) for b in body))
        else:
            self.emit(text_line("\n".join(body)))
        return i

    def list_(self, i: int) -> int:
        n = len(self.lines)
        while i < n:
            m = LIST_ITEM.match(self.lines[i])
            if not m:
                break
            indent, marker, first = m.groups()
            bullet = "\\(bu" if marker in "-*+" else marker
            cont = " " * (len(indent) + 2)
            paras = [[first]]
            i += 1
            while i < n:
                line = self.lines[i]
                if not line.strip():
                    # A blank line then an indented line: another paragraph of the item.
                    if i + 1 < n and self.lines[i + 1].startswith((cont, "\t")) \
                            and not LIST_ITEM.match(self.lines[i + 1]):
                        paras.append([])
                        i += 1
                        continue
                    break
                # Only indented lines continue an item (see the module docstring).
                if LIST_ITEM.match(line) or not line.startswith((" ", "\t")):
                    break
                paras[-1].append(line)
                i += 1
            self.emit(".IP %s 4" % bullet, text_line("\n".join(paras[0])))
            for p in paras[1:]:
                self.emit('.IP "" 4', text_line("\n".join(p)))
            # Blank lines: the list goes on only if another item follows.
            j = i
            while j < n and not self.lines[j].strip():
                j += 1
            if j < n and LIST_ITEM.match(self.lines[j]):
                i = j
                continue
            break
        return i

    def fenced(self, i: int) -> int:
        fence = self.lines[i].lstrip()[:3]
        i += 1
        self.emit(".PP", ".RS 4", ".nf")
        while i < len(self.lines) and not self.lines[i].lstrip().startswith(fence):
            line = escape_text(self.lines[i].rstrip("\n")).replace("-", "\\-")
            if line.startswith((".", "'")):
                line = "\\&" + line
            self.emit(line)
            i += 1
        self.emit(".fi", ".RE")
        return i + 1

    def table(self, i: int) -> int:
        header = [h.strip() for h in split_row(self.lines[i])]
        i += 2
        meaning = None
        if header and header[-1].lower() in ("meaning", "description"):
            meaning = len(header) - 1
        while i < len(self.lines) and self.lines[i].lstrip().startswith("|"):
            cells = split_row(self.lines[i])
            cells += [""] * (len(header) - len(cells))
            self.emit(".TP", text_line(cells[0]) if cells[0] else "\\&")
            attrs = []
            for k in range(1, len(header)):
                if k == meaning or not cells[k]:
                    continue
                if header[k].lower() == "default" and cells[k].lower() == "required":
                    attrs.append("\\fIrequired\\fR")
                else:
                    attrs.append("\\fI" + escape_text(header[k]) + ":\\fR " + inline(cells[k]))
            if attrs:
                self.emit(text_line_raw("; ".join(attrs)))
            if meaning is not None and cells[meaning]:
                if attrs:
                    self.emit(".br")
                self.emit(text_line(cells[meaning]))
            i += 1
        return i


def text_line_raw(r: str) -> str:
    if r.startswith((".", "'")):
        r = "\\&" + r
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--date", default="")
    ap.add_argument("--source", default="")
    ap.add_argument("--manual", default="")
    a = ap.parse_args()

    with open(a.input, encoding="utf-8") as f:
        lines = f.read().splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    m = re.match(r"^#\s+([\w.+-]+)\((\w+)\)\s*$", lines[0]) if lines else None
    if not m:
        print(f"{a.input}:1:1: error: first line must be '# name(section)'", file=sys.stderr)
        return 1
    name, section = m.group(1), m.group(2)
    manual = a.manual or MANUALS.get(section[0], "")

    out = [
        '.\\" Generated from %s by packaging/man/md2man.py; do not edit.' % a.input.split("/")[-1],
        '.TH "%s" "%s" "%s" "%s" "%s"' % (name.upper(), section, a.date, a.source, manual),
        ".nh",
        ".ad l",
    ]
    out += Converter(lines[1:]).convert()
    with open(a.output, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
