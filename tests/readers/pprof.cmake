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

# The same readers on what the pprof sink writes: examples/pprof.c, whose
# wall per stack must equal its folded output of the same run, and whose
# calls and wall per stack go and pprof-format must read as cflame's own
# decoder does (example_pprof: those checks alone, without go or node).
# The go test prints `go tool pprof -top` of the example into its log.
if(CFLAME_BUILD_EXAMPLES AND CFLAME_ENABLE)
  set(_ex_env CFLAME_PPROF_TOP=1
              CFLAME_PPROF_EXAMPLE=$<TARGET_FILE:cflame_example_pprof>
              CFLAME_VALIDATE=$<TARGET_FILE:cflame-validate>)
  add_test(NAME reader_pprof_example_go
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/pprof_go.sh
      ${CMAKE_CURRENT_LIST_DIR}/pprof_example.sh $<TARGET_FILE:cflame-validate>
      ${CMAKE_CURRENT_BINARY_DIR}/readers-example-go)
  add_test(NAME reader_pprof_example_node
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/pprof_node.sh
      ${CMAKE_CURRENT_LIST_DIR}/pprof_example.sh
      ${CMAKE_CURRENT_BINARY_DIR}/readers-example-node)
  add_test(NAME example_pprof
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/pprof_example.sh
      ${CMAKE_CURRENT_BINARY_DIR}/example_pprof.pb
      ${CMAKE_CURRENT_BINARY_DIR}/example_pprof.tsv)
  set_tests_properties(reader_pprof_example_go reader_pprof_example_node
    example_pprof PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
    ENVIRONMENT "${_ex_env}")
endif()
