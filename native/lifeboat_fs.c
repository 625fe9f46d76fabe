/*
 * lifeboat_fs: the few POSIX calls a restore needs that Node does not offer.
 * Every path is one name relative to a directory descriptor (openat, mkdirat,
 * unlinkat, symlinkat, linkat, fchownat, utimensat), never followed through a
 * symlink, and times are set to the nanosecond. Linux and other POSIX systems
 * with the *at calls; errors are thrown as Node-style errors with `code`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_NAME 4096

static const char *errno_code(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ELOOP: return "ELOOP";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EXDEV: return "EXDEV";
    case EMLINK: return "EMLINK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ESTALE: return "ESTALE";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, int e, const char *syscall, const char *name) {
  char msg[MAX_NAME + 128];
  snprintf(msg, sizeof msg, "%s, %s '%s'", errno_code(e), syscall, name ? name : "");
  napi_value code, text, err, sys;
  napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &err);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, err, "syscall", sys);
  napi_value errnoValue;
  napi_create_int32(env, -e, &errnoValue);
  napi_set_named_property(env, err, "errno", errnoValue);
  napi_throw(env, err);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/* A name: one path component, never empty, ".", ".." or containing "/". */
static int get_name(napi_env env, napi_value v, char *buf) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, MAX_NAME, &len) != napi_ok) return 0;
  if (len == 0 || len >= MAX_NAME - 1 || strchr(buf, '/') || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0) return 0;
  return 1;
}

#define ARGS(n)                                                         \
  size_t argc = n;                                                      \
  napi_value argv[n];                                                   \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);                 \
  if (argc < n) {                                                       \
    napi_throw_type_error(env, NULL, "lifeboat_fs: missing arguments"); \
    return NULL;                                                        \
  }

#define BAD_ARGS()                                                    \
  do {                                                                \
    napi_throw_type_error(env, NULL, "lifeboat_fs: invalid argument"); \
    return NULL;                                                      \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/* [dev, ino] of an open descriptor as two BigInts. */
static napi_value identity_of(napi_env env, int fd, const char *name) {
  struct stat st;
  if (fstat(fd, &st) != 0) return throw_errno(env, errno, "fstat", name);
  napi_value arr, dev, ino;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_bigint_uint64(env, (uint64_t)st.st_dev, &dev);
  napi_create_bigint_uint64(env, (uint64_t)st.st_ino, &ino);
  napi_set_element(env, arr, 0, dev);
  napi_set_element(env, arr, 1, ino);
  return arr;
}

/* openDirAt(dirFd, name, create, mode) -> fd of the real directory `name` (made when `create`), never through a symlink. */
static napi_value open_dir_at(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t dirfd, mode;
  bool create = false;
  char name[MAX_NAME];
  if (!get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) || napi_get_value_bool(env, argv[2], &create) != napi_ok || !get_int(env, argv[3], &mode)) BAD_ARGS();
  if (create && mkdirat((int)dirfd, name, (mode_t)mode) != 0 && errno != EEXIST) return throw_errno(env, errno, "mkdirat", name);
  int fd = openat((int)dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  return make_int(env, fd);
}

/* identity(fd) -> [dev, ino] */
static napi_value identity(napi_env env, napi_callback_info info) {
  ARGS(1);
  int64_t fd;
  if (!get_int(env, argv[0], &fd)) BAD_ARGS();
  return identity_of(env, (int)fd, "");
}

/*
 * createFileAt(dirFd, name, mode) -> fd opened for writing, created by this call
 * (O_EXCL | O_NOFOLLOW); a file or symlink already there is removed first, a
 * directory is refused (EISDIR).
 */
static napi_value create_file_at(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t dirfd, mode;
  char name[MAX_NAME];
  if (!get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) || !get_int(env, argv[2], &mode)) BAD_ARGS();
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat((int)dirfd, name, flags, (mode_t)mode);
  if (fd < 0 && errno == EEXIST) {
    struct stat st;
    if (fstatat((int)dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "fstatat", name);
    if (S_ISDIR(st.st_mode)) return throw_errno(env, EISDIR, "openat", name);
    if (unlinkat((int)dirfd, name, 0) != 0 && errno != ENOENT) return throw_errno(env, errno, "unlinkat", name);
    fd = openat((int)dirfd, name, flags, (mode_t)mode);
  }
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  return make_int(env, fd);
}

/* removeAt(dirFd, name): remove a file or symlink; nothing there is fine; a directory is refused (EISDIR). */
static napi_value remove_at(napi_env env, napi_callback_info info) {
  ARGS(2);
  int64_t dirfd;
  char name[MAX_NAME];
  if (!get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name)) BAD_ARGS();
  struct stat st;
  if (fstatat((int)dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return NULL;
    return throw_errno(env, errno, "fstatat", name);
  }
  if (S_ISDIR(st.st_mode)) return throw_errno(env, EISDIR, "unlinkat", name);
  if (unlinkat((int)dirfd, name, 0) != 0 && errno != ENOENT) return throw_errno(env, errno, "unlinkat", name);
  return NULL;
}

/* symlinkAt(target, dirFd, name) */
static napi_value symlink_at(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t dirfd;
  char name[MAX_NAME], target[MAX_NAME];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], target, MAX_NAME, &len) != napi_ok || len >= MAX_NAME - 1) BAD_ARGS();
  if (!get_int(env, argv[1], &dirfd) || !get_name(env, argv[2], name)) BAD_ARGS();
  if (symlinkat(target, (int)dirfd, name) != 0) return throw_errno(env, errno, "symlinkat", name);
  return NULL;
}

