/* The table of instrumented functions: function address -> callsite,
 * read without a lock by every hook, filled once per function from the ELF
 * symbol tables (symbols.c); and the CFLAME_INSTRUMENT_* settings. */
#include "core.h"
#include "instrument.h"
#include "platform.h"
#include "report.h"
#include "symbols.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NO_INSTR CFLAME__NO_INSTR

/* --- settings ----------------------------------------------------------- */

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static uint64_t min_size;   /* CFLAME_INSTRUMENT_MIN_SIZE, bytes */
static char **exclude;      /* CFLAME_INSTRUMENT_EXCLUDE, NULL-terminated */

NO_INSTR static void parse_exclude(const char *list) {
  size_t n = 1;
  for (const char *p = list; *p; p++)
    n += *p == ',';
  char **v = calloc(n + 1, sizeof *v);
  char *copy = strdup(list);
  if (!v || !copy) {
    free(v);
    free(copy);
    return;
  }
  size_t k = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    char *end = tok + strlen(tok);
    while (end > tok && end[-1] == ' ')
      *--end = '\0';
    if (*tok)
      v[k++] = tok;
  }
  exclude = v; /* kept for the life of the process */
}

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

NO_INSTR static void fork_prepare(void) {
  pthread_mutex_lock(&table_lock);
}

NO_INSTR static void fork_after(void) {
  pthread_mutex_unlock(&table_lock);
}

NO_INSTR static void module_unloaded(const void *module);

/* Once, at the first hook of the process: the settings, and the flame sink
 * from CFLAME_FLAME (zero-code setup; dropped at exit by cflame itself). */
NO_INSTR static void setup(void) {
  const char *v = cflame__plat_getenv("CFLAME_INSTRUMENT_MIN_SIZE");
  if (v && *v) {
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || v[0] == '-')
      cflame__report(CFLAME_FAULT_CONFIG, "CFLAME_INSTRUMENT_MIN_SIZE: "
                                        "expected a size in bytes; ignored");
    else
      min_size = n;
  }
  v = cflame__plat_getenv("CFLAME_INSTRUMENT_EXCLUDE");
  if (v && *v)
    parse_exclude(v);
  /* cflame's own fork handlers first: prepare handlers run in reverse
   * order, so the table lock is taken before cflame's locks, the order in
   * which a function's first call takes them (table, then registry). */
  cflame__hooks();
  (void)cflame__plat_atfork(fork_prepare, fork_after, fork_after);
  cflame__symbols_on_unload(module_unloaded);
  /* A sink the program installs itself records beside it; a later
   * cflame_init_env of the program takes this guard over. The guard is
   * dropped at exit by cflame; kept here so that it stays reachable (also
   * in a fork child, which never drops it). */
  static cflame_guard_t *guard;
  (void)cflame__init_env_auto(&guard);
}

/* --- function table ------------------------------------------------------- */

/* Open addressing, read without a lock: slots are published with release
 * stores, and a grown table replaces the old one, which is never freed (a
 * reader may still be probing it). */
typedef struct table_s {
  size_t mask;
  struct table_s *prev; /* the table this one replaced, kept for readers */
  cflame__fnent_t *slot[];
} table_t;

static table_t *table;
static size_t table_used;

NO_INSTR static size_t hash_fn(const void *fn) {
  uint64_t x = (uint64_t)(uintptr_t)fn;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9u;
  return (size_t)(x ^ (x >> 32));
}

NO_INSTR cflame__fnent_t *cflame__fntab_find(const void *fn) {
  table_t *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
  if (!t)
    return NULL;
  for (size_t i = hash_fn(fn) & t->mask;; i = (i + 1) & t->mask) {
    cflame__fnent_t *e = __atomic_load_n(&t->slot[i], __ATOMIC_ACQUIRE);
    if (!e || ld_relaxed(&e->fn) == fn)
      return e;
  }
}

NO_INSTR static void table_put(table_t *t, cflame__fnent_t *e) {
  size_t i = hash_fn(ld_relaxed(&e->fn)) & t->mask;
  while (t->slot[i])
    i = (i + 1) & t->mask;
  __atomic_store_n(&t->slot[i], e, __ATOMIC_RELEASE);
}

