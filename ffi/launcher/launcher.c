// The front half of dist/cordon: a small static program that carries Deno, the bundled CLI
// and libsandbox.so as a zstd-compressed payload appended to itself (layout in payload.h).
//
// Warm path (the common case): read the trailer, find every member already extracted in a
// content-addressed cache directory that only the current user can write, execve Deno on the
// bundle. That costs a handful of syscalls.
//
// Cold path: extract each missing member into a private temporary directory next to its final
// place, verify the SHA-256 of its compressed bytes, fsync, and rename it into place, so that
// a half-written member is never visible and concurrent launchers agree on one copy.
//
// When no cache directory is usable (read-only home, hostile /tmp, noexec mounts), the members
// go into sealed memfds instead and Deno is started with execveat(AT_EMPTY_PATH).
//
// We always exec (never fork): the pid that started is the pid that runs the CLI, which
// container engines rely on, and Deno's exit status is cordon's exit status.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "payload.h"
#include "sha256.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

// Launcher failures (bad payload, nowhere to run from) use 125, the exit status container
// tools reserve for "the runtime itself failed", so they never look like the command's own.
#define EXIT_LAUNCHER_FAILURE 125

#define MEMBER_RUNTIME "deno"
#define MEMBER_BUNDLE "cordon.js"
// The same program with its functions compiled eagerly, so that Deno's code cache holds them
// (see eager_bundle.ts): for the commands that start a sentry, named in sentry_commands.
#define MEMBER_EAGER_BUNDLE "cordon-eager.js"
#define MEMBER_LIBRARY "libsandbox.so"

// Flags for `deno run`: no prompts, no network for module loading, no type-checking, no
// discovery of deno.json/lockfiles around the user's working directory. V8 runs
// single-threaded, which lets the OCI runtime fork its sandbox process from the CLI (see
// sb_oci_fork_sandbox); every command gets the same flags, so that they share one code cache
// (V8 refuses a cache made under other flags).
static const char *const deno_run_flags[] = {
    "run",       "--allow-all", "--no-prompt", "--no-check",
    "--no-config", "--no-lock", "--quiet",     "--no-remote",
    "--no-npm",  "--v8-flags=--single-threaded",
};
#define DENO_RUN_FLAG_COUNT (sizeof deno_run_flags / sizeof deno_run_flags[0])

static bool debug_enabled;

