/* Private to cflame: the interned tables of the pprof encoder. */
#ifndef CFLAME_PPROF_INTERN_H
#define CFLAME_PPROF_INTERN_H

/* Strings, functions and locations, each stored once in an array (id or
 * index = position, +1 for ids) with an open-addressing hash index of
 * uint32 slots kept at most half full. An entry is never moved within its
 * array's order and never removed, so ids stay valid until free. Each
 * function returns "none" (-1 / 0) when out of memory and then leaves the
 * tables as they were, apart from spare capacity. */

#include <stddef.h>
#include <stdint.h>

typedef struct cflame__pprof_str_s {
  size_t off; /* in chars */
  uint32_t len, h;
} cflame__pprof_str_t;

typedef struct cflame__pprof_fn_s {
  uint32_t name, file, h; /* string indexes; file 0: none */
  int64_t start_line;
} cflame__pprof_fn_t;

typedef struct cflame__pprof_loc_s {
  uint64_t fid;
  int64_t line;
  uint32_t h;
} cflame__pprof_loc_t;

typedef struct cflame__pprof_idx_s {
  uint32_t *slot; /* entry index + 1; 0 is empty */
  size_t mask, used;
} cflame__pprof_idx_t;

typedef struct cflame__pprof_tab_s {
  char *chars; /* every string's bytes, back to back */
  size_t chars_len, chars_cap;
  cflame__pprof_str_t *str;
  cflame__pprof_fn_t *fns;
  cflame__pprof_loc_t *locs;
  size_t nstr, nfn, nloc, str_cap, fn_cap, loc_cap;
  cflame__pprof_idx_t str_ix, fn_ix, loc_ix;
  size_t mem; /* bytes allocated */
} cflame__pprof_tab_t;

/* Index of s[0..n) in the string table, adding it if new, with each
 * invalid UTF-8 byte replaced by '?'; -1 if out of memory. */
int64_t cflame__pprof_intern_string(cflame__pprof_tab_t *t, const char *s,
                                    size_t n);

/* Id (>= 1) of the function with these name and file string indexes; a new
 * one keeps start_line. 0 if out of memory. */
uint64_t cflame__pprof_intern_function(cflame__pprof_tab_t *t, uint32_t name,
                                       uint32_t file, int64_t start_line);

/* Id (>= 1) of the location (function id, line); 0 if out of memory or fid
 * is not a function id of t. */
uint64_t cflame__pprof_intern_location(cflame__pprof_tab_t *t, uint64_t fid,
                                       int64_t line);

/* Frees every table; t is then empty and usable again. */
void cflame__pprof_intern_free(cflame__pprof_tab_t *t);

#endif /* CFLAME_PPROF_INTERN_H */
