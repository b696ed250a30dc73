/* Function names for auto-instrumentation, read from the ELF symbol tables
 * of the executable and of every loaded shared object (libc only: it finds
 * the module through platform.h, then maps the module's file and reads
 * .symtab, or .dynsym when the file is stripped). A module is read once, the
 * first time one of its addresses is looked up, and its names are copied:
 * nothing here points into memory that dlclose can unmap. */
#include "symbols.h"

#include "platform.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NO_INSTR __attribute__((no_instrument_function))

typedef struct sym_s {
  uint64_t value; /* st_value: address relative to the load bias */
  uint64_t size;
  uint32_t name;  /* offset into the module's name pool */
  uint32_t rank;  /* of aliases of one address, the lowest names it */
} sym_t;

/* Snapshots are never freed: callsite names point into them. */
typedef struct mod_s {
  uintptr_t bias;
  char *path;
  char *stem;
  sym_t *syms;
  size_t n;
  char *pool;
  uint64_t dso_handle; /* st_value of __dso_handle (.symtab), 0 if none */
  int gone;            /* unloaded (atomic: set inside dlclose) */
  struct mod_s *next;
} mod_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static mod_t *mods;
static size_t nsyms;

/* --- reading one ELF file ------------------------------------------------ */

#if UINTPTR_MAX > 0xffffffffu
#define NATIVE_CLASS ELFCLASS64
#define ST_TYPE ELF64_ST_TYPE
#define ST_BIND ELF64_ST_BIND
#define ElfW(type) Elf64_##type
#else
#define NATIVE_CLASS ELFCLASS32
#define ST_TYPE ELF32_ST_TYPE
#define ST_BIND ELF32_ST_BIND
#define ElfW(type) Elf32_##type
#endif

NO_INSTR static int in_file(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

/* A named function defined in this file (an unnamed one is as good as
 * none: its address reads module+0xoffset). */
NO_INSTR static int is_func(const ElfW(Sym) *s, const char *str,
                            uint64_t strsize) {
  return ST_TYPE(s->st_info) == STT_FUNC && s->st_shndx != SHN_UNDEF &&
         s->st_value != 0 && s->st_name > 0 && s->st_name < strsize &&
         str[s->st_name] != '\0';
}

/* By address; of aliases, global names first, then names without a leading
 * underscore (getpid, not __getpid), then the first in the file (names are
 * pooled in file order), so the choice is deterministic. */
NO_INSTR static int cmp_sym(const void *a, const void *b) {
  const sym_t *x = a, *y = b;
  if (x->value != y->value)
    return x->value < y->value ? -1 : 1;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  return (x->name > y->name) - (x->name < y->name);
}

/* The section whose symbols to use: .symtab (static functions too), else
 * .dynsym; NULL if the file has neither (or is malformed). */
NO_INSTR static const ElfW(Shdr) *
pick_table(const unsigned char *map, uint64_t size) {
  const ElfW(Ehdr) *eh = (const void *)map;
  if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] != NATIVE_CLASS ||
      eh->e_shentsize != sizeof(ElfW(Shdr)) ||
      !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr)), size))
    return NULL;
  const ElfW(Shdr) *sh = (const void *)(map + eh->e_shoff), *dyn = NULL;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    const ElfW(Shdr) *s = &sh[i];
    if (s->sh_type != SHT_SYMTAB && s->sh_type != SHT_DYNSYM)
      continue;
    if (s->sh_link >= eh->e_shnum || s->sh_entsize != sizeof(ElfW(Sym)) ||
        !in_file(s->sh_offset, s->sh_size, size) ||
        !in_file(sh[s->sh_link].sh_offset, sh[s->sh_link].sh_size, size))
      continue;
    if (s->sh_type == SHT_SYMTAB)
      return s;
    dyn = s;
  }
  return dyn;
}

/* Copies the function symbols of `tab` into m (sorted by address, one per
 * address). Returns 0 or -1 (out of memory). */
