/* Private to cflame: function names from the ELF symbol tables of the
 * modules mapped in this process (auto-instrumentation). */
#ifndef CFLAME_SYMBOLS_H
#define CFLAME_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

/* What is known about one code address. The strings are never freed, so
 * they outlive the module (a dlclose'd library keeps its names). */
typedef struct cflame__sym_s {
  const char *name;   /* symbol name, or "module+0x1a2b" if none covers it */
  const char *module; /* file stem of the module: "app", "libfoo" */
  uint64_t size;      /* st_size of the symbol, 0 if unknown */
  const void *module_id; /* the module as loaded (cflame__symbols_on_unload),
                            NULL outside any module */
} cflame__sym_t;

/* Resolves addr (thread-safe, slow: the first address seen in a module
 * reads that module's .symtab, else .dynsym, once). Returns 0, or -1 if out
 * of memory (*out then names nothing). */
int cflame__symbols_lookup(const void *addr, cflame__sym_t *out);

/* Sets the function called with a module_id when that module is unloaded
 * (from its own destructors, inside dlclose: it must take no lock that is
 * held while calling into the loader), or at exit. Only modules whose
 * .symtab names their __dso_handle report it (not stripped ones). */
void cflame__symbols_on_unload(void (*fn)(const void *module));

/* Symbols read so far, over every module (for tests and benchmarks). */
size_t cflame__symbols_count(void);

#endif /* CFLAME_SYMBOLS_H */
