/* Private to cflame's benchmarks: the instrumented functions that
 * cflame-bench-instr calls (bench_instr_fns.c). */
#ifndef CFLAME_BENCH_INSTR_H
#define CFLAME_BENCH_INSTR_H

#include <stdint.h>

void bench_instr_empty(void);
void bench_instr_excluded(void);
void bench_instr_via(void (*relay)(uint64_t), uint64_t n);
void bench_instr_a(void);
void bench_instr_b(void);
void bench_instr_c(void);
void bench_instr_d(void);

/* cflame-bench-resolve: N generated instrumented functions. */
extern void (*const bench_resolve_fns[])(void);
extern const unsigned bench_resolve_count;

#endif
