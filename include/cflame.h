/* cflame: wall-time spans for C, written as folded stacks for flamegraphs.
 *
 * Wrap code in span macros, install one or more sinks (a flame sink writes
 * folded stacks, the fmt sink prints events; <cflame/sink.h> lets you write
 * your own), and feed the output to inferno-flamegraph, flamegraph.pl or
 * speedscope. See README.md.
 *
 * Threading: every function here may be called from any thread. Span macros
 * touch only the calling thread's state and never lock. Setup/teardown
 * (installing sinks, cflame_guard_*, cflame_clock_*) serialize on one lock.
 */
#ifndef CFLAME_H
#define CFLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cflame/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CFLAME_ENABLED
#define CFLAME_ENABLED 1
#endif

#if defined(CFLAME_SHARED) && defined(__GNUC__)
#define CFLAME_API __attribute__((visibility("default")))
#else
#define CFLAME_API
#endif

/* The header's inline helpers (and cflame/cxx.h's) are never instrumented
 * when a program is built with -finstrument-functions (README,
 * auto-instrumentation): CFLAME__INLINE marks them. The C++ macros' lambdas
 * carry the attribute too (GCC honours it there; Clang 14 ignores it). */
#if defined(__GNUC__) || defined(__clang__)
#define CFLAME__NO_INSTRUMENT __attribute__((no_instrument_function))
#else
#define CFLAME__NO_INSTRUMENT
#endif
#define CFLAME__INLINE static inline CFLAME__NO_INSTRUMENT

/* Marks the old names kept for one release (see README "Changes"). */
#if defined(__GNUC__) || defined(__clang__)
#define CFLAME_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define CFLAME_DEPRECATED(msg)
#endif

/* --- return codes ------------------------------------------------------- */

/* Every setup/teardown call returns 0 or one of these negative codes. */
#define CFLAME_ERRNO_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(EBUSY, -2, "busy: a sink is installed, or CFLAME_SINKS_MAX of them")     \
  XX(ENOMEM, -3, "out of memory")                                              \
  XX(EIO, -4, "write error (see cflame_stats().last_errno)")                   \
  XX(EOPEN, -5, "cannot open the output file (see cflame_stats().last_errno)") \
  XX(ECLOSED, -6, "the guard was already dropped")                             \
  XX(EFORKED, -7, "the guard belongs to the parent process (after fork)")

enum {
#define CFLAME__ERR_ENUM(name, value, text) CFLAME_##name = value,
  CFLAME_ERRNO_MAP(CFLAME__ERR_ENUM)
#undef CFLAME__ERR_ENUM
  /* Old name of CFLAME_EFORKED. */
  CFLAME_ECHILD CFLAME_DEPRECATED("use CFLAME_EFORKED") = CFLAME_EFORKED
};

/* Static description of a CFLAME_E* code (or "unknown error"). */
CFLAME_API const char *cflame_strerror(int rc);

/* The library version as "MAJOR.MINOR.PATCH". */
CFLAME_API const char *cflame_version(void);

/* --- levels and callsites ------------------------------------------------ */

/* Levels of spans and events; spans default to INFO. */
typedef enum cflame_level_e {
  CFLAME_LEVEL_TRACE = 0,
  CFLAME_LEVEL_DEBUG = 1,
  CFLAME_LEVEL_INFO = 2,
  CFLAME_LEVEL_WARN = 3,
  CFLAME_LEVEL_ERROR = 4,
  /* Old names. */
  CFLAME_TRACE CFLAME_DEPRECATED("use CFLAME_LEVEL_TRACE") = 0,
  CFLAME_DEBUG CFLAME_DEPRECATED("use CFLAME_LEVEL_DEBUG") = 1,
  CFLAME_INFO CFLAME_DEPRECATED("use CFLAME_LEVEL_INFO") = 2,
  CFLAME_WARN CFLAME_DEPRECATED("use CFLAME_LEVEL_WARN") = 3,
  CFLAME_ERROR CFLAME_DEPRECATED("use CFLAME_LEVEL_ERROR") = 4
} cflame_level_t;

/* A callsite's cached interest (its interest_ field). */
enum {
  CFLAME_INTEREST_UNKNOWN = 0, /* not registered yet */
  CFLAME_INTEREST_OFF = 1,     /* filtered out */
  CFLAME_INTEREST_ON = 2       /* enabled */
};

/* A static descriptor made by each span macro. Fields marked internal are
 * owned by the library; zero them in static initializers. */
typedef struct cflame_callsite_s {
  const char *name;     /* span name; must outlive the program's use of it */
  const char *target;   /* module path, or NULL: stem of `file` */
  const char *file;     /* __FILE__ */
  int line;             /* __LINE__ */
  int level;            /* cflame_level_t */
  const char *function; /* __func__, or NULL */
  uint32_t id_;         /* internal: registry id, 0 until first use */
  uint32_t interest_;   /* internal: CFLAME_INTEREST_* */
  void *reserved_[2];   /* internal: zero ([0]: entered once) */
} cflame_callsite_t;

/* Registers cs (once; any thread) and returns its interest:
 * CFLAME_INTEREST_ON while a sink is installed and the filter enables it,
 * else _OFF (so spans cost what a filtered-out span does while nothing
 * records), or _UNKNOWN if out of memory. */
CFLAME_API uint32_t cflame_callsite_register(cflame_callsite_t *cs);

/* --- fields ----------------------------------------------------------- */

typedef enum cflame_field_type_e {
  CFLAME_FIELD_I64 = 0,
  CFLAME_FIELD_U64 = 1,
  CFLAME_FIELD_F64 = 2,
  CFLAME_FIELD_BOOL = 3,
  CFLAME_FIELD_STR = 4 /* copied (formatted) when used; NULL prints (null) */
} cflame_field_type_t;

/* One typed key=value; build with CFLAME_I64(...) etc. or CFLAME_FIELD. */
typedef struct cflame_field_s {
  const char *key;
  int type; /* cflame_field_type_t */
  union {
    int64_t i64;
    uint64_t u64;
    double f64;
    bool b;
    const char *str;
  } v;
} cflame_field_t;

CFLAME__INLINE cflame_field_t cflame__f_i64(const char *k, int64_t x) {
  cflame_field_t f;
  f.key = k;
  f.type = CFLAME_FIELD_I64;
  f.v.i64 = x;
  return f;
}
CFLAME__INLINE cflame_field_t cflame__f_u64(const char *k, uint64_t x) {
  cflame_field_t f;
  f.key = k;
  f.type = CFLAME_FIELD_U64;
  f.v.u64 = x;
  return f;
}
CFLAME__INLINE cflame_field_t cflame__f_f64(const char *k, double x) {
  cflame_field_t f;
  f.key = k;
  f.type = CFLAME_FIELD_F64;
  f.v.f64 = x;
  return f;
}
CFLAME__INLINE cflame_field_t cflame__f_bool(const char *k, bool x) {
  cflame_field_t f;
  f.key = k;
  f.type = CFLAME_FIELD_BOOL;
  f.v.b = x;
  return f;
}
CFLAME__INLINE cflame_field_t cflame__f_str(const char *k,
                                            const char *x) {
  cflame_field_t f;
  f.key = k;
  f.type = CFLAME_FIELD_STR;
  f.v.str = x;
  return f;
}

