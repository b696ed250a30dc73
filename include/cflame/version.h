/* cflame version. */
#ifndef CFLAME_VERSION_H
#define CFLAME_VERSION_H

#define CFLAME_VERSION_MAJOR 0
#define CFLAME_VERSION_MINOR 2
#define CFLAME_VERSION_PATCH 0
#define CFLAME_VERSION_HEX                                                     \
  ((CFLAME_VERSION_MAJOR << 16) | (CFLAME_VERSION_MINOR << 8) |                \
   CFLAME_VERSION_PATCH)

#endif /* CFLAME_VERSION_H */