static void debug(const char *format, ...) {
  if (!debug_enabled) return;
  va_list args;
  va_start(args, format);
  fputs("cordon-launcher: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

static _Noreturn void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("cordon: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(EXIT_LAUNCHER_FAILURE);
}

struct payload {
  int fd; // the executable itself
  uint64_t file_size;
  struct payload_trailer trailer;
  const uint8_t *mapping; // whole file, mapped only when something must be unpacked
  const struct payload_member *runtime, *bundle, *eager_bundle, *library;
};

// ---------------------------------------------------------------------------------------
// Reading and validating the trailer

static const struct payload_member *find_member(const struct payload *payload, const char *name) {
  for (uint32_t i = 0; i < payload->trailer.member_count; i++)
    if (strcmp(payload->trailer.members[i].name, name) == 0) return &payload->trailer.members[i];
  fail("payload has no member '%s' (corrupt build?)", name);
}

static bool member_name_is_safe(const char *name) {
  size_t length = strnlen(name, PAYLOAD_NAME_LEN);
  if (length == 0 || length == PAYLOAD_NAME_LEN) return false;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return false;
  return strchr(name, '/') == NULL;
}

static void open_payload(struct payload *payload, const char *self_path) {
  payload->fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (payload->fd < 0) fail("cannot open %s: %s (is /proc mounted?)", "/proc/self/exe", strerror(errno));
  struct stat st;
  if (fstat(payload->fd, &st) != 0) fail("cannot stat %s: %s", self_path, strerror(errno));
  payload->file_size = (uint64_t)st.st_size;
  struct payload_trailer *trailer = &payload->trailer;
  if (payload->file_size < sizeof *trailer)
    fail("%s: payload missing or truncated (file is %llu bytes)", self_path,
         (unsigned long long)payload->file_size);
  ssize_t got = pread(payload->fd, trailer, sizeof *trailer, (off_t)(payload->file_size - sizeof *trailer));
  if (got != (ssize_t)sizeof *trailer) fail("%s: cannot read the payload trailer", self_path);
  if (memcmp(trailer->magic, PAYLOAD_MAGIC, PAYLOAD_MAGIC_LEN) != 0)
    fail("%s: payload missing or truncated (no trailer at the end of the file)", self_path);
  if (trailer->trailer_size != sizeof *trailer || trailer->member_count == 0 ||
      trailer->member_count > PAYLOAD_MAX_MEMBERS)
    fail("%s: payload trailer is corrupt", self_path);
  uint64_t payload_end = payload->file_size - sizeof *trailer;
  for (uint32_t i = 0; i < trailer->member_count; i++) {
    const struct payload_member *member = &trailer->members[i];
    if (!member_name_is_safe(member->name) || member->offset < trailer->payload_offset ||
        member->packed_size == 0 || member->offset > payload_end ||
        member->packed_size > payload_end - member->offset || (member->mode & ~0777u) != 0)
      fail("%s: payload trailer is corrupt (member %u)", self_path, i);
  }
  payload->runtime = find_member(payload, MEMBER_RUNTIME);
  payload->bundle = find_member(payload, MEMBER_BUNDLE);
  payload->eager_bundle = find_member(payload, MEMBER_EAGER_BUNDLE);
  payload->library = find_member(payload, MEMBER_LIBRARY);
  payload->mapping = NULL;
}

static void map_payload(struct payload *payload) {
  if (payload->mapping) return;
  void *mapping = mmap(NULL, payload->file_size, PROT_READ, MAP_PRIVATE, payload->fd, 0);
  if (mapping == MAP_FAILED) fail("cannot map the payload: %s", strerror(errno));
  payload->mapping = mapping;
}

// ---------------------------------------------------------------------------------------
// Unpacking one member into a file descriptor

enum unpack_result { UNPACK_OK, UNPACK_IO_ERROR, UNPACK_CORRUPT };

static char corruption[256]; // why the last UNPACK_CORRUPT happened

#define CORRUPT(...)                                                                               \
  do {                                                                                             \
    snprintf(corruption, sizeof corruption, __VA_ARGS__);                                          \
    ZSTD_freeDCtx(dctx);                                                                           \
    return UNPACK_CORRUPT;                                                                         \
  } while (0)

// Decompresses `member` into `out_fd` (positioned at 0), hashing the compressed bytes on the
// way. UNPACK_CORRUPT (reason in `corruption`) means the payload itself is bad, so no other
// directory would fare better; errno holds the cause of UNPACK_IO_ERROR.
static enum unpack_result unpack_member(struct payload *payload, const struct payload_member *member,
                                        int out_fd) {
  enum { INPUT_CHUNK = 1 << 20, OUTPUT_BUFFER = 4 << 20 };
  map_payload(payload);
  static uint8_t *output;
  if (!output && !(output = malloc(OUTPUT_BUFFER))) fail("out of memory");
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  if (!dctx) fail("out of memory");
  struct sha256 hash;
  sha256_init(&hash);
  const uint8_t *packed = payload->mapping + member->offset;
  uint64_t written = 0;
  size_t last_result = 1;
  for (uint64_t offset = 0; offset < member->packed_size; offset += INPUT_CHUNK) {
    size_t chunk = member->packed_size - offset < INPUT_CHUNK ? member->packed_size - offset : INPUT_CHUNK;
    sha256_update(&hash, packed + offset, chunk);
    ZSTD_inBuffer in = {packed + offset, chunk, 0};
    for (;;) {
      ZSTD_outBuffer out = {output, OUTPUT_BUFFER, 0};
      last_result = ZSTD_decompressStream(dctx, &out, &in);
      if (ZSTD_isError(last_result))
        CORRUPT("payload member '%s' is corrupt: %s", member->name, ZSTD_getErrorName(last_result));
      for (size_t done = 0; done < out.pos;) {
        ssize_t n = write(out_fd, output + done, out.pos - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          int saved = errno;
          ZSTD_freeDCtx(dctx);
          errno = saved;
          return UNPACK_IO_ERROR;
        }
        done += (size_t)n;
      }
      written += out.pos;
      if (written > member->size) CORRUPT("payload member '%s' is larger than recorded", member->name);
      if (in.pos == in.size && out.pos < out.size) break;
    }
  }
  uint8_t digest[32];
  sha256_final(&hash, digest);
  if (memcmp(digest, member->sha256, sizeof digest) != 0)
    CORRUPT("payload member '%s' is corrupt (hash mismatch)", member->name);
  if (last_result != 0 || written != member->size) CORRUPT("payload member '%s' is truncated", member->name);
  ZSTD_freeDCtx(dctx);
  return UNPACK_OK;
}

// ---------------------------------------------------------------------------------------
// The content-addressed cache

// The directory of a member inside a cache base: "<name>-<first 16 bytes of its hash in hex>".
static void member_directory_name(const struct payload_member *member, char out[PAYLOAD_NAME_LEN + 34]) {
  static const char hex[] = "0123456789abcdef";
  size_t length = strlen(member->name);
  memcpy(out, member->name, length);
  out[length++] = '-';
  for (int i = 0; i < 16; i++) {
    out[length++] = hex[member->sha256[i] >> 4];
    out[length++] = hex[member->sha256[i] & 15];
  }
  out[length] = '\0';
}

static bool format_path(char *out, size_t size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int n = vsnprintf(out, size, format, args);
  va_end(args);
  return n > 0 && (size_t)n < size;
}

// Only the current user may have written what we are about to execute or load.
static bool private_to_us(const struct stat *st) {
  return st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static bool member_is_cached(const char *base, const struct payload_member *member) {
  char directory[PAYLOAD_NAME_LEN + 34], path[PATH_MAX];
  member_directory_name(member, directory);
  struct stat st;
  if (!format_path(path, sizeof path, "%s/%s", base, directory)) return false;
  if (lstat(path, &st) != 0) return false;
  if (!S_ISDIR(st.st_mode) || !private_to_us(&st)) {
    debug("%s: not trusted (owner %u, mode %o)", path, st.st_uid, st.st_mode & 07777);
    return false;
  }
  if (!format_path(path, sizeof path, "%s/%s/%s", base, directory, member->name)) return false;
  if (lstat(path, &st) != 0) {
    debug("%s: missing", path);
    return false;
  }
  if (!S_ISREG(st.st_mode) || !private_to_us(&st) || (st.st_mode & 07777) != member->mode ||
      (uint64_t)st.st_size != member->size) {
    debug("%s: not trusted (owner %u, mode %o, size %lld)", path, st.st_uid, st.st_mode & 07777,
          (long long)st.st_size);
    return false;
  }
  return true;
}

// mkdir -p, creating missing components private to the user (XDG asks 0700 for the cache).
static bool make_directories(const char *path) {
  char partial[PATH_MAX];
  if (!format_path(partial, sizeof partial, "%s", path)) return false;
  for (char *slash = partial + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
    *slash = '\0';
    if (mkdir(partial, 0700) != 0 && errno != EEXIST) return false;
    *slash = '/';
  }
  return mkdir(partial, 0700) == 0 || errno == EEXIST;
}

// Creates the cache base if needed and checks that only we can change what is inside it.
static bool prepare_base(const char *base) {
  if (!make_directories(base)) {
    debug("%s: cannot create: %s", base, strerror(errno));
    return false;
  }
  struct stat st;
  if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode) || !private_to_us(&st)) {
    debug("%s: not usable as a cache (not a private directory of uid %u)", base, geteuid());
    return false;
  }
  return true;
}

// Best-effort removal of a directory tree we moved out of the way; never follows symlinks.
static void remove_tree_at(int parent_fd, const char *name, int depth) {
  if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT || depth > 8) return;
  int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return;
  }
  for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    remove_tree_at(fd, entry->d_name, depth + 1);
  }
  closedir(dir);
  unlinkat(parent_fd, name, AT_REMOVEDIR);
}

