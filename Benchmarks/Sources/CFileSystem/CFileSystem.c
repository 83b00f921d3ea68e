#include "CFileSystem.h"

#include <errno.h>

#if defined(__linux__)
#include <sys/vfs.h>
#else
#include <sys/mount.h>
#include <sys/param.h>
#endif

int64_t outpost_bench_fs_type(const char *path) {
  struct statfs s;
  if (statfs(path, &s) != 0) {
    return -(int64_t)errno;
  }
  return (int64_t)(uint64_t)(unsigned long)s.f_type;
}
