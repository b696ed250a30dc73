/* Private to cflame: the table of instrumented functions (address ->
 * callsite), shared by the -finstrument-functions hooks (instrument.c) and
 * filled from the symbol tables (instrument_table.c). */
#ifndef CFLAME_INSTRUMENT_H
#define CFLAME_INSTRUMENT_H

#include <cflame.h>

#include <stdint.h>

#define CFLAME__NO_INSTR __attribute__((no_instrument_function))

/* One per function address, never freed; cs is NULL for a function that
 * is never recorded (below the minimum size, excluded, out of memory). */
typedef struct cflame__fnent_s {
  const void *fn;   /* NULL once its module is unloaded (atomic): the address
                       may hold another function then, which gets an entry
                       of its own; this one stays in the table, unmatched */
  cflame_callsite_t *cs;
  uintptr_t len; /* bytes of the function's code (a guess if unknown) */
  const void *module; /* symbols.h module_id */
  struct cflame__fnent_s *sibling; /* the module's entry made before */
} cflame__fnent_t;

/* The code size assumed for a function without a symbol (stripped). */
#define CFLAME__LEN_UNKNOWN 65536

/* Once per process, at the first hook: reads the CFLAME_INSTRUMENT_*
 * settings and installs the flame sink of CFLAME_FLAME (zero-code setup). */
void cflame__fntab_setup(void);

/* The entry of fn, or NULL if it has none yet. Lock-free, any thread. */
cflame__fnent_t *cflame__fntab_find(const void *fn);

/* The entry of fn, made on first use: finds the function's symbol and
 * registers its callsite (slow; takes the table lock). NULL if out of
 * memory. */
cflame__fnent_t *cflame__fntab_add(const void *fn);

/* cflame_init_env for the first instrumented call (env.c): the program's
 * own later cflame_init_env call gets the same guard instead of a second
 * set of sinks writing the same files. */
int cflame__init_env_auto(cflame_guard_t **out);

#endif /* CFLAME_INSTRUMENT_H */
