/* Private to cflame: fault counters and the error callback (every layer). */
#ifndef CFLAME_REPORT_H
#define CFLAME_REPORT_H

#include "util.h"

typedef struct cflame__counters_s {
  uint64_t faults[CFLAME_FAULT_KIND_COUNT_];
  uint64_t threads, spans_closed_at_exit, lines_written, bytes_written,
      bytes_lost, events, frame_marks, spans_live, records_dropped, slow_enters;
  int last_errno;
} cflame__counters_t;
extern cflame__counters_t cflame__counters;

/* Counts one fault of `kind` and reports the first one of each kind since
 * the last reset through the error callback. */
void cflame__report(cflame_fault_t kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Same, for an occurrence already counted (e.g. in a signal handler). */
void cflame__report_counted(cflame_fault_t kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Held across fork (the innermost lock of all). */
void cflame__report_lock_for_fork(void);
void cflame__report_unlock_after_fork(void);
/* Reports every kind again from now on (a new sink was installed). */
void cflame__report_reset(void);

#endif /* CFLAME_REPORT_H */
