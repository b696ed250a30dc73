# Runs one example into OUT, then validates OUT against FORMAT.md.
#   cmake -DEXE=... -DVALIDATE=... -DOUT=... [-DSORTED=ON] [-DALLOW_EMPTY=1]
#         [-DEXPECT="a>b |c"] -P run_and_check.cmake
# EXPECT lists substrings OUT must contain, separated by "|"; ">" stands for
# ";" so that the list survives being passed through CMake.
foreach(_var EXE VALIDATE OUT)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "run_and_check: ${_var} is not set")
  endif()
endforeach()

# A stale file from an earlier run must not pass for this one.
file(REMOVE "${OUT}")

execute_process(COMMAND "${EXE}" "${OUT}" RESULT_VARIABLE _rc)
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "${EXE} failed: ${_rc}")
endif()
if(NOT EXISTS "${OUT}")
  message(FATAL_ERROR "${EXE} did not create ${OUT}")
endif()
file(SIZE "${OUT}" _size)
if(_size EQUAL 0 AND NOT ALLOW_EMPTY)
  message(FATAL_ERROR "${OUT} is empty")
endif()

set(_flags)
if(SORTED)
  set(_flags --sorted)
endif()
execute_process(COMMAND "${VALIDATE}" ${_flags} "${OUT}" RESULT_VARIABLE _rc)
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "cflame-validate ${_flags} ${OUT} failed: ${_rc}")
endif()

if(EXPECT)
  file(READ "${OUT}" _text)
  string(REPLACE "|" ";" _wanted "${EXPECT}")
  foreach(_want IN LISTS _wanted)
    string(REPLACE ">" ";" _want "${_want}")
    string(FIND "${_text}" "${_want}" _at)
    if(_at EQUAL -1)
      message(FATAL_ERROR "${OUT} has no line containing '${_want}'")
    endif()
  endforeach()
endif()