// Temporary directories older than this were left by a launcher that died while unpacking
// (a live one finishes within seconds); they are removed on the next cold start.
#define ABANDONED_AFTER_SECONDS 3600

static void remove_abandoned_temporaries(const char *base) {
  int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return;
  }
  time_t now = time(NULL);
  for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
    if (strncmp(entry->d_name, ".tmp-", 5) != 0 && strncmp(entry->d_name, ".stale-", 7) != 0) continue;
    struct stat st;
    if (fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < now - ABANDONED_AFTER_SECONDS) {
      debug("%s/%s: removing an abandoned temporary directory", base, entry->d_name);
      remove_tree_at(fd, entry->d_name, 0);
    }
  }
  closedir(dir);
}

static void fsync_path(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

// Unpacks `member` into "<base>/<member dir>/<name>" through a temporary directory renamed
// into place. Returns false (with the reason logged) if this base cannot hold it.
static bool extract_member(struct payload *payload, const char *base, const struct payload_member *member) {
  char directory[PAYLOAD_NAME_LEN + 34], final_path[PATH_MAX], temporary[PATH_MAX], file[PATH_MAX];
  member_directory_name(member, directory);
  if (!format_path(final_path, sizeof final_path, "%s/%s", base, directory)) return false;
  for (int attempt = 0; attempt < 3; attempt++) {
    if (member_is_cached(base, member)) return true;
    struct stat st;
    if (lstat(final_path, &st) == 0) {
      // Present but not trusted: move it aside (we own the base) and unpack a fresh copy.
      char stale[PATH_MAX];
      if (!format_path(stale, sizeof stale, "%s/.stale-%s-%d-%d", base, directory, (int)getpid(), attempt) ||
          rename(final_path, stale) != 0) {
        debug("%s: cannot move the untrusted copy aside: %s", final_path, strerror(errno));
        return false;
      }
      debug("%s: moved the untrusted copy aside", final_path);
      remove_tree_at(AT_FDCWD, stale, 0);
    }
    if (!format_path(temporary, sizeof temporary, "%s/.tmp-%s-XXXXXX", base, directory) || !mkdtemp(temporary) ||
        !format_path(file, sizeof file, "%s/%s", temporary, member->name)) {
      debug("%s: cannot create a temporary directory: %s", base, strerror(errno));
      return false;
    }
    debug("unpacking %s into %s", member->name, final_path);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    enum unpack_result result = fd >= 0 ? unpack_member(payload, member, fd) : UNPACK_IO_ERROR;
    bool written = result == UNPACK_OK && fchmod(fd, member->mode) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0) close(fd);
    if (result == UNPACK_CORRUPT) {
      remove_tree_at(AT_FDCWD, temporary, 0);
      fail("%s", corruption);
    }
    if (!written) {
      debug("%s: cannot write: %s", file, strerror(saved));
      remove_tree_at(AT_FDCWD, temporary, 0);
      return false;
    }
    fsync_path(temporary);
    if (rename(temporary, final_path) == 0) {
      fsync_path(base);
      return member_is_cached(base, member);
    }
    saved = errno;
    remove_tree_at(AT_FDCWD, temporary, 0);
    if (saved != EEXIST && saved != ENOTEMPTY) {
      debug("%s: cannot rename into place: %s", final_path, strerror(saved));
      return false;
    }
    debug("%s: another launcher unpacked it first", final_path);
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Starting Deno

struct launch {
  char **argv; // deno's argv, with a slot for the bundle path
  size_t bundle_slot;
  bool eager; // runs the eager bundle (a command that starts a sentry)
  char **base_environment; // the caller's environment minus the variables we set
  size_t base_count;
  char self_path[PATH_MAX];
};

static const char *const variables_we_set[] = {"CORDON_LIBDIR=", "CORDON_LIBSANDBOX=", "CORDON_SELF=", "DENO_DIR=",
                                               "DENO_NO_UPDATE_CHECK="};

static bool is_variable_we_set(const char *entry) {
  for (size_t i = 0; i < sizeof variables_we_set / sizeof variables_we_set[0]; i++)
    if (strncmp(entry, variables_we_set[i], strlen(variables_we_set[i])) == 0) return true;
  return false;
}

// Commands that start a sentry in this process (or a fork of it). Any argument equal to one
// picks the eager bundle: a container named "run" only costs its commands a bigger code cache,
// since both bundles are the whole program.
static const char *const sentry_commands[] = {"create", "run", "do"};

static bool starts_a_sentry(int argc, char **argv) {
  for (int a = 1; a < argc; a++)
    for (size_t c = 0; c < sizeof sentry_commands / sizeof sentry_commands[0]; c++)
      if (strcmp(argv[a], sentry_commands[c]) == 0) return true;
  return false;
}

static void prepare_launch(struct launch *launch, int argc, char **argv, char **environment) {
  ssize_t n = readlink("/proc/self/exe", launch->self_path, sizeof launch->self_path - 1);
  if (n < 0) fail("cannot read /proc/self/exe: %s", strerror(errno));
  launch->self_path[n] = '\0';

  launch->argv = calloc(DENO_RUN_FLAG_COUNT + (size_t)argc + 2, sizeof(char *));
  if (!launch->argv) fail("out of memory");
  size_t i = 0;
  launch->argv[i++] = "cordon"; // what ps shows; Deno finds itself through /proc/self/exe
  for (size_t f = 0; f < DENO_RUN_FLAG_COUNT; f++) launch->argv[i++] = (char *)deno_run_flags[f];
  launch->bundle_slot = i++;
  launch->eager = starts_a_sentry(argc, argv);
  for (int a = 1; a < argc; a++) launch->argv[i++] = argv[a];
  launch->argv[i] = NULL;

  size_t count = 0;
  while (environment[count]) count++;
  launch->base_environment = calloc(count + 8, sizeof(char *));
  if (!launch->base_environment) fail("out of memory");
  launch->base_count = 0;
  for (size_t e = 0; e < count; e++)
    if (!is_variable_we_set(environment[e])) launch->base_environment[launch->base_count++] = environment[e];
}

// Adds "NAME=value" to the environment built for Deno; `extra` has room for 5 entries.
static void add_variable(struct launch *launch, size_t *count, const char *name, const char *value) {
  size_t size = strlen(name) + strlen(value) + 2;
  char *entry = malloc(size);
  if (!entry) fail("out of memory");
  snprintf(entry, size, "%s=%s", name, value);
  launch->base_environment[(*count)++] = entry;
  launch->base_environment[*count] = NULL;
}

// Runs `deno run BUNDLE __warm-code-cache` and waits for it: Deno writes the bundle's V8
// code cache only in a run that ends by draining its event loop, which cordon's own commands
// mostly do not (see src/main.ts). Done once, right after a new bundle is unpacked; a
// failure only means slower start-ups.
static void warm_code_cache(struct launch *launch, const char *runtime, const char *bundle) {
  const char *argv[DENO_RUN_FLAG_COUNT + 4];
  size_t i = 0;
  argv[i++] = "cordon";
  for (size_t f = 0; f < DENO_RUN_FLAG_COUNT; f++) argv[i++] = deno_run_flags[f];
  argv[i++] = bundle;
  argv[i++] = "__warm-code-cache";
  argv[i] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    // Nothing of it may reach the user's streams (or a container engine's pipes).
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    alarm(20); // survives execve: a warm-up that hangs is killed, never waited on forever
    execve(runtime, (char *const *)argv, launch->base_environment);
    _exit(127);
  }
  int status = 0;
  if (pid > 0) while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  debug("code cache warm-up: %s", pid < 0 ? strerror(errno) : WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "done" : "failed");
}

// Returns only if execve failed (for example on a noexec mount), with errno set.
static void exec_from_cache(struct launch *launch, const char *base, const struct payload *payload, bool warm) {
  char runtime[PATH_MAX], bundle[PATH_MAX], eager_bundle[PATH_MAX], library_dir[PATH_MAX], deno_dir[PATH_MAX],
      directory[PAYLOAD_NAME_LEN + 34];
  member_directory_name(payload->runtime, directory);
  if (!format_path(runtime, sizeof runtime, "%s/%s/%s", base, directory, payload->runtime->name)) return;
  member_directory_name(payload->bundle, directory);
  if (!format_path(bundle, sizeof bundle, "%s/%s/%s", base, directory, payload->bundle->name)) return;
  member_directory_name(payload->eager_bundle, directory);
  if (!format_path(eager_bundle, sizeof eager_bundle, "%s/%s/%s", base, directory, payload->eager_bundle->name))
    return;
  member_directory_name(payload->library, directory);
  if (!format_path(library_dir, sizeof library_dir, "%s/%s", base, directory)) return;
  if (!format_path(deno_dir, sizeof deno_dir, "%s/deno_dir", base)) return;

  size_t count = launch->base_count;
  add_variable(launch, &count, "CORDON_LIBDIR", library_dir);
  add_variable(launch, &count, "CORDON_SELF", launch->self_path);
  add_variable(launch, &count, "DENO_DIR", deno_dir);
  add_variable(launch, &count, "DENO_NO_UPDATE_CHECK", "1");
  launch->argv[launch->bundle_slot] = launch->eager ? eager_bundle : bundle;
  if (warm) {
    warm_code_cache(launch, runtime, bundle);
    warm_code_cache(launch, runtime, eager_bundle);
  }
  debug("exec %s on %s", runtime, launch->argv[launch->bundle_slot]);
  execve(runtime, launch->argv, launch->base_environment);
  int saved = errno;
  launch->base_environment[launch->base_count] = NULL;
  debug("exec %s failed: %s", runtime, strerror(saved));
  errno = saved;
}

// Tries one cache base: use the members found there, unpack the missing ones, exec.
// Returns if this base cannot be used.
static void try_cache(struct launch *launch, struct payload *payload, const char *base) {
  if (!base) return;
  const struct payload_member *members[] = {payload->runtime, payload->bundle, payload->eager_bundle,
                                            payload->library};
  const size_t count = sizeof members / sizeof members[0];
  struct stat st;
  bool all_cached = stat(base, &st) == 0 && S_ISDIR(st.st_mode) && private_to_us(&st);
  for (size_t i = 0; i < count && all_cached; i++) all_cached = member_is_cached(base, members[i]);
  if (!all_cached) {
    if (!prepare_base(base)) return;
    remove_abandoned_temporaries(base);
    for (size_t i = 0; i < count; i++)
      if (!extract_member(payload, base, members[i])) return;
  }
  exec_from_cache(launch, base, payload, !all_cached);
}

static int unpack_to_memfd(struct payload *payload, const struct payload_member *member, bool executable) {
  unsigned flags = MFD_ALLOW_SEALING | (executable ? MFD_CLOEXEC | MFD_EXEC : 0);
  int fd = memfd_create(member->name, flags);
  if (fd < 0 && errno == EINVAL && executable) fd = memfd_create(member->name, flags & ~MFD_EXEC); // kernels < 6.3
  if (fd < 0) fail("cannot create a memfd: %s", strerror(errno));
  enum unpack_result result = unpack_member(payload, member, fd);
  if (result == UNPACK_CORRUPT) fail("%s", corruption);
  if (result != UNPACK_OK) fail("cannot unpack '%s' into memory: %s", member->name, strerror(errno));
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    fail("cannot seal the memfd of '%s': %s", member->name, strerror(errno));
  return fd;
}

// No cache directory worked: run everything from sealed memfds. Deno reaches the bundle and
// the library through /proc/self/fd, so those two descriptors stay open (not close-on-exec).
static _Noreturn void exec_from_memory(struct launch *launch, struct payload *payload) {
  debug("no usable cache directory: running from memfds");
  int runtime = unpack_to_memfd(payload, payload->runtime, true);
  int bundle = unpack_to_memfd(payload, launch->eager ? payload->eager_bundle : payload->bundle, false);
  int library = unpack_to_memfd(payload, payload->library, false);
  char bundle_path[64], library_path[64];
  snprintf(bundle_path, sizeof bundle_path, "/proc/self/fd/%d", bundle);
  snprintf(library_path, sizeof library_path, "/proc/self/fd/%d", library);
  size_t count = launch->base_count;
  add_variable(launch, &count, "CORDON_LIBSANDBOX", library_path);
  add_variable(launch, &count, "CORDON_SELF", launch->self_path);
  add_variable(launch, &count, "DENO_NO_UPDATE_CHECK", "1");
  launch->argv[launch->bundle_slot] = bundle_path;
  syscall(SYS_execveat, runtime, "", launch->argv, launch->base_environment, AT_EMPTY_PATH);
  fail("cannot start the runtime from memory: %s", strerror(errno));
}

int main(int argc, char **argv, char **environment) {
  const char *debug_setting = getenv("CORDON_LAUNCHER_DEBUG");
  debug_enabled = debug_setting && *debug_setting && strcmp(debug_setting, "0") != 0;

  struct launch launch;
  prepare_launch(&launch, argc, argv, environment);
  struct payload payload;
  open_payload(&payload, launch.self_path);

  // Cache bases in order of preference. Relative values are ignored, as the XDG spec asks.
  char bases[3][PATH_MAX];
  const char *candidates[3] = {NULL, NULL, NULL};
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME"), *tmpdir = getenv("TMPDIR");
  if (xdg && xdg[0] == '/' && format_path(bases[0], PATH_MAX, "%s/cordon", xdg)) candidates[0] = bases[0];
  if (home && home[0] == '/' && format_path(bases[1], PATH_MAX, "%s/.cache/cordon", home)) candidates[1] = bases[1];
  if (!(tmpdir && tmpdir[0] == '/')) tmpdir = "/tmp";
  if (format_path(bases[2], PATH_MAX, "%s/cordon-%u", tmpdir, geteuid())) candidates[2] = bases[2];

  for (int i = 0; i < 3; i++) try_cache(&launch, &payload, candidates[i]);
  exec_from_memory(&launch, &payload);
}
