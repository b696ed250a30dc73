/* Private to cflame: the only door to the OS and the CPU. */
#ifndef CFLAME_PLATFORM_H
#define CFLAME_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Is the caller the process's main thread (tid == pid)? */
int cflame__plat_is_main_thread(void);

/* The process id. */
long cflame__plat_getpid(void);

/* getenv that returns NULL in setuid/setgid programs. */
const char *cflame__plat_getenv(const char *name);

/* Opens path for writing: created 0644 minus umask, truncated, O_CLOEXEC;
 * with nofollow also O_NOFOLLOW. Returns an fd or -errno. */
int cflame__plat_open_out(const char *path, int nofollow);

/* The current offset of fd if it is a regular file we can rewind, else -1. */
int64_t cflame__plat_regular_offset(int fd);

/* Cuts the file fd at `offset` and moves there. Returns 0 or -errno. */
int cflame__plat_truncate(int fd, int64_t offset);

/* Closes an fd, ignoring EINTR. */
void cflame__plat_close(int fd);

/* write(2) that never raises SIGPIPE: returns bytes written or -errno. */
long cflame__plat_write(int fd, const void *buf, size_t len);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t cflame__plat_monotonic_ns(void);

/* Does the CPU have a time-stamp counter that ticks at a constant rate in
 * every power state, readable by cflame__plat_tsc()? */
int cflame__plat_tsc_usable(void);

/* Registers fork handlers (once). */
int cflame__plat_atfork(void (*prepare)(void), void (*parent)(void),
                        void (*child)(void));

#if defined(CFLAME_FAKE_TSC)
/* Test builds only: the "TSC" is the injected clock, so the tests drive the
 * very fast paths that real programs run, with exact, scripted time. */
#define CFLAME__HAVE_TSC 1
uint64_t cflame__fake_tsc(void);
static inline uint64_t cflame__plat_tsc(void) {
  return cflame__fake_tsc();
}
#elif defined(__x86_64__) || defined(__i386__)
#define CFLAME__HAVE_TSC 1
static inline uint64_t cflame__plat_tsc(void) {
  uint32_t lo, hi;
  __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
#define CFLAME__HAVE_TSC 1
static inline uint64_t cflame__plat_tsc(void) {
  uint64_t v;
  __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
#else
#define CFLAME__HAVE_TSC 0
static inline uint64_t cflame__plat_tsc(void) {
  return 0;
}
#endif

#endif /* CFLAME_PLATFORM_H */