/* C casts in C; in C++ the same conversions without old-style casts, so
 * that user code built with -Wold-style-cast stays quiet. */
#ifdef __cplusplus
#define CFLAME__CAST(T, x) (static_cast<T>(x))
#define CFLAME__NULL nullptr
#else
#define CFLAME__CAST(T, x) ((T)(x))
#define CFLAME__NULL NULL
#endif

#define CFLAME_I64(k, x) cflame__f_i64((k), CFLAME__CAST(int64_t, x))
#define CFLAME_U64(k, x) cflame__f_u64((k), CFLAME__CAST(uint64_t, x))
#define CFLAME_F64(k, x) cflame__f_f64((k), CFLAME__CAST(double, x))
#define CFLAME_BOOL(k, x) cflame__f_bool((k), (x) ? true : false)
#define CFLAME_STR(k, x) cflame__f_str((k), (x))
/* Picks the field type from the value's C type (C++: by overloading, with
 * the same choices; see cflame/cxx.h). */
#ifdef __cplusplus
#define CFLAME_FIELD(k, x) ::cflame::detail::field((k), (x))
#else
#define CFLAME_FIELD(k, x)                                                     \
  _Generic((x),                                                                \
      _Bool: cflame__f_bool,                                                   \
      char *: cflame__f_str,                                                   \
      const char *: cflame__f_str,                                             \
      float: cflame__f_f64,                                                    \
      double: cflame__f_f64,                                                   \
      unsigned char: cflame__f_u64,                                            \
      unsigned short: cflame__f_u64,                                           \
      unsigned int: cflame__f_u64,                                             \
      unsigned long: cflame__f_u64,                                            \
      unsigned long long: cflame__f_u64,                                       \
      default: cflame__f_i64)((k), (x))
#endif


/* --- scoped spans --------------------------------------------------------- */

/* Identifies one entered scoped span; 0 means "nothing was entered". */
typedef uint64_t cflame_token_t;

/* Enters a scoped span at callsite cs on the calling thread and returns its
 * token. A no-op returning 0 while no sink is installed (or cs is NULL).
 * Called by CFLAME_SPAN and friends. */
CFLAME_API cflame_token_t cflame_scope_enter(cflame_callsite_t *cs);

/* Exits the scoped span `tok` on the calling thread. If spans entered after
 * it are still open they exit too (counted, reported once); a token that
 * already exited, belongs to another thread, or is 0 is ignored. */
CFLAME_API void cflame_scope_exit(cflame_token_t tok);

/* Enters a scoped span carrying fields (shown by the fmt sink, and in the
 * frame with the flame option fields_in_frame). Called by CFLAME_SPAN_F. */
CFLAME_API cflame_token_t cflame_scope_enter_f(cflame_callsite_t *cs,
                                               const struct cflame_field_s *f,
                                               size_t n);

/* Adds fields to the scoped span `tok` of the calling thread (appended as
 * k=v; with fields_in_frame the time from now on goes to the new frame). */
CFLAME_API void cflame_scope_record(cflame_token_t tok,
                                    const struct cflame_field_s *f, size_t n);

/* Enters a scoped span whose name is only known at run time: the name is
 * copied (once per distinct name, target and level; at most 65536 of them,
 * then further ones share a "[dynamic]" frame, counted). target may be
 * NULL. Costs a hash lookup more than cflame_scope_enter. */
CFLAME_API cflame_token_t cflame_scope_enter_dynamic(const char *name,
                                                     const char *target,
                                                     int level);

/* Heals spans jumped over (default on): a scoped span remembers where on
 * the C stack it was entered, and an enter from a shallower position (or
 * an enter of the same callsite at the same position, i.e. a re-entry)
 * closes the frames that a longjmp or an exception through C skipped,
 * counted as CFLAME_FAULT_UNWOUND. This assumes a scoped span ends in the
 * function that entered it or a deeper one; turn it off for programs that
 * return from a function with a scoped span still open on purpose, or
 * that switch C stacks (fibers) without cflame_fiber_suspend/resume.
 * Registry spans are never healed. Any thread, any time. */
CFLAME_API void cflame_unwind_auto(bool on);

/* A position on the calling thread's span stack (cflame_mark). */
typedef struct cflame_mark_s {
  uint64_t serial; /* internal */
  uint32_t depth;  /* internal */
  uint32_t reserved_;
} cflame_mark_t;

/* The calling thread's current span-stack position. */
CFLAME_API cflame_mark_t cflame_mark(void);

/* Closes the calling thread's spans entered after mark m was taken (at the
 * time of the call, counted as CFLAME_FAULT_UNWOUND): for code that leaves
 * frames without unwinding cflame's way and that healing cannot see
 * (switching C stacks, unwinding to a saved point by hand). Does nothing
 * if the marked span is no longer open. */
CFLAME_API void cflame_unwind(cflame_mark_t m);

/* The open spans of a fiber (ucontext, a coroutine with its own C stack),
 * set aside while it does not run. */
typedef struct cflame_fiber_s cflame_fiber_t;

/* A fiber with no spans yet; NULL if out of memory. */
CFLAME_API cflame_fiber_t *cflame_fiber_new(void);

/* Call on the scheduler's side right before switching to fiber f: its
 * spans are put back on top of the calling thread's stack (the same
 * tokens stay valid; on another thread too). Returns 0 or CFLAME_EINVAL
 * (NULL, or f already running). */
CFLAME_API int cflame_fiber_resume(cflame_fiber_t *f);

/* Call on the scheduler's side right after fiber f switched back: the
 * spans it opened and left open are taken off the thread's stack and kept
 * in f. Returns 0, CFLAME_EINVAL (f not running) or CFLAME_ENOMEM (its
 * spans are then closed, counted). */
CFLAME_API int cflame_fiber_suspend(cflame_fiber_t *f);

/* Frees f (NULL-safe); spans it still holds are dropped. */
CFLAME_API void cflame_fiber_free(cflame_fiber_t *f);

/* Names the calling thread's root frame (copied and sanitized). Default:
 * "main" for the main thread, "thread-N" for others in order of first use.
 * Returns 0 or CFLAME_EINVAL (NULL name) / CFLAME_ENOMEM. */
CFLAME_API int cflame_thread_name(const char *name);

/* --- clock ---------------------------------------------------------------- */

/* A clock returning nanoseconds from any fixed origin; must not go back. */
typedef uint64_t (*cflame_clock_fn)(void *ctx);

