// SPDX-License-Identifier: GPL-2.0-or-later
// Bytes as text: UTF-8 validity (TOML holds nothing else) and hexadecimal, for values that
// are bytes (a udp or tcp check's payload) but travel in a config file.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace hd {

// Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool valid_utf8(std::string_view s);
// "0a1B" -> "\x0a\x1b"; blanks and ':' between byte pairs allowed ("0a 1b", "0a:1b");
// nullopt for anything else (an odd digit count, a non-hex character).
std::optional<std::string> from_hex(std::string_view hex);
std::string to_hex(std::string_view bytes);  // lower case, no separators
// "/run/x": absolute and naming a file (not ending in '/'). Track files, file checks.
inline bool is_absolute_file_path(std::string_view p) {
  return !p.empty() && p.front() == '/' && p.back() != '/';
}

}  // namespace hd
