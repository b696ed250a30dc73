# Runs the timeline example into OUT (timeline) and FOLDED (flame sink of
# the same run), then validates both.
#   cmake -DEXE=... -DVALIDATE=... -DOUT=... -DFOLDED=... [-DALLOW_EMPTY=1]
#         -P run_timeline.cmake
foreach(_var EXE VALIDATE OUT FOLDED)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "run_timeline: ${_var} is not set")
  endif()
endforeach()
file(REMOVE "${OUT}" "${FOLDED}")
execute_process(COMMAND "${EXE}" "${OUT}" "${FOLDED}" RESULT_VARIABLE _rc)
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "${EXE} failed: ${_rc}")
endif()
# A complete timeline, E events named (speedscope needs it), and folded
# stacks that follow FORMAT.md.
execute_process(COMMAND "${VALIDATE}" --timeline --complete --e-names "${OUT}"
                RESULT_VARIABLE _rc)
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "cflame-validate --timeline ${OUT} failed: ${_rc}")
endif()
file(SIZE "${FOLDED}" _size)
if(_size EQUAL 0 AND ALLOW_EMPTY)
  return()
endif()
execute_process(COMMAND "${VALIDATE}" --sorted "${FOLDED}" RESULT_VARIABLE _rc)
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "cflame-validate --sorted ${FOLDED} failed: ${_rc}")
endif()
file(READ "${OUT}" _text)
foreach(_want "\"name\":\"pool-3\"" "\"name\":\"timeline::request\",\"args\":{\"id\":\"5\"}"
        "\"name\":\"queue_depth\"" "\"s\":\"g\"" "\"name\":\"shutdown\""
        "\"name\":\"slow response\"" "\"name\":\"timeline::respond\"")
  string(FIND "${_text}" "${_want}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "${OUT} has no '${_want}'")
  endif()
endforeach()
# Every request: one async slice (b/e) and two arrows (accept_batch -> the
# parse hop -> the respond hop), each an s and an f.
foreach(_ph_n "b;40" "e;40" "s;80" "f;80")
  list(GET _ph_n 0 _ph)
  list(GET _ph_n 1 _n)
  string(REGEX MATCHALL "\"ph\":\"${_ph}\"" _all "${_text}")
  list(LENGTH _all _got)
  if(NOT _got EQUAL _n)
    message(FATAL_ERROR "${OUT}: ${_got} \"${_ph}\" events, want ${_n}")
  endif()
endforeach()
