/* cflame/sink.h: write your own sink.
 *
 * The core records; sinks consume. A sink is a table of callbacks (all
 * optional) plus your own pointer, installed with cflame_sink_install,
 * which returns a guard (flush/drop it like any other). A sink declares at
 * install what it consumes, so a process pays only for what its sinks use:
 *
 *   CFLAME_SINK_TREES    at each flush, walk every thread's call tree: one
 *                        node per distinct stack, with its self time and
 *                        enter count (cflame_sink_each_thread, *_node).
 *   CFLAME_SINK_RECORDS  every thread's enter/exit records in time order,
 *                        delivered in batches as the per-thread rings drain
 *                        (at every flush, and when a ring fills up).
 *   CFLAME_SINK_EVENTS   events, frame marks and plot values, as they
 *                        happen (the emitting thread's records are drained
 *                        first, so a RECORDS sink has every record of that
 *                        thread up to the event's session_ns).
 *   CFLAME_SINK_FIELDS   span fields become part of frames (field variants
 *                        get their own sites and nodes).
 *   CFLAME_SINK_SPANS    registry spans' lifecycles: the `span` callback at
 *                        each cflame_span_new* and last close, and (with
 *                        RECORDS) a CFLAME_RECORD_SPAN record before each
 *                        enter of a registry span, naming it.
 *
 * Threading rules. Every callback runs with cflame's sink lock held, so
 * callbacks of all sinks are serialized; they must not call any cflame
 * function except the ones in this header and cflame_stats, and must not
 * block indefinitely (a recording thread whose ring is full waits for the
 * lock). `event` runs on the thread that emitted the event; `records` on
 * the thread that flushes or whose ring filled; the others on the thread
 * that installs, flushes or drops (at process exit: the exiting thread).
 * A callback can be entered from a signal handler only if the program
 * flushes from one (don't). Per-thread state a sink keeps lives in
 * *cflame_thread_data(t, g) and is handed back through thread_done.
 *
 * ABI: cflame_sink_t starts with its size; set it to sizeof(cflame_sink_t)
 * (later versions add callbacks at the end and ignore the ones an older
 * sink did not know). Structs filled by cflame carry reserved words.
 *
 * Errors: flush and close return 0 or a negative CFLAME_E* code, which the
 * guard call returns; faults worth counting go through cflame_on_error's
 * callback only via the built-in sinks (a user sink reports its own). */
#ifndef CFLAME_SINK_H
#define CFLAME_SINK_H

#include "../cflame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a sink consumes (cflame_sink_t.needs). */
enum {
  CFLAME_SINK_TREES = 1u << 0,
  CFLAME_SINK_RECORDS = 1u << 1,
  CFLAME_SINK_EVENTS = 1u << 2,
  CFLAME_SINK_FIELDS = 1u << 3,
  CFLAME_SINK_SPANS = 1u << 4,
  /* Precise mode, for sinks that take cflame's own cost out
   * (cflame_thread_own_ticks): while such a sink is installed, every span
   * reads the TSC fenced and fences its own work off the program's, so
   * that a pair costs the same around any work. Spans then cost about 4x
   * as much (README "Own cost"). Nothing changes with another clock. */
  CFLAME_SINK_PRECISE = 1u << 5
};

/* Sinks installed at once, of every kind together. */
#define CFLAME_SINKS_MAX 8

/* One recorded thread (opaque; valid during the callback that passed it). */
typedef struct cflame_thread_s cflame_thread_t;

/* Site ids of the two nodes that have no callsite. */
#define CFLAME_SITE_ROOT 0u
#define CFLAME_SITE_TRUNCATED 0xffffffffu

/* One node of a thread's call tree: one distinct stack. */
typedef struct cflame_node_s {
  uint32_t index;   /* 0 is the root (the thread itself) */
  uint32_t parent;  /* index of the parent node (the root's is 0) */
  uint32_t site;    /* cflame_site_info id, or CFLAME_SITE_* */
  uint32_t depth;   /* frames below the root */
  uint64_t self_ns; /* self time since the thread began recording */
  uint64_t enters;  /* times this stack was entered */
  uint64_t self_ticks; /* self time in clock ticks (cflame_sink_ticks_ns);
                          never read below zero, like self_ns */
  uint64_t reserved_[1];
} cflame_node_t;

/* A thread as a sink sees it. */
typedef struct cflame_thread_info_s {
  const char *name;  /* cflame_thread_name's, or "main" / "thread-N" */
  uint32_t number;   /* 0 for the main thread, N for thread-N */
  bool exited;       /* the thread is gone; this is its last flush */
  uint64_t start_ns; /* when it began recording, ns since the session began */
  uint64_t reserved_[4];
} cflame_thread_info_t;

