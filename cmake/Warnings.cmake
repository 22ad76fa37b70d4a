# Warnings are errors in our own code. Third-party headers are included as SYSTEM.
function(hd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
endfunction()
