/* Private to cflame's tests: whole files and scratch directories. Needs no
 * cflame, so tests that must not link it (test_plugins) use it too. */
#ifndef CFLAME_TEST_FILES_H
#define CFLAME_TEST_FILES_H

#include <stddef.h>

/* The whole file at path, NUL-terminated (malloc'd); its length in *len
 * unless len is NULL. NULL if it cannot be opened or memory runs out. */
char *slurp(const char *path, size_t *len);

/* Makes a new directory "/tmp/cflame-<tag>-XXXXXX" into dir (size bytes).
 * Returns 0, or -1 if it cannot. */
int tmpdir_make(char *dir, size_t size, const char *tag);

/* Removes dir and everything under it. Returns 0, or -1 if it cannot. */
int tmpdir_remove(const char *dir);

#endif /* CFLAME_TEST_FILES_H */
