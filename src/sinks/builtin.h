/* Private to cflame: what env.c needs of the built-in sinks. */
#ifndef CFLAME_BUILTIN_H
#define CFLAME_BUILTIN_H

#include "cflame.h"

/* cflame_flame_file, optionally refusing to follow a symlink. */
int cflame__flame_open(const char *path, int nofollow,
                       const cflame_flame_opts_t *opts, cflame_guard_t **out);

/* cflame_pprof_file, optionally refusing to follow a symlink. */
int cflame__pprof_sink_open(const char *path, int nofollow,
                            const cflame_pprof_opts_t *opts,
                            cflame_guard_t **out);

/* cflame_timeline_file, optionally refusing to follow a symlink. */
int cflame__timeline_open(const char *path, int nofollow,
                          const cflame_timeline_opts_t *opts,
                          cflame_guard_t **out);

#endif /* CFLAME_BUILTIN_H */
