/* Shared by the benchmark programs (bench_off.c is the compiled-out
 * translation unit of cflame-bench). Includers define _POSIX_C_SOURCE
 * (or _GNU_SOURCE) first, for clock_gettime. */
#ifndef CFLAME_BENCH_H
#define CFLAME_BENCH_H

#include <stdint.h>
#include <time.h>

/* Keeps the compiler from merging or deleting loop bodies; emits nothing. */
#define BENCH_BARRIER() __asm__ volatile("" ::: "memory")

/* CLOCK_MONOTONIC in ns. */
static inline uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The cycle counter (named CYCLES_NAME), read inline. */
#if defined(__x86_64__) || defined(__i386__)
#define CYCLES_NAME "rdtsc"
static inline uint64_t cycles(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
#define CYCLES_NAME "cntvct"
static inline uint64_t cycles(void) {
  uint64_t v;
  __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
#else
#define CYCLES_NAME "gettime"
static inline uint64_t cycles(void) {
  return mono_ns();
}
#endif

/* n iterations of 3 nested span pairs built with CFLAME_ENABLED=0. */
void bench_loop_off(uint64_t n);

#endif /* CFLAME_BENCH_H */
