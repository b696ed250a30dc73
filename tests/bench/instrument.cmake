# Auto-instrumentation benchmarks (included from tests/bench/CMakeLists.txt).
# cflame-bench-instr: ns per instrumented call against two rdtsc reads;
# also a callgrind.sh target
# (CASES="empty rdtsc nosink excluded instr four callback").
add_library(cflame_bench_instr_fns STATIC bench_instr_fns.c)
target_compile_options(cflame_bench_instr_fns PRIVATE -O2
  -finstrument-functions)
add_executable(cflame-bench-instr bench_instr.c)
target_link_libraries(cflame-bench-instr PRIVATE cflame_bench_instr_fns
                                                 cflame::cflame)
target_compile_options(cflame-bench-instr PRIVATE -O2 ${CFLAME_WARNINGS})

# cflame-bench-resolve: the one-time naming of 20,000 functions. Not built
# by default (compiling the generated file takes a while):
#   cmake --build build --target cflame-bench-resolve
set(_gen ${CMAKE_CURRENT_BINARY_DIR}/gen_resolve.c)
add_custom_command(OUTPUT ${_gen}
  COMMAND ${CMAKE_COMMAND} -DOUT=${_gen} -DCOUNT=20000
          -P ${CMAKE_CURRENT_SOURCE_DIR}/gen_resolve.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gen_resolve.cmake)
add_library(cflame_bench_resolve_fns STATIC EXCLUDE_FROM_ALL ${_gen})
target_include_directories(cflame_bench_resolve_fns PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(cflame_bench_resolve_fns PRIVATE -O1
  -finstrument-functions)
add_executable(cflame-bench-resolve EXCLUDE_FROM_ALL bench_resolve.c)
target_link_libraries(cflame-bench-resolve PRIVATE cflame_bench_resolve_fns
                                                   cflame::cflame
                                                   Threads::Threads)
target_compile_options(cflame-bench-resolve PRIVATE -O2 ${CFLAME_WARNINGS})

# cflame-bench-autointerp: the realistic benchmark's interpreter, its
# macros compiled out, built plainly and through cflame_instrument (a real
# multi-part program that never calls cflame): wall time, calls, ns per call.
add_library(cflame_bench_autointerp_fns STATIC interp_auto.c)
cflame_instrument(cflame_bench_autointerp_fns)
target_compile_options(cflame_bench_autointerp_fns PRIVATE -O2)
add_executable(cflame-bench-autointerp autointerp.c interp_bench.c
  interp_off.c)
target_link_libraries(cflame-bench-autointerp PRIVATE
  cflame_bench_autointerp_fns cflame::cflame)
target_compile_options(cflame-bench-autointerp PRIVATE -O2 ${CFLAME_WARNINGS})
if(CFLAME_BUILD_TESTS AND TARGET cflame-validate)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/bench_autointerp.folded)
  set(_check "true")
  if(CFLAME_ENABLE)
    set(_check "grep -q ';cflame-bench-autointerp::eval_expr' '${_out}'")
  endif()
  add_test(NAME bench_autointerp_smoke COMMAND sh -c
    "rm -f '${_out}' && '$<TARGET_FILE:cflame-bench-autointerp>' --quick --out '${_out}' && '$<TARGET_FILE:cflame-validate>' --sorted '${_out}' && ${_check}")
  set_tests_properties(bench_autointerp_smoke PROPERTIES TIMEOUT 120)
endif()
