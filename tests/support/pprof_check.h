/* Private to cflame's tests: a strict decoder and validator of pprof's
 * profile.proto (uncompressed), independent of src/pprof_enc.c. */
#ifndef CFLAME_TESTS_PPROF_CHECK_H
#define CFLAME_TESTS_PPROF_CHECK_H

#include <stddef.h>

/* One distinct stack and its totals over every sample with that stack. */
typedef struct pprof_stack_s {
  char *stack;     /* function names root first, joined by ';' */
  long long calls; /* sum of the values of sample type "calls" (0: none) */
  long long wall;  /* sum of the values of sample type "wall" (0: none) */
} pprof_stack_t;

typedef struct pprof_result_s {
  pprof_stack_t *stacks; /* merged, sorted bytewise by stack */
  size_t nstacks;
  size_t samples, locations, functions, mappings, strings, sample_types;
  long long time_nanos, duration_nanos, period;
  char period_type[64]; /* "type/unit", e.g. "wall/nanoseconds" */
  char error[256];      /* why the file is invalid, with the byte offset */
} pprof_result_t;

enum {
  /* the `thread` string label of each sample becomes the root frame, as
   * in folded output (samples without one get "[no thread]") */
  PPROF_CHECK_THREAD_ROOT = 1
};

/* Decodes buf[0..len) and checks the encoding rules: well-formed wire
 * format (varints of at most 10 bytes, lengths in bounds, the wire type of
 * every known field, no groups), strings valid UTF-8, string_table[0] == "",
 * every string index in range, mapping/location/function ids non-zero and
 * unique per kind, every referenced mapping/location/function present,
 * each sample holding one value per sample type, at least one sample type,
 * period_type present. Returns 0 and fills *r (free with pprof_result_free)
 * or -1 with r->error set (r holds nothing to free then). */
int pprof_check(const void *buf, size_t len, unsigned flags, pprof_result_t *r);

/* Same on a whole file; -1 with r->error set if it cannot be read. */
int pprof_check_file(const char *path, unsigned flags, pprof_result_t *r);

/* The stack `stack` in r, or NULL. */
const pprof_stack_t *pprof_find(const pprof_result_t *r, const char *stack);

/* Compares r's wall totals per stack with folded text buf[0..len) (lines
 * "stack count", repeated stacks summed): decode with
 * PPROF_CHECK_THREAD_ROOT, since the folded root frame is the thread. A
 * stack whose wall is 0 may be absent from the folded text (it never holds
 * a 0). Returns 0 if they agree, else -1 with the first difference in msg
 * (capacity cap). */
/* Lets pprof_compare_folded accept walls within `rel` of each other, or
 * within 1 us (default 0: exact). For real clocks only: two sinks dropped at different
 * moments convert ticks with a rate refined in between. */
void pprof_compare_tolerance(double rel);

int pprof_compare_folded(const pprof_result_t *r, const char *buf, size_t len,
                         char *msg, size_t cap);

/* Frees what pprof_check allocated in r; safe twice. */
void pprof_result_free(pprof_result_t *r);

#endif /* CFLAME_TESTS_PPROF_CHECK_H */
