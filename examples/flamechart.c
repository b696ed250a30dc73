/* A program in phases, recorded in stream mode: one folded line per span
 * enter and exit, in time order, for a flame CHART whose x axis is time. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* CPU work whose result is used, so the compiler cannot drop it. */
static uint64_t churn(uint64_t rounds) {
  uint64_t h = 1469598103934665603u;
  for (uint64_t i = 0; i < rounds; i++)
    h = (h ^ i) * 1099511628211u;
  return h;
}

static uint64_t load_config(void) {
  CFLAME_FN();
  sleep_ms(4); /* stands in for reading a file */
  return 1;
}

static uint64_t parse(void) {
  CFLAME_FN();
  return churn(2000000);
}

static uint64_t simulate_step(int step) {
  CFLAME_FN();
  CFLAME_SPAN(physics, "physics");
  uint64_t h = churn(500000 * (uint64_t)(step + 1));
  CFLAME_SPAN_END(physics);
  CFLAME_SPAN(sync, "sync"); /* waiting for other parties */
  sleep_ms(2);
  CFLAME_SPAN_END(sync);
  return h;
}

static uint64_t save(void) {
  CFLAME_FN();
  sleep_ms(5);
  return 1;
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "flamechart: %s: %s\n", what, cflame_strerror(rc));
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "flamechart.folded";
  cflame_flame_opts_t opts = cflame_flame_opts_default();
  opts.mode = CFLAME_FLAME_STREAM;
  cflame_guard_t *guard;
  int rc = cflame_flame_file(path, &opts, &guard);
  if (rc < 0)
    return fail("cflame_flame_file", rc);

  uint64_t h = 0;
  CFLAME_SPAN(startup, "startup");
  h ^= load_config();
  h ^= parse();
  CFLAME_SPAN_END(startup);
  CFLAME_SPAN(run, "run");
  for (int step = 0; step < 4; step++)
    h ^= simulate_step(step);
  CFLAME_SPAN_END(run);
  h ^= save();

  if ((rc = cflame_guard_drop(guard)) < 0)
    return fail("cflame_guard_drop", rc);
  printf("checksum %llx\nwrote %s\n", (unsigned long long)h, path);
  printf("note: lines are in time order. inferno-flamegraph --flamechart "
         "draws the LAST line\nleftmost (jonhoo/inferno#236), while "
         "flamegraph.pl --flamechart and speedscope\ndraw the FIRST line "
         "leftmost. For time left to right in inferno, reverse the file:\n"
         "  tac %s | inferno-flamegraph --flamechart > chart.svg\n",
         path);
  return 0;
}
