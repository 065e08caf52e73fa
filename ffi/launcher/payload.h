// The layout of the payload that follows the launcher inside dist/cordon. Shared by the
// launcher (which reads it) and pack.c (which writes it); both run on x86-64 Linux, so the
// structs are stored as they sit in memory (little-endian, no padding: every field is
// naturally aligned and the sizes are multiples of 8).
//
//   [launcher ELF][member 0, zstd][member 1, zstd]...[struct payload_trailer]
//
// The trailer sits at the very end of the file, so the launcher finds it with one pread.
#ifndef CORDON_PAYLOAD_H
#define CORDON_PAYLOAD_H

#include <stdint.h>

#define PAYLOAD_MAGIC "CORDPAY1"
#define PAYLOAD_MAGIC_LEN 8
#define PAYLOAD_MAX_MEMBERS 4
#define PAYLOAD_NAME_LEN 32

struct payload_member {
  char name[PAYLOAD_NAME_LEN]; // file name inside the cache, NUL-terminated, no '/'
  uint64_t offset;             // file offset of the compressed bytes
  uint64_t packed_size;        // size of the zstd frame
  uint64_t size;               // size once decompressed
  uint32_t mode;               // permission bits of the extracted file (0755 or 0644)
  uint32_t reserved;           // zero
  uint8_t sha256[32];          // SHA-256 of the compressed bytes: names the cache directory
};

struct payload_trailer {
  struct payload_member members[PAYLOAD_MAX_MEMBERS];
  uint32_t member_count;
  uint32_t trailer_size;   // sizeof(struct payload_trailer): guards against layout changes
  uint64_t payload_offset; // where the first member starts (the launcher's own size)
  char magic[PAYLOAD_MAGIC_LEN];
};

_Static_assert(sizeof(struct payload_member) == 96, "member layout");
_Static_assert(sizeof(struct payload_trailer) == 4 * 96 + 24, "trailer layout");

#endif
