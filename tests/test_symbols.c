/* symbols.c: names of code addresses from the ELF symbol tables of the
 * executable and of loaded shared objects (.symtab, else .dynsym), and
 * module+0xoffset where there is no symbol or no file. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbols.h"

#ifndef INSTR_PLUGIN
#error "INSTR_PLUGIN must name the test plugin"
#endif

__attribute__((noinline)) static int local_function(int x) {
  return x * 7 + 1;
}

/* A static function of the executable: its .symtab name, the executable's
 * stem, its size; an address inside it names it too. */
static void test_symbols_static_function_of_executable(void **state) {
  (void)state;
  /* Through an integer: ISO C has no function -> object pointer cast. */
  const char *fn = (const char *)(uintptr_t)local_function;
  cflame__sym_t s;
  assert_int_equal(cflame__symbols_lookup(fn, &s), 0);
  assert_string_equal(s.name, "local_function");
  assert_string_equal(s.module, "test_symbols");
  assert_true(s.size > 0);
  cflame__sym_t in;
  assert_int_equal(cflame__symbols_lookup(fn + 1, &in), 0);
  assert_ptr_equal(in.name, s.name); /* the same copy, kept forever */
  assert_true(cflame__symbols_count() > 0);
}

/* A shared library's exported function (libc ships without .symtab). */
static void test_symbols_shared_library_dynsym(void **state) {
  (void)state;
  void *fn = dlsym(RTLD_DEFAULT, "getpid");
  assert_non_null(fn);
  cflame__sym_t s;
  assert_int_equal(cflame__symbols_lookup(fn, &s), 0);
  assert_string_equal(s.name, "getpid");
  assert_string_equal(s.module, "libc");
}

/* Code in no module at all (an anonymous mapping, like JIT code). */
static void test_symbols_anonymous_mapping(void **state) {
  (void)state;
  void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(p != MAP_FAILED);
  cflame__sym_t s;
  assert_int_equal(cflame__symbols_lookup((char *)p + 16, &s), 0);
  char want[64];
  snprintf(want, sizeof want, "[anon]+0x%llx",
           (unsigned long long)(uintptr_t)((char *)p + 16));
  assert_string_equal(s.name, want);
  munmap(p, 4096);
}

/* A library whose file is gone once loaded: module+0xoffset, the offset
 * being the symbol's ELF address; the name outlives dlclose. */
static void test_symbols_missing_file_reads_offset(void **state) {
  (void)state;
  char dir[] = "/tmp/cflame-sym-XXXXXX", path[64], cmd[160];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/libgone.so.1", dir);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", INSTR_PLUGIN, path);
  assert_int_equal(system(cmd), 0);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(h);
  void *fn = dlsym(h, "plugin_entry");
  assert_non_null(fn);
  Dl_info info;
  assert_true(dladdr(fn, &info) != 0);
  unlink(path);
  rmdir(dir);
  cflame__sym_t s;
  assert_int_equal(cflame__symbols_lookup(fn, &s), 0);
  char want[64];
  snprintf(want, sizeof want, "libgone+0x%llx",
           (unsigned long long)((uintptr_t)fn - (uintptr_t)info.dli_fbase));
  assert_string_equal(s.module, "libgone");
  assert_string_equal(s.name, want);
  dlclose(h);
  assert_string_equal(s.name, want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_symbols_static_function_of_executable),
      cmocka_unit_test(test_symbols_shared_library_dynsym),
      cmocka_unit_test(test_symbols_anonymous_mapping),
      cmocka_unit_test(test_symbols_missing_file_reads_offset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
