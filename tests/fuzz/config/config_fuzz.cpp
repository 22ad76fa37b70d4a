// SPDX-License-Identifier: GPL-2.0-or-later
// Feeds arbitrary bytes to the config loader: it must never crash, hang or
// leak, and must either accept the text or report at least one positioned error.
// Differential too: the text parsed in pieces (one [[virtual_server]] at a time, as large
// files are) must give the same errors, positions included, and the same config as one
// parse of the whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config/loader.h"
#include "daemon/config/writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = hd::config::load_string(text, "fuzz.toml", SIZE_MAX);
  if (!r.ok() && r.errors.empty()) std::abort();
  for (auto& e : r.errors)
    if (e.file != "fuzz.toml" || e.message.empty()) std::abort();
  auto p = hd::config::load_string(text, "fuzz.toml", 0);
  if (p.ok() != r.ok() || p.errors.size() != r.errors.size()) std::abort();
  for (size_t i = 0; i < r.errors.size(); ++i)
    if (p.errors[i].str() != r.errors[i].str()) std::abort();
  if (r.ok() && hd::config::to_toml(*p.config) != hd::config::to_toml(*r.config)) std::abort();
  return 0;
}
