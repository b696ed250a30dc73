/* Private to cflame's tests: a plugin for test_plugins, built once against
 * the shared cflame and twice with a PIC static copy of its own. */
#define _POSIX_C_SOURCE 200809L
#include <cflame.h>

#include <time.h>

#define PLUG_API __attribute__((visibility("default")))

static cflame_guard_t *guard;

PLUG_API int plug_start(const char *path);
PLUG_API int plug_init_env(void);
PLUG_API void plug_span(void);
PLUG_API int plug_filter(const char *directives);
PLUG_API int plug_stop(void);
PLUG_API int plug_name(const char *name);

int plug_start(const char *path) {
  return cflame_flame_file(path, NULL, &guard);
}

int plug_init_env(void) {
  return cflame_init_env(&guard);
}

/* One span of about a millisecond, from a callsite in this object. */
void plug_span(void) {
  CFLAME_SPAN(t, "plug_work");
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
  CFLAME_SPAN_END(t);
}

int plug_filter(const char *directives) {
  return cflame_filter_set(directives);
}

int plug_stop(void) {
  int rc = cflame_guard_drop(guard);
  guard = NULL;
  return rc;
}

int plug_name(const char *name) {
  return cflame_thread_name(name);
}
