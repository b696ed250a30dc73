/* Private to cflame's tests: an in-memory writer and a per-thread clock. */
#ifndef CFLAME_TESTUTIL_H
#define CFLAME_TESTUTIL_H

#include <cflame.h>

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/* A writer that appends to memory, with injectable faults. */
typedef struct memout_s {
  char *buf;
  size_t len, cap;
  size_t max_chunk;     /* > 0: accept at most this many bytes per call */
  int fail_errno;       /* > 0: fail with -fail_errno ... */
  size_t fail_at;       /* ... once len reaches this offset */
  unsigned eintr_every; /* > 0: every Nth call returns -EINTR */
  unsigned calls;
} memout_t;

/* cflame_write_fn appending to a memout_t. */
long memout_write(void *ctx, const void *buf, size_t len);
/* The captured bytes as a NUL-terminated string (valid until next write). */
const char *memout_str(memout_t *m);
void memout_free(memout_t *m);

/* Per-stack sums of folded text, merged and sorted bytewise, as
 * "stack count\n" lines (malloc'd). For comparing two outputs. */
char *folded_sums(const char *text);

/* Each thread has its own clock, advanced by hand: exact, deterministic. */
extern _Thread_local uint64_t tclock_ns;
uint64_t tclock(void *ctx);
/* Uses tclock for cflame and sets this thread's clock to `start`. */
void tclock_install(uint64_t start);

/* s with this process's `"pid":N` written as `"pid":P` (malloc'd; NULL if
 * out of memory): JSON outputs compared byte for byte. */
char *text_without_pid(const char *s);

/* Waits for child pid (through EINTR); its waitpid status, or -1. */
int wait_child(pid_t pid);

/* Records every error callback (kind counts, last message). */
typedef struct errlog_s {
  unsigned count[CFLAME_FAULT_KIND_COUNT_];
  char last[512];
} errlog_t;
void errlog_fn(void *ctx, cflame_fault_t kind, const char *msg);

#endif /* CFLAME_TESTUTIL_H */
