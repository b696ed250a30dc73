# Auto-instrumentation (-finstrument-functions): a helper program built with
# cflame_instrument(), a plugin it dlopens, and the test that runs them.
# Included from tests/CMakeLists.txt.
add_library(cflame_instr_plugin MODULE support/instr_plugin.c)
cflame_instrument(cflame_instr_plugin)
target_compile_options(cflame_instr_plugin PRIVATE ${_test_warn})

add_executable(cflame-instr-child support/instr_child.c)
cflame_instrument(cflame-instr-child)
target_link_libraries(cflame-instr-child PRIVATE Threads::Threads
                                                 ${CMAKE_DL_LIBS})
target_compile_options(cflame-instr-child PRIVATE ${_test_warn})

# A stripped copy: no .symtab, so its functions read module+0xoffset.
set(_stripped ${CMAKE_CURRENT_BINARY_DIR}/cflame-instr-stripped)
add_custom_command(TARGET cflame-instr-child POST_BUILD
  COMMAND ${CMAKE_STRIP} --strip-all -o ${_stripped}
          $<TARGET_FILE:cflame-instr-child>)

cflame_test(test_instrument)
target_compile_definitions(test_instrument PRIVATE
  INSTR_CHILD="$<TARGET_FILE:cflame-instr-child>"
  INSTR_STRIPPED="${_stripped}"
  INSTR_PLUGIN="$<TARGET_FILE:cflame_instr_plugin>")
add_dependencies(test_instrument cflame-instr-child cflame_instr_plugin)

cflame_test(test_symbols SOURCES ${PROJECT_SOURCE_DIR}/src/support/symbols.c
                           ${PROJECT_SOURCE_DIR}/src/support/platform-posix.c)
target_link_libraries(test_symbols PRIVATE ${CMAKE_DL_LIBS})
target_compile_definitions(test_symbols PRIVATE
  INSTR_PLUGIN="$<TARGET_FILE:cflame_instr_plugin>")
add_dependencies(test_symbols cflame_instr_plugin)