/* Keeps the load at most one half (table lock held). */
NO_INSTR static int table_reserve(void) {
  size_t cap = table ? table->mask + 1 : 0;
  if ((table_used + 1) * 2 <= cap)
    return 0;
  size_t ncap = cap ? cap * 2 : 256;
  table_t *t = calloc(1, sizeof *t + ncap * sizeof t->slot[0]);
  if (!t)
    return -1;
  t->mask = ncap - 1;
  t->prev = table;
  for (size_t i = 0; i < cap; i++)
    if (table->slot[i])
      table_put(t, table->slot[i]);
  __atomic_store_n(&table, t, __ATOMIC_RELEASE);
  return 0;
}

NO_INSTR static int excluded(const cflame__sym_t *s) {
  /* cflame's own functions, should a build instrument them anyway: their
   * hooks must not call back into cflame. */
  if (strncmp(s->name, "cflame_", 7) == 0 ||
      strncmp(s->name, "__cyg_profile_", 14) == 0)
    return 1;
  if (min_size && s->size && s->size < min_size)
    return 1;
  for (char **p = exclude; p && *p; p++)
    if (fnmatch(*p, s->name, 0) == 0)
      return 1;
  return 0;
}

/* The callsite of fn: named after its symbol, target = the module's stem.
 * NULL if the function is not to be recorded. e gets its code size and
 * module. */
NO_INSTR static cflame_callsite_t *callsite_new(const void *fn,
                                                cflame__fnent_t *e) {
  cflame__sym_t s;
  uintptr_t *len = &e->len;
  *len = CFLAME__LEN_UNKNOWN;
  if (cflame__symbols_lookup(fn, &s) != 0)
    return NULL;
  e->module = s.module_id;
  if (s.size)
    *len = (uintptr_t)s.size;
  if (excluded(&s))
    return NULL;
  cflame_callsite_t *cs = calloc(1, sizeof *cs);
  if (!cs)
    return NULL;
  /* The symbol strings are never freed (see symbols.h). */
  cs->name = s.name;
  cs->target = s.module;
  cs->file = s.module;
  cs->level = CFLAME_LEVEL_INFO;
  /* What the hooks match frames and calls by (core.h: CFLAME__CS_FN). */
  cs->reserved_[1] = (void *)(uintptr_t)fn;
  cs->reserved_[0] = (void *)*len;
  (void)cflame_callsite_register(cs);
  return cs;
}

/* Each module's entries, newest first, so that an unload visits only its
 * own: a list of modules, pushed under the table lock, read without it. */
typedef struct modlist_s {
  const void *module;
  cflame__fnent_t *first;
  struct modlist_s *next;
} modlist_t;
static modlist_t *modules;

/* Adds e to its module's list (table lock held); an entry outside any
 * module, or with no memory for the list, is in none (never retired). */
NO_INSTR static void module_add(cflame__fnent_t *e) {
  if (!e->module)
    return;
  modlist_t *l = modules;
  while (l && l->module != e->module)
    l = l->next;
  if (!l) {
    if (!(l = calloc(1, sizeof *l)))
      return;
    l->module = e->module;
    l->next = modules;
    __atomic_store_n(&modules, l, __ATOMIC_RELEASE);
  }
  e->sibling = l->first;
  __atomic_store_n(&l->first, e, __ATOMIC_RELEASE);
}

NO_INSTR cflame__fnent_t *cflame__fntab_add(const void *fn) {
  pthread_mutex_lock(&table_lock);
  cflame__fnent_t *e = cflame__fntab_find(fn);
  if (!e && table_reserve() == 0 && (e = calloc(1, sizeof *e))) {
    e->fn = fn;
    e->cs = callsite_new(fn, e);
    module_add(e);
    table_put(table, e);
    table_used++;
  }
  pthread_mutex_unlock(&table_lock);
  return e;
}

/* A module was unloaded (inside dlclose, so no lock; or at exit): its
 * functions' entries match no address any more, and their callsites stop
 * matching the hooks' fast path, so that a function loaded later at one of
 * their addresses gets an entry of its own. Its own entries only: at exit
 * every module still loaded comes here. */
NO_INSTR static void module_unloaded(const void *module) {
  modlist_t *l = __atomic_load_n(&modules, __ATOMIC_ACQUIRE);
  while (l && l->module != module)
    l = l->next;
  for (cflame__fnent_t *e = l ? __atomic_load_n(&l->first, __ATOMIC_ACQUIRE)
                              : NULL;
       e; e = e->sibling) {
    st_relaxed(&e->fn, NULL);
    if (e->cs)
      st_relaxed(&e->cs->interest_, CFLAME__INTEREST_DEAD);
  }
}

NO_INSTR void cflame__fntab_setup(void) {
  pthread_once(&setup_once, setup);
}
