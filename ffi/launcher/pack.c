// Build-time tool: appends zstd-compressed members and the trailer (payload.h) to the launcher,
// writing one self-contained executable. Its output depends only on its inputs' bytes, so the
// same sources give the same dist/cordon.
//
// Usage: pack OUTPUT LAUNCHER NAME:MODE:ORIGINAL:COMPRESSED...
//   NAME        file name in the cache (deno, cordon.js, libsandbox.so)
//   MODE        octal permission bits of the extracted file
//   ORIGINAL    the uncompressed file (only its size is recorded)
//   COMPRESSED  its zstd frame, as appended
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "payload.h"
#include "sha256.h"

static void die(const char *format, const char *detail) {
  fprintf(stderr, "pack: ");
  fprintf(stderr, format, detail);
  fprintf(stderr, "\n");
  exit(1);
}

// Copies `path` onto `out`, hashing the copied bytes into `hash` if not NULL; returns the size.
static uint64_t append_file(FILE *out, const char *path, struct sha256 *hash) {
  FILE *in = fopen(path, "rb");
  if (!in) die("cannot open %s", path);
  static unsigned char buffer[1 << 20];
  uint64_t total = 0;
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, in)) > 0) {
    if (fwrite(buffer, 1, n, out) != n) die("cannot write the output (%s)", strerror(errno));
    if (hash) sha256_update(hash, buffer, n);
    total += n;
  }
  if (ferror(in)) die("cannot read %s", path);
  fclose(in);
  return total;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc - 3 > PAYLOAD_MAX_MEMBERS)
    die("usage: pack OUTPUT LAUNCHER NAME:MODE:ORIGINAL:COMPRESSED... (at most 4 members)%s", "");
  const char *output = argv[1];
  char temporary[4096];
  snprintf(temporary, sizeof temporary, "%s.partial", output);
  FILE *out = fopen(temporary, "wb");
  if (!out) die("cannot create %s", temporary);

  struct payload_trailer trailer;
  memset(&trailer, 0, sizeof trailer);
  uint64_t offset = append_file(out, argv[2], NULL);
  trailer.payload_offset = offset;
  for (int i = 3; i < argc; i++) {
    char *spec = strdup(argv[i]);
    char *name = strtok(spec, ":"), *mode = strtok(NULL, ":"), *original = strtok(NULL, ":"),
         *compressed = strtok(NULL, ":");
    if (!compressed) die("bad member spec %s", argv[i]);
    struct payload_member *member = &trailer.members[trailer.member_count++];
    if (strlen(name) >= PAYLOAD_NAME_LEN || strchr(name, '/')) die("bad member name %s", name);
    strcpy(member->name, name);
    member->mode = (uint32_t)strtoul(mode, NULL, 8);
    struct stat st;
    if (stat(original, &st) != 0) die("cannot stat %s", original);
    member->size = (uint64_t)st.st_size;
    struct sha256 hash;
    sha256_init(&hash);
    member->offset = offset;
    member->packed_size = append_file(out, compressed, &hash);
    sha256_final(&hash, member->sha256);
    offset += member->packed_size;
    free(spec);
  }
  trailer.trailer_size = sizeof trailer;
  memcpy(trailer.magic, PAYLOAD_MAGIC, PAYLOAD_MAGIC_LEN);
  if (fwrite(&trailer, sizeof trailer, 1, out) != 1 || fclose(out) != 0) die("cannot write %s", temporary);
  if (chmod(temporary, 0755) != 0 || rename(temporary, output) != 0) die("cannot create %s", output);
  return 0;
}
