/* Events and levels: a fmt sink prints one line per event on stderr while
 * the flame sink records spans. Try CFLAME_FILTER=warn or =events=debug. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <stdio.h>
#include <time.h>

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void update(int frame) {
  CFLAME_SPAN_F(s, "update", CFLAME_I64("frame", frame));
  CFLAME_SPAN_L(p, CFLAME_LEVEL_DEBUG, "physics");
  sleep_ms(1);
  CFLAME_SPAN_END(p);
  if (frame % 4 == 3)
    CFLAME_WARN_EV("slow frame", CFLAME_I64("frame", frame),
                   CFLAME_F64("ms", 1.5));
  CFLAME_DEBUG_EV("updated", CFLAME_I64("entities", 40 + frame));
  CFLAME_SPAN_END(s);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "events.folded";
  cflame_guard_t *flame, *fmt;
  int rc = cflame_flame_file(path, NULL, &flame);
  if (rc == 0)
    rc = cflame_fmt_fd(2, NULL, &fmt);
  if (rc < 0) {
    fprintf(stderr, "events: %s\n", cflame_strerror(rc));
    return 1;
  }
  CFLAME_INFO_EV("starting", CFLAME_STR("scene", "demo"));
  for (int frame = 0; frame < 8; frame++) {
    update(frame);
    CFLAME_FRAME_MARK(); /* a frame boundary, counted in cflame_stats */
  }
  cflame_stats_t st;
  cflame_stats(&st);
  CFLAME_INFO_EV("done", CFLAME_U64("frames", st.frame_marks),
                 CFLAME_U64("events", st.events));
  rc = cflame_guard_drop(fmt);
  if (rc == 0)
    rc = cflame_guard_drop(flame);
  if (rc < 0) {
    fprintf(stderr, "events: %s\n", cflame_strerror(rc));
    return 1;
  }
  fprintf(stderr, "events: wrote %s\n", path);
  return 0;
}
