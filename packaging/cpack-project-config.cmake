# SPDX-License-Identifier: GPL-2.0-or-later
# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE). CPack runs the
# install scripts in its own process, so per-generator install paths travel
# in environment variables that cmake/Packaging.cmake's install code reads.
set(ENV{HD_CPACK_GENERATOR} "${CPACK_GENERATOR}")
if(CPACK_GENERATOR STREQUAL "RPM")
  set(ENV{HD_CPACK_UNITDIR} "/usr/lib/systemd/system")
else()
  # Debian 12: units stay in /lib until the /usr-merge moratorium ends.
  set(ENV{HD_CPACK_UNITDIR} "/lib/systemd/system")
endif()
