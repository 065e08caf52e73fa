// SHA-256 (FIPS 180-4), small and dependency-free: the launcher is linked statically and
// checks the payload with it before trusting extracted bytes.
#ifndef CORDON_SHA256_H
#define CORDON_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
  uint32_t state[8];
  uint64_t length; // bytes hashed so far
  uint8_t block[64];
  size_t block_used;
};

void sha256_init(struct sha256 *ctx);
void sha256_update(struct sha256 *ctx, const void *data, size_t size);
void sha256_final(struct sha256 *ctx, uint8_t digest[32]);

#endif
