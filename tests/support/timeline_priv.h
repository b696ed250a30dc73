/* private to cflame's tests: state shared by timeline_check.c (file grammar,
 * end of file) and timeline_events.c (the rules of one event). */
#ifndef CFLAME_TESTS_TIMELINE_PRIV_H
#define CFLAME_TESTS_TIMELINE_PRIV_H

#include "json_parse.h"
#include "timeline_check.h"

/* An open slice of a thread: a B until its E, an X until its end. */
typedef struct tl_slice_s {
  int is_x;
  uint64_t start, end; /* ns; end only for X */
  char *name;
  size_t line;
} tl_slice_t;

typedef struct tl_thread_s {
  timeline_thread_t pub;
  int named;
  uint64_t last_ts;              /* ns of its last ordered event */
  size_t first_line, first_byte; /* of its first event */
  tl_slice_t *stack;
  size_t depth, cap;
  uint64_t (*spans)[3];          /* every slice seen: start, end (ns) and
                                    the line of its start */
  size_t nspans, capspans;
} tl_thread_t;

/* An open async b, or a flow s/f; key = cat NUL id-text (flows: then NUL
 * and the name). */
typedef struct tl_keyed_s {
  char *key;
  size_t klen;
  char *name;
  int is_f;
  uint64_t ts;
  size_t line, byte;
  size_t thr; /* flows: index of its thread */
} tl_keyed_t;

typedef struct tl_ctx_s {
  timeline_check_error_t *err;
  size_t line, byte; /* of the event being checked */
  size_t nevents;
  unsigned flags; /* TIMELINE_CHECK_* */
  tl_thread_t *thr;
  size_t nthr, capthr;
  tl_keyed_t *async, *flows;
  size_t nasync, capasync, nflows, capflows;
} tl_ctx_t;

/* Fills ctx->err (rule, line, message) and returns -1. */
int tl_fail(tl_ctx_t *c, timeline_rule_t rule, size_t byte, const char *fmt,
            ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Escapes s[0..n) to printable ASCII (at most 40 bytes shown) into buf. */
const char *tl_show(char *buf, size_t cap, const char *s, size_t n);

/* Notes slice [start, end] of t, for binding flows at the end. */
int tl_add_span(tl_ctx_t *c, tl_thread_t *t, uint64_t start, uint64_t end,
                size_t line);

/* Checks one event object against every per-event rule. */
int tl_event(tl_ctx_t *c, const json_value_t *ev);

#endif
