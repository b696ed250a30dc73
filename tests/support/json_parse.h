/* private to cflame's tests: a strict RFC 8259 JSON parser (into a small
 * tree), for the timeline checker and the JSON fuzz target. */
#ifndef CFLAME_TESTS_JSON_PARSE_H
#define CFLAME_TESTS_JSON_PARSE_H

#include <stddef.h>

/* Strict means: no trailing commas, comments, single quotes, NaN/Infinity,
 * leading zeros, '+' signs, bare '.', raw control characters in strings,
 * unknown escapes, lone or misordered surrogates in \u escapes, or invalid
 * UTF-8 (overlong, surrogate, above U+10FFFF, truncated) anywhere. Also
 * rejected: nesting deeper than JSON_MAX_DEPTH, and with JSON_UNIQUE_TOP a
 * key repeated in the outermost object (RFC 8259 allows repeats, readers
 * keep one of them). */
#define JSON_MAX_DEPTH 64

typedef enum json_type_e {
  JSON_NULL,
  JSON_FALSE,
  JSON_TRUE,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} json_type_t;

typedef struct json_value_s {
  json_type_t type;
  size_t off;       /* byte offset of the value's first byte in the input */
  double num;       /* NUMBER: strtod of the text */
  const char *text; /* NUMBER: the literal as written (not NUL-terminated) */
  size_t text_len;
  char *str;  /* STRING: decoded UTF-8, NUL-terminated (may hold NULs) */
  size_t len; /* STRING: decoded length; ARRAY/OBJECT: element count */
  struct json_value_s *items; /* ARRAY/OBJECT: len values */
  char **keys;                /* OBJECT: len decoded keys, NUL-terminated */
  size_t *key_lens;
} json_value_t;

typedef struct json_error_s {
  size_t off;    /* byte offset of the problem */
  char msg[160]; /* what is wrong */
} json_error_t;

enum {
  /* whitespace is space and tab only (no CR, LF): one value on one line */
  JSON_ONE_LINE = 1,
  /* reject a key repeated in the outermost object */
  JSON_UNIQUE_TOP = 2
};

/* Parses one JSON value from buf[*pos..len), after optional whitespace, and
 * leaves *pos just past it (trailing whitespace is not consumed). Returns 0,
 * or -1 with *err filled (err may be NULL) and *out left empty. Free the
 * result with json_free. */
int json_parse_value(const char *buf, size_t len, size_t *pos, unsigned flags,
                     json_value_t *out, json_error_t *err);

/* Parses a whole document: one value, surrounded by whitespace only. */
int json_parse(const char *buf, size_t len, json_value_t *out,
               json_error_t *err);

/* Frees what json_parse* allocated; the value becomes JSON_NULL. */
void json_free(json_value_t *v);

/* The member `key` of an object, or NULL (also when v is not an object). */
const json_value_t *json_get(const json_value_t *v, const char *key);

/* Decodes the JSON string token at buf[*pos] (which must be '"') into a
 * malloc'd, NUL-terminated buffer *out of *out_len bytes and moves *pos past
 * it. Returns 0, or -1 with *err filled. */
int json_parse_string(const char *buf, size_t len, size_t *pos, char **out,
                      size_t *out_len, json_error_t *err);

#endif
