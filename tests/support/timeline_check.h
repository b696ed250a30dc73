/* private to cflame's tests: strict checker for timeline files (Chrome Trace
 * Event Format, JSON array form), as the timeline sink must write them. */
#ifndef CFLAME_TESTS_TIMELINE_CHECK_H
#define CFLAME_TESTS_TIMELINE_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* The file (LF = "\n", EVENT = one JSON object on one line, no CR or LF in
 * it; spaces and tabs between its tokens are allowed, not before or after
 * it):
 *
 *   complete = "[" LF "]" LF
 *            / "[" LF EVENT *( "," LF EVENT ) LF "]" LF
 *   cut      = "[" LF [ EVENT *( "," LF EVENT ) [ "," LF / LF ] ]
 *
 * A writer that emits "[\n", then each event followed by ",\n" (or preceded
 * by ",\n" after the first) and "\n]\n" at the end produces a complete file,
 * and a cut one at any point where it stopped between lines or events. A
 * complete file is strict JSON (RFC 8259) as it is; a cut file is read the
 * way speedscope and Chrome read it: with a trailing ",\n" dropped and "]"
 * appended, which is then strict JSON too. Anything else is rejected: BOM,
 * empty file, blank lines, CRLF, half an event at the end, a comma after the
 * last event of a complete file, bytes after "]\n". A member of an event
 * may not repeat (a key inside "args" may: RFC 8259 allows it).
 *
 * Events, in file order (pid and tid non-negative integers, ts and dur
 * numbers >= 0 in microseconds):
 *   every event: "ph" one of B E X i C b e s f M, "pid";
 *   B E X i(s:"t" or no s) s f b e: "tid" and "ts"; M thread_name and
 *     thread_sort_index: "tid"; C, i(s:"g"/"p"): "ts";
 *   B X i C b e s f: "name" string; E: "name" optional;
 *   X: "dur"; i: "s" if present one of "t" "p" "g";
 *   M: "name" one of thread_name process_name (args.name a string) or
 *     thread_sort_index (args.sort_index an integer);
 *   C: "args" an object of one or more numbers;
 *   b e s f: "cat" string and "id" (string or non-negative integer);
 *   f: "bp":"e".
 * Per thread (pid, tid): ts of B E X and thread-scope i events
 * non-decreasing in file order; E closes the innermost open B (same name
 * if E has one); no E without B; an X lies inside the slice that
 * encloses it (B or X) and a B ends before an enclosing X does. Every
 * thread that has events is named by an M thread_name event. Async b/e nest
 * per (cat, id): e closes the last open b of that key (same name if e has
 * one), not before it in time. Flows, checked once the whole file is read
 * (viewers bind them by time, so they may come in any file order): each s
 * and f lies inside a slice of its thread that begins before it in the
 * file (start <= ts < end, or ts == start; Perfetto reads one ts in file
 * order, so a slice starting at the flow's ts after it is not its); per
 * (cat, id, name) the i-th s in time matches the i-th f, with ts(f) >=
 * ts(s). At the end of a complete file every B slice, async b and flow s is
 * closed or matched; a cut file may leave them open (the writer was
 * stopped).
 *
 * For a writer: the time order is per thread in FILE order, and an X is
 * checked against the slices open at its ts. So an X written when its span
 * ends must have no X or B/E children written before it (their ts would be
 * later than its own): write spans with children as B/E, or X for leaves
 * only. speedscope 1.25.0 also needs a name on every E (see
 * TIMELINE_CHECK_E_NAMES). */

typedef enum timeline_rule_e {
  TL_OK = 0,
  TL_IO,        /* the file cannot be read (check_file only) */
  TL_FRAMING,   /* the file grammar above */
  TL_JSON,      /* an event line is not strict JSON */
  TL_FIELD,     /* a required member missing or of the wrong type/value */
  TL_ORDER,     /* ts decreasing within a thread */
  TL_NESTING,   /* B/E/X nesting, E without B, name mismatch, unclosed B */
  TL_NAMES,     /* a thread with events has no thread_name */
  TL_ASYNC,     /* b/e pairing */
  TL_FLOW,      /* s/f pairing or binding */
  TL_COUNTER,   /* C args not all numbers */
  TL_INCOMPLETE /* cut file while TIMELINE_CHECK_COMPLETE */
} timeline_rule_t;

typedef struct timeline_check_error_s {
  timeline_rule_t rule;
  size_t line;   /* 1-based line of the problem, 0 = the file as a whole */
  size_t byte;   /* 0-based byte offset of the problem in the file */
  char msg[256]; /* what is wrong, printable ASCII */
} timeline_check_error_t;

enum {
  /* reject cut files (TL_INCOMPLETE) */
  TIMELINE_CHECK_COMPLETE = 1,
  /* require "name" on E events too (TL_FIELD): speedscope 1.25.0 leaves the
   * B open when its E has no name, so the slice reads as 0 long */
  TIMELINE_CHECK_E_NAMES = 2
};

/* One thread (pid, tid) of a file that passed. */
typedef struct timeline_thread_s {
  uint64_t pid, tid;
  char name[128];  /* args.name of its thread_name (cut to 127 bytes) */
  size_t events;   /* B E X i s f b e events on it */
  size_t slices;   /* complete B/E pairs and X events, at any depth */
  uint64_t top_ns; /* sum of top-level slice durations, in ns */
} timeline_thread_t;

typedef struct timeline_summary_s {
  int cut;                    /* 1 if the file was cut (see the grammar) */
  size_t events;              /* event lines */
  size_t nthreads;            /* threads, in order of first event or name */
  timeline_thread_t *threads; /* malloc'd; free with timeline_summary_free */
} timeline_summary_t;

/* Returns 0 if buf[0..len) passes every rule above, else -1 with the first
 * problem in file order in *err. On success *sum (may be NULL) gets the
 * per-thread figures; a duration is end ts - start ts converted to ns, exact
 * for timestamps with at most three decimals and no exponent. Open slices
 * of a cut file do not count. err may be NULL. */
int timeline_check(const char *buf, size_t len, unsigned flags,
                   timeline_check_error_t *err, timeline_summary_t *sum);

/* Reads a whole file and checks it; same return. An unreadable file gives
 * -1 with err->rule == TL_IO. */
int timeline_check_file(const char *path, unsigned flags,
                        timeline_check_error_t *err, timeline_summary_t *sum);

/* The thread (pid, tid) of a summary, or NULL. */
const timeline_thread_t *timeline_thread(const timeline_summary_t *sum,
                                         uint64_t pid, uint64_t tid);

/* Frees the threads of a summary; safe on a zeroed or freed one. */
void timeline_summary_free(timeline_summary_t *sum);

#endif
