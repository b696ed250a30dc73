# Finds cmocka for the tests without failing when it is missing: sets
# CFLAME_CMOCKA to what test binaries link (empty if not found) and
# CFLAME_CMOCKA_INCLUDE when the library comes without usage requirements.
# Debian's 1.1.5 ships a config without an imported target, so pkg-config
# comes first and the config package after it.
set(CFLAME_CMOCKA "")
set(CFLAME_CMOCKA_INCLUDE "")
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(CMOCKA QUIET IMPORTED_TARGET cmocka)
endif()
if(TARGET PkgConfig::CMOCKA)
  set(CFLAME_CMOCKA PkgConfig::CMOCKA)
else()
  find_package(cmocka CONFIG QUIET)
  if(TARGET cmocka::cmocka)
    set(CFLAME_CMOCKA cmocka::cmocka)
  elseif(cmocka_FOUND AND CMOCKA_LIBRARIES)
    set(CFLAME_CMOCKA ${CMOCKA_LIBRARIES})
    set(CFLAME_CMOCKA_INCLUDE ${CMOCKA_INCLUDE_DIR})
  endif()
endif()
