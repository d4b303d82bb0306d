# Warning flags for the project's own targets (never imposed on consumers of stco::stco).
option(STCO_WERROR "Treat warnings as errors in stco's tests, examples and benchmarks" OFF)

function(stco_set_warnings target)
  set(cxx -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
  # nvcc's generated host code uses GCC line markers, which -Wpedantic rejects: -Wall -Wextra there.
  set(cuda_host -Wall,-Wextra)
  if(STCO_WERROR)
    list(APPEND cxx -Werror)
    string(APPEND cuda_host ",-Werror")
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${cxx}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${cuda_host}>)
endfunction()
