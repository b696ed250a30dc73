/* Private to cflame's tests: whole files and scratch directories. Needs no
 * cflame, so tests that must not link it (test_plugins) use it too. */
#ifndef CFLAME_TEST_FILES_H
#define CFLAME_TEST_FILES_H

#include <stddef.h>

/* Reads the whole file at path into *buf (malloc'd, NUL-terminated) and
 * its length into *len. Returns NULL; or, with *buf NULL and *errnum set
 * (ENOMEM when memory runs out), "cannot open" or "cannot read". */
const char *file_read(const char *path, char **buf, size_t *len,
                      int *errnum);

/* The whole file at path, as file_read; its length in *len unless len is
 * NULL. NULL if it cannot be read. */
char *slurp(const char *path, size_t *len);

/* Makes a new directory "/tmp/cflame-<tag>-XXXXXX" into dir (size bytes).
 * Returns 0, or -1 if it cannot. */
int tmpdir_make(char *dir, size_t size, const char *tag);

/* Removes dir and everything under it. Returns 0, or -1 if it cannot. */
int tmpdir_remove(const char *dir);

#endif /* CFLAME_TEST_FILES_H */
