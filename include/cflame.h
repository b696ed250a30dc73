/* cflame: wall-time spans for C, written as folded stacks for flamegraphs.
 *
 * Wrap code in span macros, install a flame sink, and feed the output to
 * inferno-flamegraph, flamegraph.pl or speedscope. See README.md.
 *
 * Threading: every function here may be called from any thread. Span macros
 * touch only the calling thread's state and never lock. Setup/teardown
 * (cflame_flame_*, cflame_guard_*, cflame_clock_set) serialize on one lock.
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

/* --- errors ------------------------------------------------------------ */

/* Every setup/teardown call returns 0 or one of these negative codes. */
#define CFLAME_ERRNO_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(EBUSY, -2, "a flame sink is already installed")                           \
  XX(ENOMEM, -3, "out of memory")                                              \
  XX(EIO, -4, "write error (see cflame_stats().last_errno)")                   \
  XX(EOPEN, -5, "cannot open the output file")                                 \
  XX(ECLOSED, -6, "the guard was already dropped")                             \
  XX(ECHILD, -7, "the guard belongs to the parent process (after fork)")

enum {
#define CFLAME__ERR_ENUM(name, value, text) CFLAME_##name = value,
  CFLAME_ERRNO_MAP(CFLAME__ERR_ENUM)
#undef CFLAME__ERR_ENUM
};

/* Static description of a CFLAME_E* code (or "unknown error"). */
CFLAME_API const char *cflame_strerror(int rc);

/* The library version as "MAJOR.MINOR.PATCH". */
CFLAME_API const char *cflame_version(void);

/* --- callsites and spans ---------------------------------------------- */

/* Levels; spans default to INFO. */
typedef enum cflame_level_e {
  CFLAME_TRACE = 0,
  CFLAME_DEBUG = 1,
  CFLAME_INFO = 2,
  CFLAME_WARN = 3,
  CFLAME_ERROR = 4
} cflame_level_t;

/* A static descriptor made by each span macro. Fields marked internal are
 * owned by the library; zero them in static initializers. */
typedef struct cflame_callsite_s {
  const char *name;   /* span name; must outlive the program's use of it */
  const char *target; /* module path, or NULL: stem of `file` */
  const char *file;   /* __FILE__ */
  int line;           /* __LINE__ */
  int level;          /* cflame_level_t */
  uint32_t id_;       /* internal: registry id, 0 until first use */
} cflame_callsite_t;

/* Identifies one entered scoped span; 0 means "nothing was entered". */
typedef uint64_t cflame_token_t;

/* Enters a scoped span on the calling thread and returns its token. A no-op
 * returning 0 when no flame sink is installed. Called by the span macros. */
CFLAME_API cflame_token_t cflame_callsite_enter(cflame_callsite_t *cs);

/* Exits the scoped span `tok` on the calling thread. If spans entered after
 * it are still open they exit too (counted, reported once); a token that
 * already exited, belongs to another thread, or is 0 is ignored. */
CFLAME_API void cflame_span_end(cflame_token_t tok);

/* Names the calling thread's root frame (copied and sanitized). Default:
 * "main" for the main thread, "thread-N" for others in order of first use.
 * Returns 0 or CFLAME_EINVAL (NULL name) / CFLAME_ENOMEM. */
CFLAME_API int cflame_thread_name(const char *name);

/* --- clock ------------------------------------------------------------ */

/* A clock returning nanoseconds from any fixed origin; must not go back. */
typedef uint64_t (*cflame_clock_fn)(void *ctx);

/* Uses fn(ctx) as the clock for every thread (NULL restores the built-in
 * one). Call while no flame sink is installed; returns 0 or CFLAME_EBUSY. */
CFLAME_API int cflame_clock_set(cflame_clock_fn fn, void *ctx);

typedef enum cflame_clock_source_e {
  CFLAME_CLOCK_AUTO = 0,      /* TSC where invariant, else MONOTONIC */
  CFLAME_CLOCK_TSC = 1,       /* the CPU's invariant time-stamp counter */
  CFLAME_CLOCK_MONOTONIC = 2  /* clock_gettime(CLOCK_MONOTONIC) */
} cflame_clock_source_t;

