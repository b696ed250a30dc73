/* Private to cflame's fuzz targets: reading the fuzzer's input as a stream
 * of small integers, past its end as zeros. */
#ifndef CFLAME_FUZZ_INPUT_H
#define CFLAME_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct rd_s {
  const uint8_t *p;
  size_t n;
} rd_t;

static inline unsigned rd_u8(rd_t *r) {
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

/* A little-endian integer of `bytes` bytes. */
static inline uint64_t rd_uint(rd_t *r, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)rd_u8(r) << (8 * i);
  return v;
}

#endif /* CFLAME_FUZZ_INPUT_H */
