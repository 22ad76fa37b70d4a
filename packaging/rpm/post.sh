# SPDX-License-Identifier: GPL-2.0-or-later
# hadirector %post ($1 = number of versions installed after this step).
# Never enabled nor started (no preset either): see README.packaging.md.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
