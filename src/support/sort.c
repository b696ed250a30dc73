/* An introsort: quicksort with a median-of-three pivot and Hoare's
 * partition (equal keys split evenly), insertion sort for short ranges, and
 * heapsort for a range that has recursed 2 log2 n deep, so no input makes
 * it quadratic. The larger side of a partition is looped over, the smaller
 * recursed into: the stack stays O(log n). */
#include "sort.h"

#include <stdint.h>
#include <string.h>

typedef struct sorter_s {
  char *base;
  size_t size;
  cflame__cmp_fn cmp;
  void *ctx;
} sorter_t;

static char *at(const sorter_t *s, size_t i) {
  return s->base + i * s->size;
}

static int less(const sorter_t *s, size_t i, size_t j) {
  return s->cmp(at(s, i), at(s, j), s->ctx) < 0;
}

static void swap(const sorter_t *s, size_t i, size_t j) {
  char *x = at(s, i), *y = at(s, j);
  unsigned char t[64];
  for (size_t n = s->size; n;) {
    size_t k = n < sizeof t ? n : sizeof t;
    memcpy(t, x, k);
    memcpy(x, y, k);
    memcpy(y, t, k);
    x += k;
    y += k;
    n -= k;
  }
}

/* Heap of n elements from lo: moves the one at root down into place. */
static void sift(const sorter_t *s, size_t lo, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && less(s, lo + child, lo + child + 1))
      child++;
    if (!less(s, lo + root, lo + child))
      return;
    swap(s, lo + root, lo + child);
    root = child;
  }
}

static void heap_sort(const sorter_t *s, size_t lo, size_t n) {
  for (size_t i = n / 2; i-- > 0;)
    sift(s, lo, i, n);
  for (size_t end = n; end-- > 1;) {
    swap(s, lo, lo + end);
    sift(s, lo, 0, end);
  }
}

static void insertion_sort(const sorter_t *s, size_t lo, size_t hi) {
  for (size_t i = lo + 1; i < hi; i++)
    for (size_t j = i; j > lo && less(s, j, j - 1); j--)
      swap(s, j, j - 1);
}

/* Sorts [lo, hi). */
static void intro(const sorter_t *s, size_t lo, size_t hi, unsigned depth) {
  while (hi - lo > 16) {
    if (depth-- == 0) {
      heap_sort(s, lo, hi - lo);
      return;
    }
    size_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (less(s, mid, lo))
      swap(s, mid, lo);
    if (less(s, last, mid)) {
      swap(s, last, mid);
      if (less(s, mid, lo))
        swap(s, mid, lo);
    }
    swap(s, lo, mid); /* the median is the pivot, at lo */
    size_t i = lo, j = hi;
    for (;;) {
      do
        i++;
      while (i < hi && less(s, i, lo));
      do
        j--;
      while (less(s, lo, j)); /* stops at lo at the latest */
      if (i >= j)
        break;
      swap(s, i, j);
    }
    swap(s, lo, j); /* [lo, j) <= pivot at j <= (j, hi) */
    if (j - lo < hi - j - 1) {
      intro(s, lo, j, depth);
      lo = j + 1;
    } else {
      intro(s, j + 1, hi, depth);
      hi = j;
    }
  }
  insertion_sort(s, lo, hi);
}

void cflame__sort(void *base, size_t n, size_t size, cflame__cmp_fn cmp,
                  void *ctx) {
  if (n < 2 || size == 0)
    return;
  sorter_t s = {base, size, cmp, ctx};
  unsigned depth = 0;
  for (size_t k = n; k > 1; k >>= 1)
    depth += 2;
  intro(&s, 0, n, depth);
}
