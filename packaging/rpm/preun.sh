# SPDX-License-Identifier: GPL-2.0-or-later
# hadirector %preun: on erase ($1 = 0) stop and disable the service; on
# upgrade ($1 >= 1) the running daemon is left alone (see %postun).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now hadirector.service >/dev/null 2>&1 || :
fi