/* A callsite or field variant, its texts sanitized like frame names. */
typedef struct cflame_site_info_s {
  const char *name;     /* never empty */
  const char *target;   /* "" when none */
  const char *file;     /* basename of the source file */
  const char *function; /* as the callsite gave it, or NULL (not sanitized) */
  int line;
  int level;            /* cflame_level_t */
  const char *fields;   /* "k=v, k2=v2" of a field variant, else NULL */
  size_t fields_len;
  uint32_t base;        /* the plain site of a variant; else the site itself */
  uint32_t reserved_[5];
} cflame_site_info_t;

/* Kinds of records. Each says the thread's current node changed at `ns`;
 * the time since the thread's previous record belongs to the node that was
 * current before it. */
typedef enum cflame_record_kind_e {
  CFLAME_RECORD_BEGIN = 0, /* records start here (thread start, or a
                              records sink joined); node: the current one */
  CFLAME_RECORD_ENTER = 1, /* a span was entered; node: the new one */
  CFLAME_RECORD_EXIT = 2,  /* the innermost span exited; node: the new top */
  CFLAME_RECORD_SWITCH = 3, /* the innermost span's frame changed (fields
                              recorded); node: its new node */
  CFLAME_RECORD_SPAN = 4    /* SPANS sinks only, and not a change: the next
                               record, an ENTER, enters the registry span
                               whose id (cflame_span_note_t.id) is in `ns`
                               (not a time); node: the number of this enter
                               of it, 1 for its first, counted over every
                               thread in the order they happened. Other
                               sinks never see this kind */
} cflame_record_kind_t;

typedef struct cflame_record_s {
  uint64_t ns;   /* since the session began */
  uint32_t node; /* node index in the thread's tree */
  uint32_t kind; /* cflame_record_kind_t */
} cflame_record_t;

/* A log event, a frame mark or a plot value. */
typedef enum cflame_event_kind_e {
  CFLAME_EVENT_LOG = 0,
  CFLAME_EVENT_FRAME_MARK = 1,
  CFLAME_EVENT_PLOT = 2 /* message: the plot name; value: its new value */
} cflame_event_kind_t;

typedef struct cflame_event_s {
  uint32_t kind;                /* cflame_event_kind_t */
  int level;                    /* cflame_level_t (frame marks: INFO) */
  uint32_t site;                /* the callsite's site id (frame marks: 0) */
  const char *message;          /* callsite name; frame mark name or NULL */
  const cflame_field_t *fields; /* valid during the callback */
  size_t nfields;
  const cflame_thread_t *thread;/* the emitting thread, or NULL (no memory) */
  uint64_t ns;                  /* event clock: the injected clock, else
                                   CLOCK_MONOTONIC, in ns */
  double value;                 /* CFLAME_EVENT_PLOT: the value; else 0 */
  uint64_t session_ns;          /* the record clock (cflame_record_t.ns):
                                   ns since the session began */
  uint64_t reserved_[2];
} cflame_event_t;

/* A registry span's creation or end (CFLAME_SINK_SPANS). */
typedef enum cflame_span_note_kind_e {
  CFLAME_SPAN_NEW = 0,  /* cflame_span_new* made it */
  CFLAME_SPAN_CLOSE = 1 /* its last reference is gone (cflame_span_close,
                           or the exit that held it last) */
} cflame_span_note_kind_t;

typedef struct cflame_span_note_s {
  uint32_t kind;       /* cflame_span_note_kind_t */
  uint32_t site;       /* the span's site with its fields recorded so far
                          (cflame_site_info) */
  uint64_t id;         /* never 0, unique among the process's registry
                          spans; CFLAME_RECORD_SPAN records carry it */
  uint32_t enters;     /* CLOSE: how many of its enters were numbered
                          (those made while a SPANS sink took RECORDS): its
                          CFLAME_RECORD_SPAN numbers run 1..enters, and some
                          may still sit in other threads' rings; NEW: 0 */
  const cflame_thread_t *thread; /* NEW: the creating thread, whose records
                          up to now were delivered first (NULL: no memory);
                          CLOSE: NULL */
  uint64_t session_ns; /* when, on the record clock */
  uint64_t reserved_[3];
} cflame_span_note_t;