NO_INSTR static int copy_table(mod_t *m, const unsigned char *map,
                               const ElfW(Shdr) *tab) {
  const ElfW(Ehdr) *eh = (const void *)map;
  const ElfW(Shdr) *strsec =
      (const ElfW(Shdr) *)(map + eh->e_shoff) + tab->sh_link;
  const char *str = (const char *)map + strsec->sh_offset;
  uint64_t strsize = strsec->sh_size;
  const ElfW(Sym) *sym = (const void *)(map + tab->sh_offset);
  size_t n = tab->sh_size / sizeof *sym, count = 0, bytes = 0;
  for (size_t i = 0; i < n; i++)
    if (is_func(&sym[i], str, strsize)) {
      count++;
      bytes += strnlen(str + sym[i].st_name, strsize - sym[i].st_name) + 1;
    }
  if (count == 0 || bytes > UINT32_MAX)
    return 0;
  m->syms = malloc(count * sizeof *m->syms);
  m->pool = malloc(bytes);
  if (!m->syms || !m->pool) {
    free(m->syms);
    free(m->pool);
    m->syms = NULL;
    m->pool = NULL;
    return -1;
  }
  size_t k = 0, at = 0;
  for (size_t i = 0; i < n; i++) {
    if (tab->sh_type == SHT_SYMTAB && sym[i].st_shndx != SHN_UNDEF &&
        sym[i].st_name < strsize &&
        strncmp(str + sym[i].st_name, "__dso_handle",
                strsize - sym[i].st_name) == 0)
      m->dso_handle = sym[i].st_value;
    if (!is_func(&sym[i], str, strsize))
      continue;
    const char *s = str + sym[i].st_name;
    size_t len = strnlen(s, strsize - sym[i].st_name);
    memcpy(m->pool + at, s, len);
    m->pool[at + len] = '\0';
    m->syms[k].value = sym[i].st_value;
    m->syms[k].size = sym[i].st_size;
    m->syms[k].name = (uint32_t)at;
    m->syms[k].rank =
        (ST_BIND(sym[i].st_info) == STB_LOCAL) * 2u + (s[0] == '_');
    at += len + 1;
    k++;
  }
  qsort(m->syms, count, sizeof *m->syms, cmp_sym);
  size_t out = 0; /* aliases: keep the first (global) name per address */
  for (size_t i = 0; i < count; i++)
    if (out == 0 || m->syms[out - 1].value != m->syms[i].value)
      m->syms[out++] = m->syms[i];
  m->n = out;
  return 0;
}

/* Reads the symbols of the file at path into m; a file that cannot be read
 * leaves m without symbols (its addresses read module+0xoffset). */
NO_INSTR static int read_file(mod_t *m, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  struct stat st;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return 0;
  int rc = 0;
  const ElfW(Shdr) *tab = pick_table(map, (uint64_t)st.st_size);
  if (tab)
    rc = copy_table(m, map, tab);
  munmap(map, (size_t)st.st_size);
  return rc;
}

/* --- modules -------------------------------------------------------------- */

typedef struct find_s {
  uintptr_t addr;
  uintptr_t bias;
  int found;
  int is_exe; /* the executable's dlpi_name is "" */
  char path[PATH_MAX];
} find_t;

/* "libfoo.so.1" -> "libfoo", "app" -> "app", "tool.bin" -> "tool". */
NO_INSTR static char *stem_of(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *so = strstr(base, ".so");
  const char *dot = strrchr(base, '.');
  size_t n = so && so != base ? (size_t)(so - base)
             : dot && dot != base ? (size_t)(dot - base)
                                  : strlen(base);
  if (n == 0) {
    base = "[unknown]";
    n = strlen(base);
  }
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, base, n);
    s[n] = '\0';
  }
  return s;
}

/* glibc's (and every C++ ABI's): run fn(arg) when the object whose
 * __dso_handle is dso is unloaded, or at exit. */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static void (*unload_listener)(const void *module);

NO_INSTR void cflame__symbols_on_unload(void (*fn)(const void *module)) {
  __atomic_store_n(&unload_listener, fn, __ATOMIC_RELEASE);
}

/* Run by the loader as the module goes (or at exit, for one still loaded):
 * a later lookup at its addresses reads whatever is mapped there then. The
 * module's snapshot stays: names already given out point into it. */
NO_INSTR static void module_unloaded(void *arg) {
  mod_t *m = arg;
  __atomic_store_n(&m->gone, 1, __ATOMIC_RELEASE); /* no lock: see .h */
  void (*fn)(const void *) =
      __atomic_load_n(&unload_listener, __ATOMIC_ACQUIRE);
  if (fn)
    fn(m);
}

