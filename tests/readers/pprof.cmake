# Real readers of the pprof encoder's output: go tool pprof and npm
# pprof-format, each comparing its per-stack totals with the expected ones.
# They skip (exit 77) when go / node+npm are not installed.
add_executable(cflame-pprof-sample ${CMAKE_CURRENT_LIST_DIR}/pprof_sample.c
  ${PROJECT_SOURCE_DIR}/src/support/pprof_enc.c ${PROJECT_SOURCE_DIR}/src/support/pprof_intern.c)
target_include_directories(cflame-pprof-sample PRIVATE ${CFLAME_INCLUDE_DIRS})
target_link_libraries(cflame-pprof-sample PRIVATE cflame::cflame)
target_compile_options(cflame-pprof-sample PRIVATE ${_test_warn})
target_compile_definitions(cflame-pprof-sample PRIVATE _POSIX_C_SOURCE=200809L)

add_test(NAME reader_pprof_go
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/pprof_go.sh
    $<TARGET_FILE:cflame-pprof-sample> $<TARGET_FILE:cflame-validate>
    ${CMAKE_CURRENT_BINARY_DIR}/readers-go)
add_test(NAME reader_pprof_node
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/pprof_node.sh
    $<TARGET_FILE:cflame-pprof-sample> ${CMAKE_CURRENT_BINARY_DIR}/readers-node)
set_tests_properties(reader_pprof_go reader_pprof_node PROPERTIES
  SKIP_RETURN_CODE 77 TIMEOUT 300)