/* The callbacks. Any may be NULL. `g` is the sink's own guard. */
typedef struct cflame_sink_s {
  size_t size;      /* sizeof(cflame_sink_t) */
  uint32_t needs;   /* CFLAME_SINK_* bits */
  const char *name; /* for messages: "flame", "fmt", ... */
  size_t ring;      /* RECORDS sinks: per-thread ring size wanted, in
                       records (0: 4096); the largest asked for is used */
  /* Once, at install, before any other callback. */
  void (*attach)(void *ud, cflame_guard_t *g);
  /* n records of thread t, in time order, continuing its previous batch. */
  void (*records)(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                  const cflame_record_t *r, size_t n);
  /* An event or frame mark, on the emitting thread. */
  void (*event)(void *ud, cflame_guard_t *g, const cflame_event_t *ev);
  /* cflame_guard_flush (and the flush at drop): every thread's records have
   * just been delivered; a TREES sink walks the trees now. */
  int (*flush)(void *ud, cflame_guard_t *g);
  /* t's state is about to be freed: release *cflame_thread_data(t, g),
   * passed here as data (called only when it is not NULL). */
  void (*thread_done)(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                      void *data);
  /* After the last flush at drop: close the output, free ud. */
  int (*close)(void *ud, cflame_guard_t *g);
  /* In a fork child, instead of close: discard buffered output unwritten
   * (it is the parent's) and free ud. */
  void (*forked)(void *ud, cflame_guard_t *g);
  /* CFLAME_SINK_SPANS: a registry span was made or ended, on the thread
   * that did it (like `event`; a CLOSE can come from a span's exit or
   * from a thread's exit). */
  void (*span)(void *ud, cflame_guard_t *g, const cflame_span_note_t *n);
} cflame_sink_t;

/* Installs a sink (the table is copied; ud is yours). Returns 0 with *out
 * its guard, CFLAME_EINVAL (bad size, NULL), CFLAME_EBUSY (already
 * CFLAME_SINKS_MAX sinks) or CFLAME_ENOMEM. */
CFLAME_API int cflame_sink_install(const cflame_sink_t *sink, void *ud,
                                   cflame_guard_t **out);

/* From a flush callback of a TREES sink: calls fn(ctx, t) for every thread
 * recorded in this session, living or exited since the last flush. Stops
 * and returns fn's value when it is not 0; else returns 0. */
CFLAME_API int cflame_sink_each_thread(cflame_guard_t *g,
                                       int (*fn)(void *ctx,
                                                 const cflame_thread_t *t),
                                       void *ctx);

/* Facts about t. */
CFLAME_API void cflame_thread_info(const cflame_thread_t *t,
                                   cflame_thread_info_t *out);

/* The number of nodes in t's tree (it only grows during a session). */
CFLAME_API uint32_t cflame_thread_nodes(const cflame_thread_t *t);

/* Node i of t's tree; returns 0, or -1 if i is out of range. Self time is
 * what the owner thread has charged so far (it may still be running). */
CFLAME_API int cflame_thread_node(const cflame_thread_t *t, uint32_t i,
                                  cflame_node_t *out);

/* The sink's per-thread pointer for t (starts NULL). */
CFLAME_API void **cflame_thread_data(const cflame_thread_t *t,
                                     const cflame_guard_t *g);

/* The site `site`; returns 0, or -1 for an unknown id (and the CFLAME_SITE_*
 * ids, which have no callsite). Texts live as long as the process. */
CFLAME_API int cflame_site_info(uint32_t site, cflame_site_info_t *out);

/* Clock ticks (cflame_node_t.self_ticks) as ns with the best rate known
 * now. The rate is refined as the program runs, so a sink that writes
 * differences of totals over several flushes should keep ticks and convert
 * both ends with the same call (never negative). */
CFLAME_API uint64_t cflame_sink_ticks_ns(uint64_t ticks);

/* cflame's own cost per span pair in clock ticks, measured at the first
 * call in a session (again if precise mode came or went): `in` lands in
 * each span's own self time (per enter of it), `out` in its parent's (per
 * enter of a child). 0 with an injected clock. */
CFLAME_API void cflame_sink_overhead(uint64_t *in_ticks, uint64_t *out_ticks);

/* t's node self times in ticks with cflame's own cost taken out (per node
 * index, clamped at 0), for the first n nodes at most (nodes only ever get
 * added, so size out from cflame_thread_nodes). Returns how many were
 * written, or -1 (out NULL). */
CFLAME_API int cflame_thread_own_ticks(const cflame_thread_t *t, uint64_t *out,
                                       uint32_t n);

/* The event clock now (what cflame_event_t.ns is measured with). */
CFLAME_API uint64_t cflame_sink_clock_ns(void);

/* From an event callback: the emitting thread's span context, like
 * "request{id=7}:parse", NUL-terminated in out; returns its length. */
CFLAME_API size_t cflame_event_context(char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* CFLAME_SINK_H */
