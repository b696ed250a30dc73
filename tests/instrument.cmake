# Auto-instrumentation (-finstrument-functions): a helper program built with
# cflame_instrument(), a plugin it dlopens, and the test that runs them.
# Included from tests/CMakeLists.txt.
add_library(cflame_instr_plugin MODULE support/instr_plugin.c)
cflame_instrument(cflame_instr_plugin)
target_compile_options(cflame_instr_plugin PRIVATE ${_test_warn})
# The same code under other names, loaded after the first is unloaded.
add_library(cflame_instr_plugin2 MODULE support/instr_plugin.c)
cflame_instrument(cflame_instr_plugin2)
target_compile_options(cflame_instr_plugin2 PRIVATE ${_test_warn})
target_compile_definitions(cflame_instr_plugin2 PRIVATE PLUGIN_OTHER=1)

add_executable(cflame-instr-child support/instr_child.c)
cflame_instrument(cflame-instr-child)
target_link_libraries(cflame-instr-child PRIVATE Threads::Threads
                                                 ${CMAKE_DL_LIBS})
target_compile_options(cflame-instr-child PRIVATE ${_test_warn})

# The same program on the library built to read the injected clock where it
# reads the TSC: its hooks take the fast paths that real programs take.
add_executable(cflame-instr-child-tsc support/instr_child.c)
target_compile_options(cflame-instr-child-tsc PRIVATE -finstrument-functions
                                                      ${_test_warn})
target_link_libraries(cflame-instr-child-tsc PRIVATE cflame_faketsc
                                                     Threads::Threads
                                                     ${CMAKE_DL_LIBS})
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  target_link_options(cflame-instr-child-tsc PRIVATE
    "LINKER:--export-dynamic-symbol=__cyg_profile_func_enter"
    "LINKER:--export-dynamic-symbol=__cyg_profile_func_exit")
endif()

# A stripped copy: no .symtab, so its functions read module+0xoffset.
set(_stripped ${CMAKE_CURRENT_BINARY_DIR}/cflame-instr-stripped)
add_custom_command(TARGET cflame-instr-child POST_BUILD
  COMMAND ${CMAKE_STRIP} --strip-all -o ${_stripped}
          $<TARGET_FILE:cflame-instr-child>)

cflame_test(test_instrument)
target_compile_definitions(test_instrument PRIVATE
  INSTR_CHILD="$<TARGET_FILE:cflame-instr-child>"
  INSTR_CHILD_TSC="$<TARGET_FILE:cflame-instr-child-tsc>"
  INSTR_STRIPPED="${_stripped}"
  INSTR_PLUGIN="$<TARGET_FILE:cflame_instr_plugin>"
  INSTR_PLUGIN2="$<TARGET_FILE:cflame_instr_plugin2>")
add_dependencies(test_instrument cflame-instr-child cflame-instr-child-tsc
                 cflame_instr_plugin cflame_instr_plugin2)

cflame_test(test_symbols SOURCES ${PROJECT_SOURCE_DIR}/src/support/symbols.c
                           ${PROJECT_SOURCE_DIR}/src/support/platform-posix.c)
target_link_libraries(test_symbols PRIVATE ${CMAKE_DL_LIBS})
target_compile_definitions(test_symbols PRIVATE
  INSTR_PLUGIN="$<TARGET_FILE:cflame_instr_plugin>")
add_dependencies(test_symbols cflame_instr_plugin)
