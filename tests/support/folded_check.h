/* private to cflame's tests: strict checker for the folded-stack rules of
 * FORMAT.md, so every writer test can assert "all three readers agree". */
#ifndef CFLAME_TESTS_FOLDED_CHECK_H
#define CFLAME_TESTS_FOLDED_CHECK_H

#include <stddef.h>

typedef struct folded_check_error_s {
  int rule;    /* FORMAT.md rule number violated (1..13), 0 = ok or I/O error */
  size_t line; /* 1-based line number, 0 for whole-file problems */
  char msg[256]; /* what is wrong, with an escaped printable-ASCII excerpt */
} folded_check_error_t;

enum {
  /* rule 6 aggregate: stacks strictly increasing bytewise (memcmp order,
   * shorter prefix first), so also no duplicate stack */
  FOLDED_CHECK_SORTED = 1
};

/* Returns 0 if buf[0..len) obeys every FORMAT.md rule, else -1 and fills
 * *err (first problem in file order). *lines_out gets the number of lines and
 * *total_out the sum of their counts; on failure both cover only the lines
 * before the bad one. Any of err, lines_out, total_out may be NULL.
 * A 0-byte buffer is valid (zero lines). Rule 7 is never reported by number:
 * a ';' inside a name is indistinguishable from a separator, so it shows up
 * as the rule 9/10/11 problem of the frames it produces. */
int folded_check(const char *buf, size_t len, unsigned flags,
                 folded_check_error_t *err, size_t *lines_out,
                 unsigned long long *total_out);

/* Reads a whole file and checks it; same return. If the file cannot be read,
 * returns -1 with err->rule == 0 and the reason in err->msg. */
int folded_check_file(const char *path, unsigned flags,
                      folded_check_error_t *err, size_t *lines_out,
                      unsigned long long *total_out);

#endif