/* The snapshot of the module found by f, read on first use (lock held). */
NO_INSTR static mod_t *module_of(find_t *f) {
  /* The executable has no name in the loader's list: ask the kernel once
   * (a system call per lookup would be most of the cost of a lookup). */
  static char *exe;
  if (f->is_exe && !exe) {
    ssize_t n = readlink("/proc/self/exe", f->path, sizeof f->path - 1);
    f->path[n > 0 ? n : 0] = '\0';
    exe = strdup(n > 0 ? f->path : "[exe]");
    if (!exe)
      return NULL;
  }
  if (f->is_exe)
    snprintf(f->path, sizeof f->path, "%s", exe);
  /* Keyed by bias and path: a library unloaded and loaded again at another
   * address, or another file mapped at the same place, is a new module. */
  for (mod_t *m = mods; m; m = m->next)
    if (!__atomic_load_n(&m->gone, __ATOMIC_ACQUIRE) && m->bias == f->bias &&
        strcmp(m->path, f->path) == 0)
      return m;
  mod_t *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->bias = f->bias;
  m->path = strdup(f->path);
  m->stem = m->path ? stem_of(m->path) : NULL;
  if (!m->stem || read_file(m, m->path) != 0) {
    free(m->path);
    free(m->stem);
    free(m);
    return NULL;
  }
  nsyms += m->n;
  m->next = mods;
  mods = m;
  /* A shared object's destructors run __cxa_finalize on its __dso_handle
   * when dlclose unloads it: so this module's unload is known when it
   * happens (the executable's handle runs only at exit). */
  if (!f->is_exe && m->dso_handle)
    (void)__cxa_atexit(module_unloaded, m,
                       (void *)(m->bias + (uintptr_t)m->dso_handle));
  return m;
}

NO_INSTR static const sym_t *sym_at(const mod_t *m, uint64_t off) {
  size_t lo = 0, hi = m->n; /* first symbol above off */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->syms[mid].value <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0)
    return NULL;
  const sym_t *s = &m->syms[lo - 1];
  return off == s->value || off - s->value < s->size ? s : NULL;
}

/* "stem+0x1a2b" names, never freed either; chained (lock held) so that
 * they stay reachable whoever holds them. */
typedef struct oname_s {
  struct oname_s *next;
  char text[];
} oname_t;
static oname_t *onames;

NO_INSTR static char *offset_name(const char *stem, uint64_t off) {
  size_t n = strlen(stem) + 24;
  oname_t *o = malloc(sizeof *o + n);
  if (!o)
    return NULL;
  snprintf(o->text, n, "%s+0x%llx", stem, (unsigned long long)off);
  o->next = onames;
  onames = o;
  return o->text;
}

NO_INSTR int cflame__symbols_lookup(const void *addr, cflame__sym_t *out) {
  memset(out, 0, sizeof *out);
  find_t *f = malloc(sizeof *f); /* PATH_MAX is too much for some stacks */
  if (!f)
    return -1;
  memset(f, 0, offsetof(find_t, path));
  f->path[0] = '\0';
  f->addr = (uintptr_t)addr;
  int rc = -1;
  pthread_mutex_lock(&lock);
  f->found =
      cflame__plat_module_at(f->addr, &f->bias, f->path, sizeof f->path);
  f->is_exe = f->found && f->path[0] == '\0';
  if (!f->found) { /* not in any module: an anonymous mapping (JIT...) */
    out->module = "[unknown]";
    out->name = offset_name("[anon]", f->addr);
    rc = out->name ? 0 : -1;
    goto done;
  }
  mod_t *m = module_of(f);
  if (!m)
    goto done;
  uint64_t off = f->addr - f->bias;
  const sym_t *s = sym_at(m, off);
  out->module = m->stem;
  out->module_id = m;
  out->size = s ? s->size : 0;
  out->name = s ? m->pool + s->name : offset_name(m->stem, off);
  rc = out->name ? 0 : -1;
done:
  pthread_mutex_unlock(&lock);
  free(f);
  return rc;
}

NO_INSTR size_t cflame__symbols_count(void) {
  pthread_mutex_lock(&lock);
  size_t n = nsyms;
  pthread_mutex_unlock(&lock);
  return n;
}
