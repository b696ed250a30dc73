/* Private to cflame: compiler helpers and small containers for every layer. */
#ifndef CFLAME_UTIL_H
#define CFLAME_UTIL_H

#include "cflame.h"

#include <stdint.h>
#include <string.h>

#define cflame_likely(x) __builtin_expect(!!(x), 1)
#define cflame_unlikely(x) __builtin_expect(!!(x), 0)

/* Plain C11 atomics would force _Atomic into every struct the flusher
 * shares; the GCC/Clang builtins let hot fields stay ordinary words. */
#define ld_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ld_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define st_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
/* Orders this thread's stores against a signal handler on the same thread. */
#define signal_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Append-only arrays (nodes, sites, span slots) live in chunks of doubling
 * size that never move, so readers can index them while the owner appends:
 * item i is in chunk cflame__chunk_of(i), at cflame__chunk_off(i, k). */
#define CFLAME__CHUNK0 64u /* items in chunk 0; log2 is 6 */
#define CFLAME__CHUNKS 26

static inline int cflame__chunk_of(uint32_t i) {
  return 31 - __builtin_clz(i + CFLAME__CHUNK0) - 6;
}

static inline uint32_t cflame__chunk_off(uint32_t i, int k) {
  return i + CFLAME__CHUNK0 - (CFLAME__CHUNK0 << k);
}

/* Appends s[0..n) to out[0..len), clamped so out keeps room for a NUL
 * (cap > len); returns the new length. */
static inline size_t cflame__put_clamped(char *out, size_t cap, size_t len,
                                         const char *s, size_t n) {
  if (len + n >= cap)
    n = cap - 1 - len;
  memcpy(out + len, s, n);
  return len + n;
}

/* FNV-1a with a final mix; seed separates the users of one text. */
uint64_t cflame__hash(const char *p, size_t n, uint64_t seed);

#endif /* CFLAME_UTIL_H */