/* Picks the built-in clock source. Returns 0, CFLAME_EINVAL if the source is
 * not usable here (e.g. TSC on a CPU without an invariant TSC) or
 * CFLAME_EBUSY while a flame sink is installed. */
CFLAME_API int cflame_clock_use(cflame_clock_source_t source);

/* Name of the clock currently in use: "tsc", "monotonic" or "user". */
CFLAME_API const char *cflame_clock_name(void);

/* --- flame sink ------------------------------------------------------- */

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
  size_t buffer_size;       /* writer buffer in bytes, default 64 KiB */
  size_t stream_records;    /* stream mode: per-thread ring, default 4096 */
} cflame_flame_opts_t;

/* The defaults listed above. */
CFLAME_API cflame_flame_opts_t cflame_flame_opts_default(void);

/* Owns an installed flame sink; see cflame_guard_flush / cflame_guard_drop. */
typedef struct cflame_guard_s cflame_guard_t;

/* Writes buf[0..len). Returns the bytes written (> 0, may be short) or a
 * negative errno value; -EINTR and short writes are retried. */
typedef long (*cflame_write_fn)(void *ctx, const void *buf, size_t len);

/* Installs the flame sink writing to a new file at `path` (created 0644 minus
 * umask, truncated, O_CLOEXEC). opts NULL = defaults. On success *out is the
 * guard. Returns 0, CFLAME_EINVAL, CFLAME_EBUSY, CFLAME_EOPEN, CFLAME_ENOMEM. */
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

/* Zero-code setup from the environment (ignored in setuid programs):
 * CFLAME_FLAME=path (unset: *out = NULL, returns 0), CFLAME_FLAME_MODE=
 * aggregate|stream, CFLAME_FLAME_EMPTY_SAMPLES, _THREADS_COLLAPSED,
 * _MODULE_PATH, _FILE_AND_LINE = 0|1, CFLAME_CLOCK=auto|tsc|monotonic.
 * The file is never opened through a symlink. Returns as cflame_flame_file,
 * or CFLAME_EINVAL naming the bad variable through the error callback. */
CFLAME_API int cflame_init_env(cflame_guard_t **out);

/* Writes everything recorded so far (every thread, living or exited, up to
 * its last enter/exit) and flushes the writer. Returns 0, CFLAME_EIO,
 * CFLAME_ECLOSED or CFLAME_ECHILD. Aggregate mode appends the stacks whose
 * time grew since the last flush, merged and sorted within that batch. */
CFLAME_API int cflame_guard_flush(cflame_guard_t *g);

/* Flushes, uninstalls the sink and closes the output. NULL-safe and
 * idempotent (a dropped guard stays a valid pointer that does nothing).
 * Returns 0 or the flush error. If never called, runs at process exit. */
CFLAME_API int cflame_guard_drop(cflame_guard_t *g);

/* --- stats and errors -------------------------------------------------- */

typedef enum cflame_error_kind_e {
  CFLAME_ERR_OUT_OF_ORDER = 0, /* END of a span that was not on top */
  CFLAME_ERR_STALE_END = 1,    /* END of a span that already exited */
  CFLAME_ERR_DEPTH = 2,        /* stack deeper than CFLAME_MAX_DEPTH */
  CFLAME_ERR_NAME = 3,         /* a name had to be repaired or clamped */
  CFLAME_ERR_WRITE = 4,        /* the writer failed */
  CFLAME_ERR_COUNT = 5,        /* a count above 2^53 was clamped */
  CFLAME_ERR_CONFIG = 6,       /* a bad environment setting */
  CFLAME_ERR_KIND_COUNT_ = 7
} cflame_error_kind_t;

/* Counters since the process started. All fields only ever grow. */
typedef struct cflame_stats_s {
  uint64_t errors[CFLAME_ERR_KIND_COUNT_]; /* per cflame_error_kind_t */
  uint64_t threads;             /* threads that entered a span */
  uint64_t spans_closed_at_exit;/* left open at thread or process exit */
  uint64_t lines_written;       /* folded lines handed to the writer */
  uint64_t bytes_written;       /* bytes the writer accepted */
  uint64_t bytes_lost;          /* bytes dropped by write errors */
  int last_errno;               /* errno of the last write error */
} cflame_stats_t;