/* Uses fn(ctx) as the clock for every thread (NULL restores the built-in
 * one). Call while no sink is installed; returns 0 or CFLAME_EBUSY. */
CFLAME_API int cflame_clock_set(cflame_clock_fn fn, void *ctx);

typedef enum cflame_clock_source_e {
  CFLAME_CLOCK_AUTO = 0,      /* TSC where invariant, else MONOTONIC */
  CFLAME_CLOCK_TSC = 1,       /* the CPU's invariant time-stamp counter */
  CFLAME_CLOCK_MONOTONIC = 2  /* clock_gettime(CLOCK_MONOTONIC) */
} cflame_clock_source_t;

/* Picks the built-in clock source. Returns 0, CFLAME_EINVAL if the source is
 * not usable here (e.g. TSC on a CPU without an invariant TSC) or
 * CFLAME_EBUSY while a sink is installed. */
CFLAME_API int cflame_clock_use(cflame_clock_source_t source);

/* Name of the clock currently in use: "tsc", "monotonic" or "user". */
CFLAME_API const char *cflame_clock_name(void);

/* --- guards: installed sinks -------------------------------------------- */

/* Owns one installed sink (or, from cflame_init_env, every sink it
 * installed): flush it, drop it. Like tracing-flame's flush guard. */
typedef struct cflame_guard_s cflame_guard_t;

/* Writes buf[0..len). Returns the bytes written (> 0, may be short) or a
 * negative errno value; -EINTR and short writes are retried. */
typedef long (*cflame_write_fn)(void *ctx, const void *buf, size_t len);

/* Hands everything recorded so far to the guard's sink(s) and flushes their
 * output. Returns 0, CFLAME_EIO, CFLAME_ECLOSED, CFLAME_EFORKED (in a fork
 * child) or CFLAME_EINVAL (NULL). */
CFLAME_API int cflame_guard_flush(cflame_guard_t *g);

/* Flushes, uninstalls the sink(s) and closes the output. NULL-safe and
 * idempotent (a dropped guard stays a valid pointer that does nothing).
 * Returns 0 or the flush error. If never called, runs at process exit. */
CFLAME_API int cflame_guard_drop(cflame_guard_t *g);

/* --- flame sink ------------------------------------------------------------ */

typedef enum cflame_flame_mode_e {
  CFLAME_FLAME_AGGREGATE = 0, /* one line per distinct stack, at flush */
  CFLAME_FLAME_STREAM = 1     /* one line per enter/exit, in time order */
} cflame_flame_mode_t;

/* Flame sink options; start from cflame_flame_opts_default(). */
typedef struct cflame_flame_opts_s {
  cflame_flame_mode_t mode; /* default CFLAME_FLAME_AGGREGATE */
  bool empty_samples;       /* default true: time outside spans -> root */
  bool threads_collapsed;   /* default false: root "all-threads" if true */
  bool module_path;         /* default true: frames read "target::name" */
  bool file_and_line;       /* default false: frames end in ":file.c:12" */
  bool fields_in_frame;     /* default false: frames read "name{k=v, k2=v2}" */
  bool compensate;          /* default false: subtract cflame's own cost
                               per span pair, measured at the session's
                               first flush, where it lands (aggregate mode;
                               spans run in precise mode meanwhile, about
                               3.5x slower; see README "Own cost"); no
                               effect with an injected clock */
  size_t buffer_size;       /* writer buffer in bytes, default 64 KiB */
  size_t stream_records;    /* per-thread record ring, default 4096 */
  uint64_t reserved_[4];    /* zero: room to grow */
} cflame_flame_opts_t;

/* The defaults listed above. */
CFLAME_API cflame_flame_opts_t cflame_flame_opts_default(void);

/* Installs a flame sink writing to a new file at `path` (created 0644 minus
 * umask, truncated, O_CLOEXEC). opts NULL = defaults. Several flame sinks
 * may be installed at once (up to CFLAME_SINKS_MAX sinks of any kind), each
 * with its own guard; each records from its install on. On success *out is
 * the guard. Returns 0, CFLAME_EINVAL, CFLAME_EBUSY, CFLAME_EOPEN,
 * CFLAME_ENOMEM.
 * Aggregate mode rewrites a regular output file whole at every flush
 * (always one merged, sorted set of stacks); to a pipe, fd or callback each
 * flush appends the stacks whose time grew since the last one, merged and
 * sorted within that batch. The writer only ever stops between lines. */
CFLAME_API int cflame_flame_file(const char *path,
                                 const cflame_flame_opts_t *opts,
                                 cflame_guard_t **out);

/* Same, writing to an open fd, which the guard never closes. */
CFLAME_API int cflame_flame_fd(int fd, const cflame_flame_opts_t *opts,
                               cflame_guard_t **out);

/* Same, writing through fn(ctx, ...), called with the sink lock held. */
CFLAME_API int cflame_flame_writer(cflame_write_fn fn, void *ctx,
                                   const cflame_flame_opts_t *opts,
                                   cflame_guard_t **out);

/* --- pprof sink ------------------------------------------------------------ */

/* pprof sink options; start from cflame_pprof_opts_default(). */
typedef struct cflame_pprof_opts_s {
  bool empty_samples;    /* default true: time outside spans is a sample
                            with no frames (the thread label only) */
  bool module_path;      /* default true: functions read "target::name" */
  bool fields_in_frame;  /* default false: functions read "name{k=v}" */
  bool compensate;       /* default false: cflame's own cost per span pair
                            taken out of `wall`, as in the flame sink
                            (precise mode, about 3.5x slower) */
  uint64_t reserved_[4]; /* zero: room to grow */
} cflame_pprof_opts_t;

/* The defaults listed above. */
CFLAME_API cflame_pprof_opts_t cflame_pprof_opts_default(void);

/* Installs a pprof sink: an uncompressed profile.proto (go tool pprof,
 * Pyroscope, Parca, pprof-format) with sample types calls (enters per
 * stack) and wall (self time per stack in ns, as the flame sink's), one
 * function per distinct frame text with the callsite's file and line,
 * stacks leaf-first, a `thread` label per sample. Every flush writes one
 * complete profile: a regular file is rewritten whole (the run since
 * install); to a pipe, fd or callback each flush appends one complete
 * profile of the interval since the previous flush. Guard rules and
 * return values as for cflame_flame_file; works beside other sinks. */
CFLAME_API int cflame_pprof_file(const char *path,
                                 const cflame_pprof_opts_t *opts,
                                 cflame_guard_t **out);

/* Same, writing to an open fd, which the guard never closes. */
CFLAME_API int cflame_pprof_fd(int fd, const cflame_pprof_opts_t *opts,
                               cflame_guard_t **out);

/* Same, writing through fn(ctx, ...), called with the sink lock held. */
CFLAME_API int cflame_pprof_writer(cflame_write_fn fn, void *ctx,
                                   const cflame_pprof_opts_t *opts,
                                   cflame_guard_t **out);

