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
 * with nofollow also O_NOFOLLOW. Never blocks (a FIFO without a reader:
 * -ENXIO). A regular file is locked for this open (another writer, in
 * this process or another one: -EBUSY, and it is not truncated). Returns an
 * fd or -errno. */
int cflame__plat_open_out(const char *path, int nofollow);

/* The current offset of fd if it is a regular file we can rewind, else -1. */
int64_t cflame__plat_regular_offset(int fd);

/* Cuts the file fd at `offset` and moves there. Returns 0 or -errno. */
int cflame__plat_truncate(int fd, int64_t offset);

/* Closes an fd, ignoring EINTR. */
void cflame__plat_close(int fd);

/* write(2) that never raises SIGPIPE or SIGXFSZ (EPIPE, EFBIG instead) and
 * is no cancellation point: returns bytes written or -errno. */
long cflame__plat_write(int fd, const void *buf, size_t len);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t cflame__plat_monotonic_ns(void);

/* CLOCK_REALTIME in nanoseconds since the epoch. */
uint64_t cflame__plat_realtime_ns(void);

/* Does the CPU have a time-stamp counter that ticks at a constant rate in
 * every power state, readable by cflame__plat_tsc()? */
int cflame__plat_tsc_usable(void);

/* Is the calling thread running on its alternate signal stack? */
int cflame__plat_on_altstack(void);

/* Turns cancellation off for the calling thread (around a lock that a
 * cancelled wait would leave held); returns the state to restore. */
int cflame__plat_nocancel(void);
void cflame__plat_cancel_restore(int old);

/* Makes the object that holds cflame's code permanent (RTLD_NODELETE), so
 * a dlclose can never unmap the TSD destructor or exit/fork handlers. */
void cflame__plat_pin_self(void);

/* The writable segments of the loaded objects, where static callsites
 * live. */
typedef struct cflame__plat_range_s {
  uintptr_t lo, hi;
} cflame__plat_range_t;
/* How many objects were unloaded (dlclose) so far in this process. */
uint64_t cflame__plat_unloads(void);
/* Fills out[0..cap) and returns how many ranges there are (may be more
 * than cap). */
size_t cflame__plat_writable_ranges(cflame__plat_range_t *out, size_t cap);

/* Registers fork handlers (once). */
int cflame__plat_atfork(void (*prepare)(void), void (*parent)(void),
                        void (*child)(void));

/* The calling thread's stack: [*lo, *hi). Returns 0, or -1 if unknown. */
int cflame__plat_stack_bounds(uintptr_t *lo, uintptr_t *hi);

/* The loaded module (executable or shared object) with a segment that
 * holds addr: *bias gets its load bias and path its file name, "" for the
 * executable (cut to size bytes). Returns 1, or 0 if no module holds it. */
int cflame__plat_module_at(uintptr_t addr, uintptr_t *bias, char *path,
                           size_t size);

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
#if defined(__x86_64__)
/* rdtsc zeroes the upper halves of rax and rdx: 64-bit outputs spare the
 * compiler a zero-extension on every read. */
static inline uint64_t cflame__plat_tsc(void) {
  uint64_t lo, hi;
  __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
  return (hi << 32) | lo;
}
#else
static inline uint64_t cflame__plat_tsc(void) {
  uint32_t lo, hi;
  __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
#endif
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

/* Waits for every earlier instruction to finish before later ones start
 * (precise mode: cflame's own work never overlaps the program's). */
static inline void cflame__plat_fence(void) {
#if defined(CFLAME_FAKE_TSC)
#elif defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("lfence" ::: "memory");
#elif defined(__aarch64__)
  __asm__ __volatile__("isb" ::: "memory");
#endif
}

/* A clock read that neither starts before earlier work has finished nor
 * lets later work start before it. */
static inline uint64_t cflame__plat_tsc_fenced(void) {
  cflame__plat_fence();
  uint64_t v = cflame__plat_tsc();
  cflame__plat_fence();
  return v;
}

#endif /* CFLAME_PLATFORM_H */
