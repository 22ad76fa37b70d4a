# SPDX-License-Identifier: GPL-2.0-or-later
# Packaging: install rules for everything but the binary (daemon/CMakeLists.txt
# installs it to <prefix>/sbin), generated man pages, and CPack DEB + RPM.
# Choices are explained in packaging/README.md.
#
#   ninja -C build && (cd build && cpack -G DEB)    # or -G RPM, or plain cpack
#
# Packages install under /usr (CPACK_PACKAGING_INSTALL_PREFIX), whatever
# CMAKE_INSTALL_PREFIX is. `cmake --install` for a system install should use
# --prefix /usr: the unit starts /usr/sbin/hadirector.

set(HD_PKG_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(HD_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
set(HD_DOCDIR share/doc/${PROJECT_NAME})
set(HD_MAINTAINER "hadirector maintainers <maintainers@users.noreply.b-seed-222e5b22.example>")

# Unit directory: Debian 12 ships units in /lib/systemd/system (no moving
# files across the /usr merge), RPM distributions in /usr/lib/systemd/system.
# CPack picks per generator (packaging/cpack-project-config.cmake sets
# HD_CPACK_UNITDIR in the environment, which the install script reads);
# a plain `cmake --install` uses HD_SYSTEMD_UNITDIR.
set(HD_SYSTEMD_UNITDIR "/lib/systemd/system" CACHE STRING
    "systemd system unit directory for `cmake --install` (packages choose their own)")

# ---------------------------------------------------------------------------
# Generated files: man pages (packaging/man/md2man.py, Python stdlib only)
# and the Debian changelog, gzip -9n as Debian policy wants.
find_program(HD_PYTHON3 NAMES python3 REQUIRED)
find_program(HD_GZIP NAMES gzip REQUIRED)
# Honours SOURCE_DATE_EPOCH, for reproducible packages.
string(TIMESTAMP HD_MAN_DATE "%Y-%m-%d" UTC)
string(TIMESTAMP HD_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)

set(HD_MAN_PAGES "hadirector.8" "hadirector-drill.8" "hadirector.toml.5")
set(HD_GENERATED_DOCS "")
foreach(page IN LISTS HD_MAN_PAGES)
  string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section "${page}")
  set(src ${CMAKE_SOURCE_DIR}/docs/${page}.md)
  set(out ${HD_PKG_OUT}/man/${page})
  add_custom_command(
    OUTPUT ${out}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${HD_PKG_OUT}/man
    COMMAND ${HD_PYTHON3} ${HD_PKG_DIR}/man/md2man.py ${src} ${out}
            --date ${HD_MAN_DATE} --source "${PROJECT_NAME} ${PROJECT_VERSION}"
    COMMAND ${HD_GZIP} -9nkf ${out}
    DEPENDS ${src} ${HD_PKG_DIR}/man/md2man.py
    COMMENT "Generating man page ${page}"
    VERBATIM)
  list(APPEND HD_GENERATED_DOCS ${out}.gz)
  install(FILES ${out}.gz DESTINATION share/man/man${section})
endforeach()

set(HD_DEB_VERSION ${PROJECT_VERSION})
configure_file(${HD_PKG_DIR}/deb/changelog.in ${HD_PKG_OUT}/changelog @ONLY)
add_custom_command(
  OUTPUT ${HD_PKG_OUT}/changelog.gz
  COMMAND ${HD_GZIP} -9nkf ${HD_PKG_OUT}/changelog
  DEPENDS ${HD_PKG_OUT}/changelog
  VERBATIM)
list(APPEND HD_GENERATED_DOCS ${HD_PKG_OUT}/changelog.gz)
add_custom_target(hd_packaging_docs ALL DEPENDS ${HD_GENERATED_DOCS})

# ---------------------------------------------------------------------------
# Install rules.

# systemd unit, in the directory the package format wants (see above).
install(CODE "
  if(NOT DEFINED ENV{HD_CPACK_UNITDIR})
    set(ENV{HD_CPACK_UNITDIR} \"${HD_SYSTEMD_UNITDIR}\")
  endif()
  string(REGEX REPLACE \"^/+\" \"\" _hd_unitdir \"\$ENV{HD_CPACK_UNITDIR}\")
")
install(FILES ${HD_PKG_DIR}/systemd/hadirector.service DESTINATION "/\${_hd_unitdir}")

# /etc/hadirector/hadirector.toml: the packaged default (packaging/hadirector.toml),
# a conffile (deb: packaging/deb/conffiles; rpm: %config(noreplace)). A plain
# `cmake --install` onto a live system never overwrites an existing one.
install(CODE "
  set(_hd_conf \"\$ENV{DESTDIR}/etc/hadirector/hadirector.toml\")
  if(\"\$ENV{DESTDIR}\" STREQUAL \"\" AND EXISTS \"\${_hd_conf}\")
    message(STATUS \"Keeping existing \${_hd_conf} (packaged default not installed)\")
  else()
    file(INSTALL DESTINATION /etc/hadirector TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES \"${HD_PKG_DIR}/hadirector.toml\")
  endif()
")

# Examples: etc/ of the source tree, flattened (docs say
# /usr/share/doc/hadirector/examples/).
file(GLOB HD_EXAMPLES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/etc/*.toml ${CMAKE_SOURCE_DIR}/etc/examples/*.toml
     ${CMAKE_SOURCE_DIR}/etc/prometheus/*.yml ${CMAKE_SOURCE_DIR}/etc/grafana/*.json)
install(FILES ${HD_EXAMPLES} DESTINATION ${HD_DOCDIR}/examples)

# Documentation.
install(FILES ${CMAKE_SOURCE_DIR}/docs/status-json.md ${CMAKE_SOURCE_DIR}/docs/metrics.md
        DESTINATION ${HD_DOCDIR})
install(FILES ${HD_PKG_DIR}/README.md DESTINATION ${HD_DOCDIR} RENAME README.packaging.md)
install(FILES ${HD_PKG_DIR}/deb/copyright ${HD_PKG_OUT}/changelog.gz DESTINATION ${HD_DOCDIR})

# Packages: drop the .comment section from the stripped binary, as dh_strip
# does (install rules run in declaration order, so the binary is there).
if(CMAKE_STRIP)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP AND DEFINED ENV{HD_CPACK_GENERATOR})
      foreach(_hd_prog ${PROJECT_NAME} ${PROJECT_NAME}-drill)
        execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment
                        \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/sbin/\${_hd_prog}\")
      endforeach()
    endif()
  ")
endif()

# Lintian overrides: Debian packages only.
install(CODE "
  if(\"\$ENV{HD_CPACK_GENERATOR}\" STREQUAL \"DEB\")
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/share/lintian/overrides\" TYPE FILE
         RENAME ${PROJECT_NAME} FILES \"${HD_PKG_DIR}/deb/lintian-overrides\")
  endif()
")

# ---------------------------------------------------------------------------
# CPack.
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VENDOR "hadirector")
set(CPACK_PACKAGE_CONTACT "${HD_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "high-availability director for Linux LVS (VRRP, health checks, IPVS)")
# Extended description: lines of at most 80 columns (Debian policy); an
# empty line becomes " ." in the control file.
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "hadirector floats virtual IP addresses between directors with VRRP,"
  "checks the health of real servers and programs IPVS over generic"
  "netlink, as keepalived does. Its configuration is a strictly validated"
  "TOML file (hadirector check reports every error with its line and"
  "column) that is applied whole or not at all on reload."
  ""
  "The service is installed but neither enabled nor started: write"
  "/etc/hadirector/hadirector.toml, then systemctl enable --now hadirector.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE ${HD_PKG_DIR}/cpack-project-config.cmake)
set(CPACK_GENERATOR DEB)
find_program(HD_RPMBUILD rpmbuild)
if(HD_RPMBUILD)
  list(APPEND CPACK_GENERATOR RPM)
endif()

# DEB
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Not found by dpkg-shlibdeps: /bin/kill in ExecReload= (procps).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ipvsadm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${HD_PKG_DIR}/deb/conffiles
    ${HD_PKG_DIR}/deb/postinst
    ${HD_PKG_DIR}/deb/prerm
    ${HD_PKG_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# RPM
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_LICENSE "GPL-2.0-or-later")  # LICENSE; packaging/deb/copyright
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_AUTOPROV ON)
# CPack marks files installed to absolute paths %config; the unit is not one
# (an entry here needs some %directive, hence the %attr).
set(CPACK_RPM_USER_FILELIST
    "%config(noreplace) /etc/hadirector/hadirector.toml"
    "%attr(0644,root,root) /usr/lib/systemd/system/hadirector.service")
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${HD_PKG_DIR}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${HD_PKG_DIR}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${HD_PKG_DIR}/rpm/postun.sh)
# Directories owned by the distribution, not by this package.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/sbin /usr/lib/systemd /usr/lib/systemd/system
    /usr/share/man /usr/share/man/man5 /usr/share/man/man8)

# Source package (cpack --config CPackSourceConfig.cmake): the tree, no builds.
set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/crash-[0-9a-f]+$" "__pycache__")

include(CPack)
