# SPDX-License-Identifier: GPL-2.0-or-later
if(HD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
# ThreadSanitizer (not with HD_SANITIZE): the VRRP engine's thread and its mailboxes.
if(HD_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(HD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HD_FUZZ needs clang: configure with CC=clang CXX=clang++")
  endif()
  # -fno-sanitize-recover: undefined behaviour aborts the target, so libFuzzer reports it
  # as a crash and the fuzz step fails (by default UBSan prints and carries on).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