/* --- fmt sink --------------------------------------------------------------- */

/* Options of the fmt sink; start from cflame_fmt_opts_default(). */
typedef struct cflame_fmt_opts_s {
  int level;             /* least level printed, default CFLAME_LEVEL_TRACE */
  bool span_context;     /* default true: "outer:inner{k=v}: " before text */
  bool thread_name;      /* default true: the root frame after the level */
  size_t buffer_size;    /* default 16 KiB; each event is flushed at once */
  uint64_t reserved_[4]; /* zero: room to grow */
} cflame_fmt_opts_t;

/* The defaults listed above. */
CFLAME_API cflame_fmt_opts_t cflame_fmt_opts_default(void);

/* Installs the fmt sink: one line per event, like
 * "    0.001234s  WARN main: request{id=7}:parse: slow rows=5\n", time in
 * seconds since the sink was installed (by the injected clock if any), and
 * one line per frame mark. Works alone or beside other sinks. fd is never
 * closed. Returns 0, CFLAME_EINVAL, CFLAME_EBUSY, CFLAME_ENOMEM. */
CFLAME_API int cflame_fmt_fd(int fd, const cflame_fmt_opts_t *opts,
                             cflame_guard_t **out);
/* Same through a write callback (called with the sink lock held). */
CFLAME_API int cflame_fmt_writer(cflame_write_fn fn, void *ctx,
                                 const cflame_fmt_opts_t *opts,
                                 cflame_guard_t **out);

/* --- timeline sink ----------------------------------------------------------- */

/* Options of the timeline sink; start from cflame_timeline_opts_default(). */
typedef struct cflame_timeline_opts_s {
  bool module_path;      /* default true: slices read "target::name" */
  bool events;           /* default true: events, frame marks and plots */
  int level;             /* least event level written, default TRACE */
  size_t buffer_size;    /* writer buffer in bytes, default 256 KiB */
  size_t ring_records;   /* per-thread record ring, default 16384 */
  const char *process_name; /* default NULL: "cflame" */
  uint64_t reserved_[4]; /* zero: room to grow */
} cflame_timeline_opts_t;

/* The defaults listed above. */
CFLAME_API cflame_timeline_opts_t cflame_timeline_opts_default(void);

/* Installs a timeline sink writing Chrome Trace Event JSON (array form, one
 * event per line) to a new file at `path`, for Perfetto UI, chrome://tracing
 * and speedscope: every span as a slice on its thread's track (B/E, or X
 * for a span without children), thread and process names, events as
 * instant events, frame marks as global instants, plots as counter tracks.
 * Timestamps are microseconds since the session began. The closing "]" is
 * written at drop; a file cut by a crash is still a loadable prefix.
 * Records drain to the writer at every flush and whenever a thread's ring
 * fills (that thread writes its own), so memory stays bounded. Returns as
 * cflame_flame_file. */
CFLAME_API int cflame_timeline_file(const char *path,
                                    const cflame_timeline_opts_t *opts,
                                    cflame_guard_t **out);
/* Same, writing to an open fd, which the guard never closes. */
CFLAME_API int cflame_timeline_fd(int fd, const cflame_timeline_opts_t *opts,
                                  cflame_guard_t **out);
/* Same, writing through fn(ctx, ...), called with the sink lock held. */
CFLAME_API int cflame_timeline_writer(cflame_write_fn fn, void *ctx,
                                      const cflame_timeline_opts_t *opts,
                                      cflame_guard_t **out);

/* --- zero-code setup ------------------------------------------------------- */

/* Installs the sinks the environment asks for (ignored in setuid programs)
 * and returns one guard that owns them all (*out = NULL and 0 if none):
 * CFLAME_TIMELINE=path: a timeline sink (both may be set: two sinks);
 * CFLAME_FLAME=path: a flame sink, with CFLAME_FLAME_MODE=aggregate|stream,
 * CFLAME_FLAME_EMPTY_SAMPLES, _THREADS_COLLAPSED, _MODULE_PATH,
 * _FILE_AND_LINE, _FIELDS_IN_FRAME, _COMPENSATE = 0|1; CFLAME_PPROF=path: a
 * pprof sink;
 * CFLAME_CLOCK=auto|tsc|monotonic
 * (CFLAME_FILTER is read at first use). A bad value is reported through
 * the error callback and the default kept. Files are never opened through
 * a symlink (O_NOFOLLOW). Returns as cflame_flame_file (after a failure no
 * sink stays installed); CFLAME_EINVAL only for out == NULL. In a program
 * built with auto-instrumentation the first instrumented call has already
 * installed them: the first call returns that guard. */
CFLAME_API int cflame_init_env(cflame_guard_t **out);

/* --- stats and faults ------------------------------------------------------- */

/* What cflame had to repair, drop or report (stat kinds, not levels and not
 * return codes). */
typedef enum cflame_fault_e {
  CFLAME_FAULT_OUT_OF_ORDER = 0, /* exit of a span that was not on top */
  CFLAME_FAULT_STALE_EXIT = 1,   /* exit of a span that already exited */
  CFLAME_FAULT_DEPTH = 2,        /* stack deeper than CFLAME_MAX_DEPTH */
  CFLAME_FAULT_NAME = 3,         /* a name had to be repaired or clamped */
  CFLAME_FAULT_WRITE = 4,        /* the writer failed */
  CFLAME_FAULT_COUNT = 5,        /* a count above 2^53 was clamped */
  CFLAME_FAULT_CONFIG = 6,       /* a bad environment setting or directive */
  CFLAME_FAULT_CLOSED_SPAN = 7,  /* use of a closed registry span handle */
  CFLAME_FAULT_DROPPED = 8,      /* an event, record or variant was dropped */
  CFLAME_FAULT_REENTRY = 9,      /* a span from a signal handler was dropped */
  CFLAME_FAULT_UNWOUND = 10,     /* spans jumped over (longjmp, exceptions
                                    through C), closed at the next enter */
  CFLAME_FAULT_KIND_COUNT_ = 11
} cflame_fault_t;

/* Old names of the fault kinds. */
typedef cflame_fault_t cflame_error_kind_t;
#define CFLAME_ERR_OUT_OF_ORDER CFLAME_FAULT_OUT_OF_ORDER
#define CFLAME_ERR_STALE_END CFLAME_FAULT_STALE_EXIT
#define CFLAME_ERR_DEPTH CFLAME_FAULT_DEPTH
#define CFLAME_ERR_NAME CFLAME_FAULT_NAME
#define CFLAME_ERR_WRITE CFLAME_FAULT_WRITE
#define CFLAME_ERR_COUNT CFLAME_FAULT_COUNT
#define CFLAME_ERR_CONFIG CFLAME_FAULT_CONFIG
#define CFLAME_ERR_CLOSED_SPAN CFLAME_FAULT_CLOSED_SPAN
#define CFLAME_ERR_DROPPED CFLAME_FAULT_DROPPED
#define CFLAME_ERR_REENTRY CFLAME_FAULT_REENTRY
#define CFLAME_ERR_KIND_COUNT_ CFLAME_FAULT_KIND_COUNT_

