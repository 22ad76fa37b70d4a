# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the VM tests' run.sh: require_tools TOOL... exits 77 (ctest: skipped, which CI
# fails unless allow-listed) naming the first one missing from PATH, /usr/sbin and /sbin.
require_tools() {
  local t
  for t in "$@"; do
    if ! command -v "$t" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$t && ! -x /sbin/$t ]]; then
      echo "SKIP: $t not installed (run scripts/install-deps.sh and scripts/install-vm-deps.sh)"
      exit 77
    fi
  done
}
