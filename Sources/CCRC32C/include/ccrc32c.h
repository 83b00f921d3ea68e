#ifndef OUTPOST_CCRC32C_H
#define OUTPOST_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes at `bytes`, continuing from `crc`, the value returned
/// for the bytes before them (0 to start). Uses the CPU's CRC32C instruction where there is one
/// (SSE 4.2 on x86-64, the CRC extension on ARMv8), else slicing-by-8 tables.
uint32_t outpost_crc32c(uint32_t crc, const void *bytes, size_t length);

/// The same CRC, always by the tables (for checking the two paths agree).
uint32_t outpost_crc32c_portable(uint32_t crc, const void *bytes, size_t length);

/// 1 when the hardware instruction is in use, 0 when the tables are.
int outpost_crc32c_hardware(void);

#endif