/* Counters since the process started. All fields only ever grow. */
typedef struct cflame_stats_s {
  union {
    uint64_t faults[CFLAME_FAULT_KIND_COUNT_]; /* per cflame_fault_t */
    uint64_t errors[CFLAME_FAULT_KIND_COUNT_]; /* old name of faults */
  };
  uint64_t threads;             /* threads that entered a span */
  uint64_t spans_closed_at_exit;/* left open at thread or process exit */
  uint64_t lines_written;       /* folded lines handed to the writer */
  uint64_t bytes_written;       /* bytes the writers accepted */
  uint64_t bytes_lost;          /* bytes dropped by write errors */
  uint64_t events;              /* events emitted while a sink was
                                   installed, that passed the filter */
  uint64_t frame_marks;         /* cflame_frame_mark() calls */
  uint64_t spans_live;          /* registry spans not yet closed */
  int last_errno;               /* errno of the last write or open error */
  uint64_t slow_enters;         /* enters that left the fast paths: a
                                   stack's first enter, child-cache misses,
                                   records or a non-TSC clock */
  uint64_t reserved_[6];        /* zero: room to grow */
} cflame_stats_t;

/* Copies the counters to *out. Safe from any thread at any time. */
CFLAME_API void cflame_stats(cflame_stats_t *out);

/* Called for the first occurrence of each kind after a sink is installed
 * (msg is a static or short-lived string). It may run on any thread, with
 * cflame's locks held: it must not call cflame, except cflame_stats. */
typedef void (*cflame_error_fn)(void *ctx, cflame_fault_t kind,
                                const char *msg);

/* Replaces the error callback (NULL: the default, one line on stderr). */
CFLAME_API void cflame_on_error(cflame_error_fn fn, void *ctx);

/* --- levels and filters ------------------------------------------------ */

/* Sets the filter from directives like "info", "parser=debug",
 * "net::http=trace,warn" (most specific target wins; a bare level is the
 * default; with no bare level, callsites of unnamed targets are off; a bare
 * target means trace; of equal targets the last wins). NULL, "" or a
 * string with no valid directive enables everything (the start state, unless
 * CFLAME_FILTER is set). Bad directives are reported through the error
 * callback and skipped, the rest applied; returns 0 or CFLAME_EINVAL if any
 * directive was bad. Re-evaluates every callsite; thread-safe. */
CFLAME_API int cflame_filter_set(const char *directives);


/* --- events and frame marks ------------------------------------------------ */

/* Emits an event at callsite cs (cs->name is the message) to every sink that
 * takes events (the fmt sink prints one line). Called by CFLAME_EVENT. */
CFLAME_API void cflame_event_emit(cflame_callsite_t *cs, const cflame_field_t *f,
                                  size_t n);

/* Marks a frame boundary (tracing-tracy's frame_mark); name NULL for the
 * main frame, else a static string naming a secondary frame ("render").
 * Counted in cflame_stats; sinks that take events see it. */
CFLAME_API void cflame_frame_mark(const char *name);

/* Sets plot `name` (static string: one counter track per name) to `value`,
 * now, on every sink that takes events (the timeline sink draws a counter
 * track). Called by CFLAME_PLOT. Thread-safe. */
CFLAME_API void cflame_plot(const char *name, double value);

/* --- registry spans ------------------------------------------------------- */

/* A long-lived span that can be entered on any thread, many times, even on
 * two threads at once: a value handle (copy it freely). It carries a
 * generation, so using a closed one is detected, counted and ignored. The
 * zero handle CFLAME_SPAN_NONE (a filtered-out span) is valid and every
 * call on it does nothing. */
typedef struct cflame_span_s {
  uint64_t id; /* 0: none */
} cflame_span_t;

#ifdef __cplusplus
#define CFLAME_SPAN_NONE (cflame_span_t{0})
#else
#define CFLAME_SPAN_NONE ((cflame_span_t){0})
#endif

/* Is s the zero handle? */
CFLAME__INLINE bool cflame_span_is_none(cflame_span_t s) {
  return s.id == 0;
}

/* Creates a span whose parent is the calling thread's current stack (its
 * folded stack is that ancestry plus itself). Fields are copied. Returns a
 * handle holding one reference, or CFLAME_SPAN_NONE if filtered out, no
 * sink is installed, or out of memory. */
CFLAME_API cflame_span_t cflame_span_new(cflame_callsite_t *cs,
                                         const cflame_field_t *f, size_t n);
/* Same with an explicit parent (a none parent: a root span). */
CFLAME_API cflame_span_t cflame_span_new_child_of(cflame_span_t parent,
                                                  cflame_callsite_t *cs,
                                                  const cflame_field_t *f,
                                                  size_t n);
/* Same with no parent at all: the stack is thread;span. */
CFLAME_API cflame_span_t cflame_span_new_root(cflame_callsite_t *cs,
                                              const cflame_field_t *f,
                                              size_t n);
/* Enters s on the calling thread (holds a reference until the exit). */
CFLAME_API void cflame_span_enter(cflame_span_t s);
/* Exits s on the calling thread; spans entered after it on this thread and
 * still open exit too (counted as out of order). */
CFLAME_API void cflame_span_exit(cflame_span_t s);
/* Appends fields to s (copied now). */
CFLAME_API void cflame_span_record(cflame_span_t s, const cflame_field_t *f,
                                   size_t n);
/* Takes another reference; returns s (the none handle if s is closed). */
CFLAME_API cflame_span_t cflame_span_clone(cflame_span_t s);
/* Drops one reference; the span is freed when none remain (open enters
 * hold one each). */
CFLAME_API void cflame_span_close(cflame_span_t s);

/* --- old names, kept for one release ---------------------------------------- */

CFLAME_DEPRECATED("use cflame_scope_enter")
CFLAME__INLINE cflame_token_t
cflame_callsite_enter(cflame_callsite_t *cs) {
  return cflame_scope_enter(cs);
}
CFLAME_DEPRECATED("use cflame_scope_enter_f")
CFLAME__INLINE cflame_token_t cflame_callsite_enter_f(cflame_callsite_t *cs,
                                                      const cflame_field_t *f,
                                                      size_t n) {
  return cflame_scope_enter_f(cs, f, n);
}
CFLAME_DEPRECATED("use cflame_scope_exit")
CFLAME__INLINE void cflame_span_end(cflame_token_t tok) {
  cflame_scope_exit(tok);
}
CFLAME_DEPRECATED("use cflame_scope_record")
CFLAME__INLINE void cflame_token_record(cflame_token_t tok,
                                        const cflame_field_t *f, size_t n) {
  cflame_scope_record(tok, f, n);
}

