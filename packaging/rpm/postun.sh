# SPDX-License-Identifier: GPL-2.0-or-later
# hadirector %postun: reload unit files; on upgrade ($1 >= 1) restart the
# daemon on the new binary if it is running (%systemd_postun_with_restart).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart hadirector.service >/dev/null 2>&1 || :
    fi
fi