/* linkAt(fromDirFd, fromName, toDirFd, toName): a hard link, never following a symlink at fromName. */
static napi_value link_at(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t from, to;
  char fromName[MAX_NAME], toName[MAX_NAME];
  if (!get_int(env, argv[0], &from) || !get_name(env, argv[1], fromName) || !get_int(env, argv[2], &to) || !get_name(env, argv[3], toName)) BAD_ARGS();
  if (linkat((int)from, fromName, (int)to, toName, 0) != 0) return throw_errno(env, errno, "linkat", toName);
  return NULL;
}

/* renameAt(dirFd, from, to): replace `to` by `from` in one directory (atomic). */
static napi_value rename_at(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t dirfd;
  char from[MAX_NAME], to[MAX_NAME];
  if (!get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], from) || !get_name(env, argv[2], to)) BAD_ARGS();
  if (renameat((int)dirfd, from, (int)dirfd, to) != 0) return throw_errno(env, errno, "renameat", to);
  return NULL;
}

/* chownAt(dirFd, name, uid, gid): the entry itself, never what a symlink points to. */
static napi_value chown_at(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t dirfd, uid, gid;
  char name[MAX_NAME];
  if (!get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) || !get_int(env, argv[2], &uid) || !get_int(env, argv[3], &gid)) BAD_ARGS();
  if (fchownat((int)dirfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "fchownat", name);
  return NULL;
}

static int get_times(napi_env env, napi_value sec, napi_value nsec, struct timespec ts[2]) {
  int64_t s, ns;
  if (!get_int(env, sec, &s) || !get_int(env, nsec, &ns) || ns < 0 || ns > 999999999) return 0;
  ts[0].tv_sec = ts[1].tv_sec = (time_t)s;
  ts[0].tv_nsec = ts[1].tv_nsec = (long)ns;
  return 1;
}

/* setTimes(fd, sec, nsec): access and modification time of an open file or directory, to the nanosecond. */
static napi_value set_times(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t fd;
  struct timespec ts[2];
  if (!get_int(env, argv[0], &fd) || !get_times(env, argv[1], argv[2], ts)) BAD_ARGS();
  if (futimens((int)fd, ts) != 0) return throw_errno(env, errno, "futimens", "");
  return NULL;
}

/* setTimesAt(dirFd, name, sec, nsec): the entry itself (a symlink is not followed). */
static napi_value set_times_at(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t dirfd;
  char name[MAX_NAME];
  struct timespec ts[2];
  if (!get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) || !get_times(env, argv[2], argv[3], ts)) BAD_ARGS();
  if (utimensat((int)dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "utimensat", name);
  return NULL;
}

NAPI_MODULE_INIT() {
  struct { const char *name; napi_callback cb; } fns[] = {
    {"openDirAt", open_dir_at},   {"identity", identity},     {"createFileAt", create_file_at},
    {"removeAt", remove_at},      {"symlinkAt", symlink_at},  {"linkAt", link_at},
    {"chownAt", chown_at},        {"renameAt", rename_at},        {"setTimes", set_times},    {"setTimesAt", set_times_at},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