/* Deepest stack kept: spans entered below it are charged to a
 * "[truncated]" frame at this depth (root frame not counted). */
#define CFLAME_MAX_DEPTH 512

/* --- macros ------------------------------------------------------------ */

/* Which need GCC or Clang in C: CFLAME_SCOPE, CFLAME_FN and
 * CFLAME_SPAN_NEW* (cleanup attribute, statement expressions); in both the
 * enabled and the disabled build they exist only there, and with any C++
 * compiler (RAII, lambdas). Everything else is plain C11 or C++11. */

#define CFLAME__CAT_(a, b) a##b
#define CFLAME__CAT(a, b) CFLAME__CAT_(a, b)
#define CFLAME__UNIQ(p) CFLAME__CAT(p, __COUNTER__)

#ifdef CFLAME_TARGET
#define CFLAME__TARGET CFLAME_TARGET
#else
#define CFLAME__TARGET CFLAME__NULL
#endif

/* Callsites below this level are compiled out (CFLAME_LEVEL_TRACE keeps
 * all). */
#ifndef CFLAME_MAX_LEVEL
#define CFLAME_MAX_LEVEL CFLAME_LEVEL_TRACE
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CFLAME__GNU 1
#else
#define CFLAME__GNU 0
#endif

/* Type-checks a span handle without evaluating it (disabled builds). */
CFLAME__INLINE cflame_span_t cflame__span_check(cflame_span_t s) {
  return s;
}

/* Type-checks a name without evaluating it (disabled builds). */
CFLAME__INLINE cflame_token_t cflame__name_check(const char *name) {
  (void)name;
  return 0;
}

#ifdef __cplusplus
/* C++ has no compound literals: field lists, CFLAME_FIELD's overloads and
 * the RAII scope of CFLAME_SCOPE live in cflame/cxx.h. */
#include "cflame/cxx.h"
#define CFLAME__NFIELDS(...) sizeof(::cflame::detail::count(__VA_ARGS__))
#define CFLAME__FARR(...)                                                      \
  ::cflame::detail::fields<CFLAME__NFIELDS(__VA_ARGS__)>{{__VA_ARGS__}}.data()
#else
#define CFLAME__NFIELDS(...)                                                   \
  (sizeof((const cflame_field_t[]){__VA_ARGS__}) / sizeof(cflame_field_t))
#define CFLAME__FARR(...) (const cflame_field_t[]){__VA_ARGS__}
#endif
#define CFLAME__FIELDS(...) CFLAME__FARR(__VA_ARGS__), CFLAME__NFIELDS(__VA_ARGS__)
#define CFLAME__MSG(m, ...) m
#define CFLAME__REST(m, ...) __VA_ARGS__

#if CFLAME_ENABLED

#define CFLAME__CS(cs, nm, lvl)                                                \
  static cflame_callsite_t cs = {(nm), CFLAME__TARGET, __FILE__, __LINE__,     \
                                 (lvl), __func__, 0, CFLAME_INTEREST_UNKNOWN,  \
                                 {CFLAME__NULL, CFLAME__NULL}}
/* Enabled = not compiled out and not filtered out: one load, one branch.
 * (A relaxed atomic load is a plain load; it tells race checkers that a
 * filter change may rewrite the word concurrently.) */
#if CFLAME__GNU
#define CFLAME__INTEREST(cs) __atomic_load_n(&(cs).interest_, __ATOMIC_RELAXED)
#else
#define CFLAME__INTEREST(cs) ((cs).interest_)
#endif
#define CFLAME__ON(cs, lvl) ((lvl) >= CFLAME_MAX_LEVEL && cflame__interest(&(cs)))
/* For a scoped span's enter: an unregistered callsite goes straight into
 * cflame_scope_enter, which registers it. So a callsite's first enter
 * comes from the same call instruction as every later one (a separate
 * registration branch would be compiled with its own copy of the call),
 * which the longjmp healing relies on to tell inlined recursion apart.
 * (Spans with fields register first instead: their fields are not built
 * while the span is filtered out.) */
#define CFLAME__ON_ENTER(cs, lvl)                                              \
  ((lvl) >= CFLAME_MAX_LEVEL && cflame__not_off(&(cs).interest_))
#if CFLAME__GNU && defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
/* *interest != CFLAME_INTEREST_OFF as one compare with memory (a relaxed
 * atomic load would be a load and a compare): read anew at every enter,
 * like the atomic load, since the asm is volatile. */
CFLAME__INLINE int cflame__not_off(const uint32_t *interest) {
  int ne;
  __asm__ __volatile__("cmpl %2, %1"
                       : "=@ccne"(ne)
                       : "m"(*interest), "i"(CFLAME_INTEREST_OFF));
  return ne;
}
#else
CFLAME__INLINE int cflame__not_off(const uint32_t *interest) {
#if CFLAME__GNU
  return __atomic_load_n(interest, __ATOMIC_RELAXED) != CFLAME_INTEREST_OFF;
#else
  return *interest != CFLAME_INTEREST_OFF;
#endif
}
#endif
CFLAME__INLINE int cflame__interest(cflame_callsite_t *cs) {
  uint32_t i = CFLAME__INTEREST(*cs);
  if (i == CFLAME_INTEREST_ON)
    return 1;
  return i == CFLAME_INTEREST_UNKNOWN &&
         cflame_callsite_register(cs) == CFLAME_INTEREST_ON;
}

#define CFLAME__SPAN_I(tok, nm, lvl, cs)                                       \
  CFLAME__CS(cs, nm, lvl);                                                     \
  cflame_token_t tok = CFLAME__ON_ENTER(cs, lvl) ? cflame_scope_enter(&cs) : 0
#define CFLAME__SPAN_F_I(tok, nm, lvl, cs, ...)                                \
  CFLAME__CS(cs, nm, lvl);                                                     \
  cflame_token_t tok = CFLAME__ON(cs, lvl)                                     \
                           ? cflame_scope_enter_f(&cs,                         \
                                                  CFLAME__FIELDS(__VA_ARGS__)) \
                           : 0

/* Declares `tok` and enters span `name` (a string with static storage). */
#define CFLAME_SPAN(tok, name)                                                 \
  CFLAME__SPAN_I(tok, name, CFLAME_LEVEL_INFO, CFLAME__UNIQ(cflame__cs_))
/* Same at an explicit level. */
#define CFLAME_SPAN_L(tok, level, name)                                        \
  CFLAME__SPAN_I(tok, name, level, CFLAME__UNIQ(cflame__cs_))
/* Same with fields: CFLAME_SPAN_F(t, "query", CFLAME_STR("table", tbl)). */
#define CFLAME_SPAN_F(tok, name, ...)                                          \
  CFLAME__SPAN_F_I(tok, name, CFLAME_LEVEL_INFO, CFLAME__UNIQ(cflame__cs_),    \
                   __VA_ARGS__)
