#ifndef OUTPOST_BENCH_CFILESYSTEM_H
#define OUTPOST_BENCH_CFILESYSTEM_H

#include <stdint.h>

/// The statfs(2) f_type of the file system holding `path`, or -errno when statfs fails.
/// (Swift's Glibc module does not export <sys/vfs.h>.)
int64_t outpost_bench_fs_type(const char *path);

#endif
