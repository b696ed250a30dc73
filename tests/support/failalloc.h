/* Private to cflame's tests: allocation-failure injection. Force-included
 * (-include) into the sources of one test binary, it sends their malloc,
 * calloc and realloc through counters that fail on demand. */
#ifndef CFLAME_TESTS_FAILALLOC_H
#define CFLAME_TESTS_FAILALLOC_H

#include <stddef.h>
#include <stdlib.h>

/* Allocations are counted in failalloc_count; number failalloc_at
 * (0-based) fails, and every later one too unless failalloc_once.
 * failalloc_at -1: none fails. */
extern long failalloc_at, failalloc_count;
extern int failalloc_once;
void *failalloc_malloc(size_t n);
void *failalloc_calloc(size_t n, size_t size);
void *failalloc_realloc(void *p, size_t n);

#define malloc(n)     failalloc_malloc(n)
#define calloc(n, s)  failalloc_calloc(n, s)
#define realloc(p, n) failalloc_realloc(p, n)

#endif /* CFLAME_TESTS_FAILALLOC_H */
