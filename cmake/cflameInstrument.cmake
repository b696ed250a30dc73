# cflame_instrument(<target> [EXCLUDE_FILES <substr>...]
#                   [EXCLUDE_FUNCTIONS <substr>...])
#
# Compiles <target> with -finstrument-functions so that cflame records every
# function of it (run it with CFLAME_FLAME=out.folded), and links it with
# cflame::cflame. Executables also export the two hooks, so that modules
# built with this function and dlopen'ed later find them. A MODULE library
# is not linked with a static cflame (it uses the executable's copy).
#
# EXCLUDE_FILES / EXCLUDE_FUNCTIONS are passed to GCC's
# -finstrument-functions-exclude-file-list / -function-list (substrings of
# source paths / function names) and cost nothing at run time. Clang has no
# such options: it warns, and CFLAME_INSTRUMENT_EXCLUDE does it at run time.
include_guard(GLOBAL)

function(cflame_instrument target)
  cmake_parse_arguments(CI "" "" "EXCLUDE_FILES;EXCLUDE_FUNCTIONS" ${ARGN})
  if(NOT TARGET ${target})
    message(FATAL_ERROR "cflame_instrument: ${target} is not a target")
  endif()
  target_compile_options(${target} PRIVATE -finstrument-functions)
  if(CI_EXCLUDE_FILES OR CI_EXCLUDE_FUNCTIONS)
    if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
      if(CI_EXCLUDE_FILES)
        list(JOIN CI_EXCLUDE_FILES "," _files)
        target_compile_options(${target} PRIVATE
          "-finstrument-functions-exclude-file-list=${_files}")
      endif()
      if(CI_EXCLUDE_FUNCTIONS)
        list(JOIN CI_EXCLUDE_FUNCTIONS "," _fns)
        target_compile_options(${target} PRIVATE
          "-finstrument-functions-exclude-function-list=${_fns}")
      endif()
    else()
      message(WARNING "cflame_instrument(${target}): ${CMAKE_C_COMPILER_ID} "
        "has no compile-time exclusion lists; use CFLAME_INSTRUMENT_EXCLUDE "
        "at run time")
    endif()
  endif()
  get_target_property(_type ${target} TYPE)
  get_target_property(_cflame_type cflame::cflame TYPE)
  if(_type STREQUAL "MODULE_LIBRARY" AND NOT _cflame_type STREQUAL
                                         "SHARED_LIBRARY")
    # Headers and definitions only: a second static cflame would be a
    # second, separate recorder.
    target_include_directories(${target} PRIVATE
      $<TARGET_PROPERTY:cflame::cflame,INTERFACE_INCLUDE_DIRECTORIES>)
    target_compile_definitions(${target} PRIVATE
      $<TARGET_PROPERTY:cflame::cflame,INTERFACE_COMPILE_DEFINITIONS>)
  else()
    target_link_libraries(${target} PRIVATE cflame::cflame)
  endif()
  if(_type STREQUAL "EXECUTABLE" AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_link_options(${target} PRIVATE
      "LINKER:--export-dynamic-symbol=__cyg_profile_func_enter"
      "LINKER:--export-dynamic-symbol=__cyg_profile_func_exit")
  endif()
endfunction()
