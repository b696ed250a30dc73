/* Zero-code setup: the sinks the environment asks for, under one guard. */
#include "builtin.h"
#include "core.h"
#include "instrument.h"
#include "platform.h"

#include <string.h>

static int env_bool(const char *var, bool *out) {
  const char *v = cflame__plat_getenv(var);
  if (!v || !*v)
    return 0;
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") ||
      !strcmp(v, "on")) {
    *out = true;
  } else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") ||
             !strcmp(v, "off")) {
    *out = false;
  } else {
    cflame__report(CFLAME_FAULT_CONFIG,
                   "%s: expected 0/1/true/false/yes/no/on/off; ignored", var);
    return -1;
  }
  return 0;
}

static void env_clock(void) {
  const char *clock = cflame__plat_getenv("CFLAME_CLOCK");
  if (!clock || !*clock)
    return;
  int rc = CFLAME_EINVAL;
  if (!strcmp(clock, "auto"))
    rc = cflame_clock_use(CFLAME_CLOCK_AUTO);
  else if (!strcmp(clock, "tsc"))
    rc = cflame_clock_use(CFLAME_CLOCK_TSC);
  else if (!strcmp(clock, "monotonic"))
    rc = cflame_clock_use(CFLAME_CLOCK_MONOTONIC);
  if (rc < 0)
    cflame__report(CFLAME_FAULT_CONFIG,
                   "CFLAME_CLOCK: expected auto, tsc or monotonic (usable "
                   "here); ignored");
}

static int env_flame(cflame_guard_t **out) {
  const char *path = cflame__plat_getenv("CFLAME_FLAME");
  if (!path || !*path)
    return 0;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  const char *mode = cflame__plat_getenv("CFLAME_FLAME_MODE");
  if (mode && *mode) {
    if (!strcmp(mode, "aggregate"))
      o.mode = CFLAME_FLAME_AGGREGATE;
    else if (!strcmp(mode, "stream"))
      o.mode = CFLAME_FLAME_STREAM;
    else
      cflame__report(CFLAME_FAULT_CONFIG,
                     "CFLAME_FLAME_MODE: expected aggregate or stream; "
                     "using aggregate");
  }
  (void)env_bool("CFLAME_FLAME_EMPTY_SAMPLES", &o.empty_samples);
  (void)env_bool("CFLAME_FLAME_THREADS_COLLAPSED", &o.threads_collapsed);
  (void)env_bool("CFLAME_FLAME_MODULE_PATH", &o.module_path);
  (void)env_bool("CFLAME_FLAME_FILE_AND_LINE", &o.file_and_line);
  (void)env_bool("CFLAME_FLAME_FIELDS_IN_FRAME", &o.fields_in_frame);
  (void)env_bool("CFLAME_FLAME_COMPENSATE", &o.compensate);
  return cflame__flame_open(path, 1, &o, out);
}

static int env_pprof(cflame_guard_t **out) {
  const char *path = cflame__plat_getenv("CFLAME_PPROF");
  if (!path || !*path)
    return 0;
  return cflame__pprof_sink_open(path, 1, NULL, out);
}

/* The guard of what auto-instrumentation installed from the environment
 * at the first instrumented call (before main): the program's own
 * cflame_init_env takes it over instead of opening the same files again. */
static cflame_guard_t *auto_guard;

int cflame__init_env_auto(cflame_guard_t **out) {
  int rc = cflame_init_env(out);
  if (rc == 0)
    __atomic_store_n(&auto_guard, *out, __ATOMIC_RELEASE);
  return rc;
}

static int env_timeline(cflame_guard_t **out) {
  const char *path = cflame__plat_getenv("CFLAME_TIMELINE");
  if (!path || !*path)
    return 0;
  cflame_timeline_opts_t o = cflame_timeline_opts_default();
  return cflame__timeline_open(path, 1, &o, out);
}

int cflame_init_env(cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  *out = __atomic_exchange_n(&auto_guard, NULL, __ATOMIC_ACQ_REL);
  if (*out)
    return 0;
  /* Each entry installs one kind of sink from its variables, or nothing. */
  static int (*const installers[])(cflame_guard_t **) = {
      env_flame, env_pprof, env_timeline};
  const size_t count = sizeof installers / sizeof installers[0];
  cflame_guard_t *got[sizeof installers / sizeof installers[0]];
  int n = 0, rc = 0;
  env_clock();
  for (size_t i = 0; i < count && rc == 0; i++) {
    cflame_guard_t *g = NULL;
    rc = installers[i](&g);
    if (g)
      got[n++] = g;
  }
  if (rc == 0 && n > 1 && !(*out = cflame__guard_group(got, n)))
    rc = CFLAME_ENOMEM;
  if (rc < 0) {
    for (int i = 0; i < n; i++)
      (void)cflame_guard_drop(got[i]);
    return rc;
  }
  if (n == 1)
    *out = got[0];
  return 0;
}
