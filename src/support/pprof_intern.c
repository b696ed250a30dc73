/* Interning for the pprof encoder: arrays plus open-addressing indexes. */
#include "pprof_intern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES ((size_t)UINT32_MAX - 1)

typedef cflame__pprof_idx_t idx_t;

static uint32_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (uint32_t)h;
}

static uint32_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return mix(h);
}

/* arr grown to hold `need` elements (arr itself if it already does), or
 * NULL with arr left as it was. */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem,
                  size_t *mem) {
  if (need <= *cap)
    return arr;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  if (c > SIZE_MAX / elem)
    return NULL;
  void *q = realloc(arr, c * elem);
  if (!q)
    return NULL;
  *mem += (c - *cap) * elem;
  *cap = c;
  return q;
}

/* Rehashes into twice the slots; entry e's hash is the uint32 at
 * entries + e * stride + hoff. */
static int ix_grow(idx_t *ix, const char *entries, size_t stride, size_t hoff,
                   size_t *mem) {
  size_t n = ix->slot ? (ix->mask + 1) * 2 : 256;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s)
    return -ENOMEM;
  for (size_t e = 0; e < ix->used; e++) {
    uint32_t h;
    memcpy(&h, entries + e * stride + hoff, sizeof h);
    size_t i = h & (n - 1);
    while (s[i])
      i = (i + 1) & (n - 1);
    s[i] = (uint32_t)e + 1;
  }
  *mem += (n - (ix->slot ? ix->mask + 1 : 0)) * sizeof *s;
  free(ix->slot);
  ix->slot = s;
  ix->mask = n - 1;
  return 0;
}

/* Makes room for entry number n in a table and its index: 0 or -ENOMEM.
 * *q is the table's address after (NULL: unchanged), stored by the caller. */
static int room(cflame__pprof_tab_t *t, void **q, void *arr, size_t *cap,
                size_t n, size_t elem, idx_t *ix, size_t hoff) {
  if (n >= MAX_ENTRIES || !(*q = grow(arr, cap, n + 1, elem, &t->mem)))
    return -ENOMEM;
  if ((ix->used + 1) * 2 > (ix->slot ? ix->mask + 1 : 0))
    return ix_grow(ix, *q, elem, hoff, &t->mem);
  return 0;
}

/* Enters the new entry ix->used (hash h) into the index; its id. */
static uint32_t ix_add(idx_t *ix, uint32_t h) {
  size_t i = h & ix->mask;
  while (ix->slot[i])
    i = (i + 1) & ix->mask;
  ix->slot[i] = (uint32_t)++ix->used;
  return ix->slot[i];
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t k = c < 0x80                 ? 1
             : c >= 0xC2 && c <= 0xDF ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (k == 0 || k > n)
    return 0;
  for (size_t i = 1; i < k; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
      (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
    return 0; /* overlong, surrogate, above U+10FFFF */
  return k;
}

/* Copies s[0..n) to dst with each invalid UTF-8 byte turned into '?'. */
static void utf8_repair(char *dst, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t k = utf8_len((const unsigned char *)s + i, n - i);
    if (k == 0) {
      dst[i++] = '?';
      continue;
    }
    memcpy(dst + i, s + i, k);
    i += k;
  }
}

int64_t cflame__pprof_intern_string(cflame__pprof_tab_t *t, const char *s,
                                    size_t n) {
  if (n > UINT32_MAX)
    n = UINT32_MAX; /* clamp: a string's length is a uint32 here */
  char *c = grow(t->chars, &t->chars_cap, t->chars_len + n + 1, 1, &t->mem);
  if (!c)
    return -1;
  t->chars = c;
  char *tmp = t->chars + t->chars_len; /* repaired, not yet committed */
  utf8_repair(tmp, s, n);
  uint32_t h = hash_bytes(tmp, n);
  for (size_t i = h & t->str_ix.mask; t->str_ix.slot && t->str_ix.slot[i];
       i = (i + 1) & t->str_ix.mask) {
    const cflame__pprof_str_t *e = &t->str[t->str_ix.slot[i] - 1];
    if (e->h == h && e->len == n && !memcmp(t->chars + e->off, tmp, n))
      return t->str_ix.slot[i] - 1;
  }
  void *q = NULL;
  int rc = room(t, &q, t->str, &t->str_cap, t->nstr, sizeof *t->str, &t->str_ix,
                offsetof(cflame__pprof_str_t, h));
  if (q)
    t->str = q;
  if (rc)
    return -1;
  t->str[t->nstr] = (cflame__pprof_str_t){t->chars_len, (uint32_t)n, h};
  t->chars_len += n;
  t->nstr = ix_add(&t->str_ix, h);
  return (int64_t)t->nstr - 1;
}

uint64_t cflame__pprof_intern_function(cflame__pprof_tab_t *t, uint32_t name,
                                       uint32_t file, int64_t start_line) {
  uint32_t h = mix((uint64_t)name << 32 ^ file);
  for (size_t i = h & t->fn_ix.mask; t->fn_ix.slot && t->fn_ix.slot[i];
       i = (i + 1) & t->fn_ix.mask) {
    const cflame__pprof_fn_t *e = &t->fns[t->fn_ix.slot[i] - 1];
    if (e->name == name && e->file == file)
      return t->fn_ix.slot[i];
  }
  void *q = NULL;
  int rc = room(t, &q, t->fns, &t->fn_cap, t->nfn, sizeof *t->fns, &t->fn_ix,
                offsetof(cflame__pprof_fn_t, h));
  if (q)
    t->fns = q;
  if (rc)
    return 0;
  t->fns[t->nfn] = (cflame__pprof_fn_t){name, file, h, start_line};
  return t->nfn = ix_add(&t->fn_ix, h);
}

uint64_t cflame__pprof_intern_location(cflame__pprof_tab_t *t, uint64_t fid,
                                       int64_t line) {
  if (fid == 0 || fid > t->nfn)
    return 0;
  uint32_t h = mix(fid * 0x9e3779b97f4a7c15ULL ^ (uint64_t)line);
  for (size_t i = h & t->loc_ix.mask; t->loc_ix.slot && t->loc_ix.slot[i];
       i = (i + 1) & t->loc_ix.mask) {
    const cflame__pprof_loc_t *e = &t->locs[t->loc_ix.slot[i] - 1];
    if (e->fid == fid && e->line == line)
      return t->loc_ix.slot[i];
  }
  void *q = NULL;
  int rc = room(t, &q, t->locs, &t->loc_cap, t->nloc, sizeof *t->locs,
                &t->loc_ix, offsetof(cflame__pprof_loc_t, h));
  if (q)
    t->locs = q;
  if (rc)
    return 0;
  t->locs[t->nloc] = (cflame__pprof_loc_t){fid, line, h};
  return t->nloc = ix_add(&t->loc_ix, h);
}

void cflame__pprof_intern_free(cflame__pprof_tab_t *t) {
  free(t->chars);
  free(t->str);
  free(t->fns);
  free(t->locs);
  free(t->str_ix.slot);
  free(t->fn_ix.slot);
  free(t->loc_ix.slot);
  memset(t, 0, sizeof *t);
}