/* Same with a name known only at run time (copied; see
 * cflame_scope_enter_dynamic). */
#define CFLAME_SPAN_DYN(tok, name)                                             \
  cflame_token_t tok = cflame_scope_enter_dynamic((name), CFLAME__TARGET,      \
                                                  CFLAME_LEVEL_INFO)

/* Exits the span entered by CFLAME_SPAN(tok, ...) (any of the forms). */
#define CFLAME_SPAN_END(tok)                                                   \
  do {                                                                         \
    cflame_token_t cflame__t = (tok);                                          \
    if (cflame__t)                                                             \
      cflame_scope_exit(cflame__t);                                            \
  } while (0)

/* Records fields on the scoped span `tok`. */
#define CFLAME_RECORD(tok, ...)                                                \
  do {                                                                         \
    cflame_token_t cflame__t = (tok);                                          \
    if (cflame__t)                                                             \
      cflame_scope_record(cflame__t, CFLAME__FIELDS(__VA_ARGS__));             \
  } while (0)

#define CFLAME__EVENT_I(cs, lvl, msg, ...)                                     \
  do {                                                                         \
    CFLAME__CS(cs, msg, lvl);                                                  \
    if (CFLAME__ON(cs, lvl))                                                   \
      cflame_event_emit(&cs, CFLAME__FARR(__VA_ARGS__),                        \
                        CFLAME__NFIELDS(__VA_ARGS__) - 1);                     \
  } while (0)
/* An event: CFLAME_EVENT(CFLAME_LEVEL_WARN, "slow", CFLAME_I64("ms", ms)).
 * The message must be a string literal or have static storage. */
#define CFLAME_EVENT(level, ...)                                               \
  CFLAME__EVENT_I(CFLAME__UNIQ(cflame__cs_), level, CFLAME__MSG(__VA_ARGS__, ),\
                  CFLAME__REST(__VA_ARGS__, ) CFLAME_I64(CFLAME__NULL, 0))
/* Marks a frame boundary (tracing-tracy's frame_mark). */
#define CFLAME_FRAME_MARK() cflame_frame_mark(CFLAME__NULL)
/* Marks the boundary of a named secondary frame ("render"; static string). */
#define CFLAME_FRAME_MARK_NAMED(name) cflame_frame_mark(name)
/* Plots a value on the counter track `name` (static string; double value). */
#define CFLAME_PLOT(name, value) cflame_plot((name), (value))

#ifdef __cplusplus
/* C++: the registry-span macros are lambdas called in place (any C++11
 * compiler); CFLAME_SCOPE and CFLAME_FN are cflame::scope objects, which
 * also end their span when an exception leaves the block. */
#define CFLAME__SPAN_NEW_I(cs, nm, call, ...)                                  \
  [&]() CFLAME__NO_INSTRUMENT -> cflame_span_t {                               \
    CFLAME__CS(cs, nm, CFLAME_LEVEL_INFO);                                     \
    return CFLAME__ON(cs, CFLAME_LEVEL_INFO)                                   \
               ? call(&cs, CFLAME__FARR(__VA_ARGS__),                          \
                      CFLAME__NFIELDS(__VA_ARGS__) - 1)                        \
               : CFLAME_SPAN_NONE;                                             \
  }()
#define CFLAME__SPAN_NEW_CHILD_I(cs, p, nm, ...)                               \
  [&](cflame_span_t cflame__p) CFLAME__NO_INSTRUMENT -> cflame_span_t {        \
    CFLAME__CS(cs, nm, CFLAME_LEVEL_INFO);                                     \
    return CFLAME__ON(cs, CFLAME_LEVEL_INFO)                                   \
               ? cflame_span_new_child_of(cflame__p, &cs,                      \
                                          CFLAME__FARR(__VA_ARGS__),           \
                                          CFLAME__NFIELDS(__VA_ARGS__) - 1)    \
               : CFLAME_SPAN_NONE;                                             \
  }(p)
#define CFLAME_SPAN_NEW(...)                                                   \
  CFLAME__SPAN_NEW_I(CFLAME__UNIQ(cflame__cs_), CFLAME__MSG(__VA_ARGS__, ),    \
                     cflame_span_new,                                          \
                     CFLAME__REST(__VA_ARGS__, ) CFLAME_I64(CFLAME__NULL, 0))
#define CFLAME_SPAN_NEW_ROOT(...)                                              \
  CFLAME__SPAN_NEW_I(CFLAME__UNIQ(cflame__cs_), CFLAME__MSG(__VA_ARGS__, ),    \
                     cflame_span_new_root,                                     \
                     CFLAME__REST(__VA_ARGS__, ) CFLAME_I64(CFLAME__NULL, 0))
#define CFLAME_SPAN_NEW_CHILD_OF(parent, ...)                                  \
  CFLAME__SPAN_NEW_CHILD_I(CFLAME__UNIQ(cflame__cs_), (parent),                \
                           CFLAME__MSG(__VA_ARGS__, ),                         \
                           CFLAME__REST(__VA_ARGS__, )                         \
                               CFLAME_I64(CFLAME__NULL, 0))
#define CFLAME__SCOPE_I(nm, cs, tok)                                           \
  CFLAME__CS(cs, nm, CFLAME_LEVEL_INFO);                                       \
  ::cflame::scope tok(CFLAME__ON_ENTER(cs, CFLAME_LEVEL_INFO)                   \
                          ? cflame_scope_enter(&cs)                            \
                          : 0)
#define CFLAME_SCOPE(name)                                                     \
  CFLAME__SCOPE_I(name, CFLAME__UNIQ(cflame__cs_), CFLAME__UNIQ(cflame__tok_))
#define CFLAME_FN() CFLAME_SCOPE(__func__)
#elif CFLAME__GNU
#define CFLAME__SPAN_NEW_I(cs, nm, call, ...)                                  \
  __extension__({                                                              \
    CFLAME__CS(cs, nm, CFLAME_LEVEL_INFO);                                     \
    CFLAME__ON(cs, CFLAME_LEVEL_INFO)                                          \
        ? call(&cs, (const cflame_field_t[]){__VA_ARGS__},                     \
               CFLAME__NFIELDS(__VA_ARGS__) - 1)                               \
        : CFLAME_SPAN_NONE;                                                    \
  })
/* A registry span under the current stack: CFLAME_SPAN_NEW("task", f...). */
#define CFLAME_SPAN_NEW(...)                                                   \
  CFLAME__SPAN_NEW_I(CFLAME__UNIQ(cflame__cs_), CFLAME__MSG(__VA_ARGS__, ),    \
                     cflame_span_new,                                          \
                     CFLAME__REST(__VA_ARGS__, ) CFLAME_I64(CFLAME__NULL, 0))
