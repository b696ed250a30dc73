/* Private to cflame: sorting in place, with no allocation. */
#ifndef CFLAME_SORT_H
#define CFLAME_SORT_H

#include <stddef.h>

/* <0, 0, >0 as a sorts before, with, after b; ctx is passed through. */
typedef int (*cflame__cmp_fn)(const void *a, const void *b, void *ctx);

/* Sorts n elements of `size` bytes at base, like qsort but in place: it
 * allocates nothing (glibc's qsort merge-sorts through a copy of the array
 * when it can get one) and takes O(log n) stack. Not stable. O(n log n)
 * comparisons on any input. */
void cflame__sort(void *base, size_t n, size_t size, cflame__cmp_fn cmp,
                  void *ctx);

#endif /* CFLAME_SORT_H */
