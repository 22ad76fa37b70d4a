# SPDX-License-Identifier: GPL-2.0-or-later
# Warnings are errors in our own code. Third-party headers are included as SYSTEM.
function(hd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
endfunction()

# Hardening, as Debian builds its packages (lintian checks the binary for these).
if(NOT HD_SANITIZE AND NOT HD_FUZZ AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_options(-D_FORTIFY_SOURCE=2 -fstack-protector-strong)
  add_link_options(-Wl,-z,relro,-z,now)
endif()
