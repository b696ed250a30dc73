/* Private to cflame: span and event fields as text. */
#ifndef CFLAME_FIELD_H
#define CFLAME_FIELD_H

#include "cflame.h"

/* Longest field text kept for one span or event. */
#define CFLAME__FIELDS_MAX 512

/* Writes "k=v, k2=v2" (every key and value sanitized like a frame name) to
 * out, at most cap-1 bytes, NUL-terminated; returns the length. */
size_t cflame__fields_format(char *out, size_t cap, const cflame_field_t *f,
                             size_t n);

#endif /* CFLAME_FIELD_H */