/* A registry span with no parent. */
#define CFLAME_SPAN_NEW_ROOT(...)                                              \
  CFLAME__SPAN_NEW_I(CFLAME__UNIQ(cflame__cs_), CFLAME__MSG(__VA_ARGS__, ),    \
                     cflame_span_new_root,                                     \
                     CFLAME__REST(__VA_ARGS__, ) CFLAME_I64(CFLAME__NULL, 0))
/* A registry span under `parent`. */
#define CFLAME_SPAN_NEW_CHILD_OF(parent, ...)                                  \
  __extension__({                                                              \
    cflame_span_t cflame__p = (parent);                                        \
    CFLAME__SPAN_NEW_CHILD_I(CFLAME__UNIQ(cflame__cs_), cflame__p,             \
                             CFLAME__MSG(__VA_ARGS__, ),                       \
                             CFLAME__REST(__VA_ARGS__, ) CFLAME_I64(CFLAME__NULL, 0)); \
  })
#define CFLAME__SPAN_NEW_CHILD_I(cs, p, nm, ...)                               \
  __extension__({                                                              \
    CFLAME__CS(cs, nm, CFLAME_LEVEL_INFO);                                     \
    CFLAME__ON(cs, CFLAME_LEVEL_INFO)                                          \
        ? cflame_span_new_child_of(p, &cs,                                     \
                                   (const cflame_field_t[]){__VA_ARGS__},      \
                                   CFLAME__NFIELDS(__VA_ARGS__) - 1)           \
        : CFLAME_SPAN_NONE;                                                    \
  })

CFLAME__INLINE void cflame__scope_end(cflame_token_t *tok) {
  if (*tok)
    cflame_scope_exit(*tok);
}
#define CFLAME__SCOPE_I(nm, cs, tok)                                           \
  CFLAME__CS(cs, nm, CFLAME_LEVEL_INFO);                                       \
  __attribute__((cleanup(cflame__scope_end), unused)) cflame_token_t tok =     \
      CFLAME__ON_ENTER(cs, CFLAME_LEVEL_INFO) ? cflame_scope_enter(&cs) : 0
/* Enters span `name` until the end of the enclosing block (GCC/Clang). */
#define CFLAME_SCOPE(name)                                                     \
  CFLAME__SCOPE_I(name, CFLAME__UNIQ(cflame__cs_), CFLAME__UNIQ(cflame__tok_))
/* A span named after the enclosing function, until its block ends. */
#define CFLAME_FN() CFLAME_SCOPE(__func__)
#endif /* __cplusplus, CFLAME__GNU */

#else /* !CFLAME_ENABLED: every macro vanishes, arguments type-checked only */

#define CFLAME_SPAN(tok, name)                                                 \
  cflame_token_t tok =                                                         \
      CFLAME__CAST(cflame_token_t, 0 ? cflame__name_check(name) : 0)
#define CFLAME_SPAN_L(tok, level, name)                                        \
  cflame_token_t tok = CFLAME__CAST(                                           \
      cflame_token_t, 0 ? ((void)(level), cflame__name_check(name)) : 0)
#define CFLAME_SPAN_F(tok, name, ...)                                          \
  cflame_token_t tok = CFLAME__CAST(                                           \
      cflame_token_t,                                                          \
      0 ? ((void)CFLAME__FARR(__VA_ARGS__), cflame__name_check(name)) : 0)
#define CFLAME_SPAN_DYN(tok, name) CFLAME_SPAN(tok, name)
#define CFLAME_SPAN_END(tok)                                                   \
  do {                                                                         \
    if (0) {                                                                   \
      cflame_scope_exit(tok);                                                  \
    }                                                                          \
  } while (0)
#define CFLAME_RECORD(tok, ...)                                                \
  do {                                                                         \
    if (0) {                                                                   \
      cflame_scope_record((tok), CFLAME__FIELDS(__VA_ARGS__));                 \
    }                                                                          \
  } while (0)
#define CFLAME_EVENT(level, ...)                                               \
  do {                                                                         \
    if (0) {                                                                   \
      (void)(level);                                                           \
      (void)cflame__name_check(CFLAME__MSG(__VA_ARGS__, ));                    \
      (void)CFLAME__FARR(CFLAME__REST(__VA_ARGS__, )                           \
                             CFLAME_I64(CFLAME__NULL, 0));                     \
    }                                                                          \
  } while (0)
#define CFLAME_FRAME_MARK()                                                    \
  do {                                                                         \
  } while (0)
#define CFLAME_FRAME_MARK_NAMED(name)                                          \
  do {                                                                         \
    if (0) {                                                                   \
      (void)cflame__name_check(name);                                          \
    }                                                                          \
  } while (0)
#define CFLAME_PLOT(name, value)                                               \
  do {                                                                         \
    if (0) {                                                                   \
      (void)cflame__name_check(name);                                          \
      (void)sizeof((value) + 0.0); /* a number, never evaluated */             \
    }                                                                          \
  } while (0)
#if CFLAME__GNU || defined(__cplusplus)
#define CFLAME_SPAN_NEW(...)                                                   \
  (0 ? (cflame__name_check(CFLAME__MSG(__VA_ARGS__, )),                        \
        (void)CFLAME__FARR(CFLAME__REST(__VA_ARGS__, )                         \
                               CFLAME_I64(CFLAME__NULL, 0)),                   \
        CFLAME_SPAN_NONE)                                                      \
     : CFLAME_SPAN_NONE)
#define CFLAME_SPAN_NEW_ROOT(...) CFLAME_SPAN_NEW(__VA_ARGS__)
#define CFLAME_SPAN_NEW_CHILD_OF(parent, ...)                                  \
  (0 ? (cflame__span_check(parent), CFLAME_SPAN_NEW(__VA_ARGS__))              \
     : CFLAME_SPAN_NONE)
#define CFLAME_SCOPE(name) CFLAME__SCOPE_OFF(name, CFLAME__UNIQ(cflame__tok_))
#define CFLAME__SCOPE_OFF(name, tok)                                           \
  CFLAME_SPAN(tok, name);                                                      \
  (void)tok
#define CFLAME_FN() CFLAME_SCOPE(__func__)
#endif /* CFLAME__GNU || __cplusplus */

#endif /* CFLAME_ENABLED */

/* Events at each level. */
#define CFLAME_TRACE_EV(...) CFLAME_EVENT(CFLAME_LEVEL_TRACE, __VA_ARGS__)
#define CFLAME_DEBUG_EV(...) CFLAME_EVENT(CFLAME_LEVEL_DEBUG, __VA_ARGS__)
#define CFLAME_INFO_EV(...) CFLAME_EVENT(CFLAME_LEVEL_INFO, __VA_ARGS__)
#define CFLAME_WARN_EV(...) CFLAME_EVENT(CFLAME_LEVEL_WARN, __VA_ARGS__)
#define CFLAME_ERROR_EV(...) CFLAME_EVENT(CFLAME_LEVEL_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* CFLAME_H */
