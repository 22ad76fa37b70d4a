# SPDX-License-Identifier: GPL-2.0-or-later
# Every dependency comes from Debian's packages (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBNL REQUIRED IMPORTED_TARGET libnl-3.0 libnl-genl-3.0 libnl-route-3.0)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(LIBNFTABLES REQUIRED IMPORTED_TARGET libnftables)  # dataplane = "nftables"
pkg_check_modules(LIBNL_NF REQUIRED IMPORTED_TARGET libnl-nf-3.0)  # its connection counts (conntrack)
# The metrics endpoint's HTTP (issue #14 names it): external-epoll mode on our libev loop.
pkg_check_modules(LIBMICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd)

# libev ships no pkg-config file on Debian.
find_path(LIBEV_INCLUDE_DIR ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
add_library(hd_libev INTERFACE)
target_include_directories(hd_libev SYSTEM INTERFACE ${LIBEV_INCLUDE_DIR})
target_link_libraries(hd_libev INTERFACE ${LIBEV_LIBRARY})

if(HD_TESTS)
  find_package(GTest REQUIRED)
endif()