/* Copies the counters to *out. Safe from any thread at any time. */
CFLAME_API void cflame_stats(cflame_stats_t *out);

/* Called for the first occurrence of each kind after a sink is installed
 * (msg is a static or short-lived string). */
typedef void (*cflame_error_fn)(void *ctx, cflame_error_kind_t kind,
                                const char *msg);

/* Replaces the error callback (NULL: the default, one line on stderr). */
CFLAME_API void cflame_on_error(cflame_error_fn fn, void *ctx);

/* Deepest stack kept: spans entered below it are charged to a
 * "[truncated]" frame at this depth (root frame not counted). */
#define CFLAME_MAX_DEPTH 512

/* --- macros ------------------------------------------------------------ */

#define CFLAME__CAT_(a, b) a##b
#define CFLAME__CAT(a, b) CFLAME__CAT_(a, b)
#define CFLAME__UNIQ(p) CFLAME__CAT(p, __COUNTER__)

#ifdef CFLAME_TARGET
#define CFLAME__TARGET CFLAME_TARGET
#else
#define CFLAME__TARGET NULL
#endif

/* Type-checks a name without evaluating it (disabled builds). */
static inline cflame_token_t cflame__name_check(const char *name) {
  (void)name;
  return 0;
}

#if CFLAME_ENABLED

#define CFLAME__SPAN_I(tok, nm, cs)                                            \
  static cflame_callsite_t cs = {(nm), CFLAME__TARGET, __FILE__, __LINE__,     \
                                 CFLAME_INFO, 0};                              \
  cflame_token_t tok = cflame_callsite_enter(&cs)

/* Declares `tok` and enters span `name` (a string with static storage). */
#define CFLAME_SPAN(tok, name) CFLAME__SPAN_I(tok, name, CFLAME__UNIQ(cflame__cs_))

/* Exits the span entered by CFLAME_SPAN(tok, ...). */
#define CFLAME_SPAN_END(tok) cflame_span_end(tok)

#if defined(__GNUC__) || defined(__clang__)
static inline void cflame__scope_end(cflame_token_t *tok) {
  cflame_span_end(*tok);
}
#define CFLAME__SCOPE_I(nm, cs, tok)                                           \
  static cflame_callsite_t cs = {(nm), CFLAME__TARGET, __FILE__, __LINE__,     \
                                 CFLAME_INFO, 0};                              \
  __attribute__((cleanup(cflame__scope_end), unused)) cflame_token_t tok =     \
      cflame_callsite_enter(&cs)
/* Enters span `name` until the end of the enclosing block (GCC/Clang). */
#define CFLAME_SCOPE(name)                                                     \
  CFLAME__SCOPE_I(name, CFLAME__UNIQ(cflame__cs_), CFLAME__UNIQ(cflame__tok_))
/* A span named after the enclosing function, until its block ends. */
#define CFLAME_FN() CFLAME_SCOPE(__func__)
#endif

#else /* !CFLAME_ENABLED: every macro vanishes, arguments type-checked only */

#define CFLAME_SPAN(tok, name)                                                 \
  cflame_token_t tok = (cflame_token_t)(0 ? cflame__name_check(name) : 0)
#define CFLAME_SPAN_END(tok)                                                   \
  do {                                                                         \
    if (0) {                                                                   \
      cflame_span_end(tok);                                                    \
    }                                                                          \
  } while (0)
#define CFLAME_SCOPE(name) CFLAME__SCOPE_OFF(name, CFLAME__UNIQ(cflame__tok_))
#define CFLAME__SCOPE_OFF(name, tok)                                           \
  CFLAME_SPAN(tok, name);                                                      \
  (void)tok
#define CFLAME_FN() CFLAME_SCOPE(__func__)

#endif /* CFLAME_ENABLED */

#ifdef __cplusplus
}
#endif

#endif /* CFLAME_H */
