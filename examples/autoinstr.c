/* Auto-instrumentation: no cflame call at all. Built with
 * cflame_instrument() (-finstrument-functions, linked with cflame), run as
 *   CFLAME_FLAME=out.folded ./autoinstr
 * it writes a flamegraph of every function below, named from the symbol
 * table: main;autoinstr::main;autoinstr::sort;autoinstr::partition ... */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 20000
static unsigned v[N];

static unsigned next_random(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return *state >> 8;
}

static void fill(unsigned seed) {
  for (int i = 0; i < N; i++)
    v[i] = next_random(&seed) % 100000;
}

static int partition(int lo, int hi) {
  unsigned pivot = v[hi];
  int i = lo;
  for (int j = lo; j < hi; j++)
    if (v[j] < pivot) {
      unsigned t = v[i];
      v[i++] = v[j];
      v[j] = t;
    }
  unsigned t = v[i];
  v[i] = v[hi];
  v[hi] = t;
  return i;
}

/* Recursive: the flamegraph shows the recursion depth. */
static void sort(int lo, int hi) {
  while (lo < hi) {
    int p = partition(lo, hi);
    sort(lo, p - 1);
    lo = p + 1;
  }
}

static unsigned long checksum(void) {
  unsigned long sum = 0;
  for (int i = 0; i < N; i++)
    sum = sum * 31 + v[i];
  return sum;
}

/* Wall time: shows up although the CPU is idle. */
static void wait_a_bit(void) {
  struct timespec ts = {0, 10 * 1000000L};
  nanosleep(&ts, NULL);
}

int main(void) {
  unsigned long total = 0;
  for (unsigned round = 0; round < 3; round++) {
    fill(round + 1);
    sort(0, N - 1);
    total += checksum();
  }
  wait_a_bit();
  printf("autoinstr: checksum %lu\n", total);
  return 0;
}
