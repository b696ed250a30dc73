# The public header from C++: every macro compiled and run (test_cxx, with
# the macros on) and compiled out (test_cxx_disabled), each as C++11 and
# C++20. Included from tests/CMakeLists.txt; skipped without a C++ compiler
# (the top level enables CXX only when check_language finds one).
get_property(_cxx_langs GLOBAL PROPERTY ENABLED_LANGUAGES)
if(NOT "CXX" IN_LIST _cxx_langs)
  message(STATUS "cflame: no C++ compiler found, the C++ tests are skipped")
  return()
endif()

set(_cxx_warn)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  # What a strict C++ user builds with: the macros expand in their code.
  set(_cxx_warn -Wall -Wextra -pedantic -Wshadow -Wold-style-cast
                -Wzero-as-null-pointer-constant)
  if(CFLAME_WERROR)
    list(APPEND _cxx_warn -Werror)
  endif()
endif()

set(_cxx_tests test_cxx_disabled)
if(CFLAME_ENABLE)
  list(APPEND _cxx_tests test_cxx)
endif()
foreach(_t ${_cxx_tests})
  foreach(_std 11 20)
    add_executable(${_t}_${_std} ${_t}.cpp)
    set_target_properties(${_t}_${_std} PROPERTIES CXX_STANDARD ${_std}
      CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
    target_link_libraries(${_t}_${_std} PRIVATE cflame::cflame ${_cmocka}
                                                Threads::Threads)
    target_compile_options(${_t}_${_std} PRIVATE ${_cxx_warn})
    add_test(NAME ${_t}_${_std} COMMAND ${_t}_${_std})
    set_tests_properties(${_t}_${_std} PROPERTIES TIMEOUT 60)
  endforeach()
endforeach()
