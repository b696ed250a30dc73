# Runs an auto-instrumented example with CFLAME_FLAME=OUT (its only setup),
# then checks OUT like run_and_check.cmake (same variables).
set(ENV{CFLAME_FLAME} "${OUT}")
include(${CMAKE_CURRENT_LIST_DIR}/run_and_check.cmake)
