// CRC-32C with the CPU's instruction when present. The journal checksums every frame it writes
// and every frame it reads back, so this is on the append path of every record.
#include "ccrc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

static uint32_t tables[8][256];
static int use_hardware;

__attribute__((constructor)) static void outpost_crc32c_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t crc = i;
    for (int k = 0; k < 8; k++) {
      crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    tables[0][i] = crc;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int t = 1; t < 8; t++) {
      uint32_t previous = tables[t - 1][i];
      tables[t][i] = (previous >> 8) ^ tables[0][previous & 0xFF];
    }
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  use_hardware = __builtin_cpu_supports("sse4.2");
#elif defined(__aarch64__) && defined(__linux__)
  use_hardware = (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#endif
}

static uint32_t crc_tables(uint32_t c, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    lo = __builtin_bswap32(lo);
    hi = __builtin_bswap32(hi);
#endif
    lo ^= c;
    c = tables[7][lo & 0xFF] ^ tables[6][(lo >> 8) & 0xFF] ^ tables[5][(lo >> 16) & 0xFF] ^
        tables[4][lo >> 24] ^ tables[3][hi & 0xFF] ^ tables[2][(hi >> 8) & 0xFF] ^
        tables[1][(hi >> 16) & 0xFF] ^ tables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) {
    c = tables[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  }
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hardware(uint32_t c, const uint8_t *p,
                                                               size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t word;
    memcpy(&word, p, 8);
    c64 = _mm_crc32_u64(c64, word);
    p += 8;
    n -= 8;
  }
  c = (uint32_t)c64;
  while (n--) {
    c = _mm_crc32_u8(c, *p++);
  }
  return c;
}
#elif defined(__aarch64__) && defined(__linux__)
__attribute__((target("+crc"))) static uint32_t crc_hardware(uint32_t c, const uint8_t *p,
                                                            size_t n) {
  while (n >= 8) {
    uint64_t word;
    memcpy(&word, p, 8);
    c = __crc32cd(c, word);
    p += 8;
    n -= 8;
  }
  while (n--) {
    c = __crc32cb(c, *p++);
  }
  return c;
}
#endif

uint32_t outpost_crc32c(uint32_t crc, const void *bytes, size_t length) {
  uint32_t c = ~crc;
#if defined(__x86_64__) || (defined(__aarch64__) && defined(__linux__))
  if (use_hardware) {
    return ~crc_hardware(c, (const uint8_t *)bytes, length);
  }
#endif
  return ~crc_tables(c, (const uint8_t *)bytes, length);
}

uint32_t outpost_crc32c_portable(uint32_t crc, const void *bytes, size_t length) {
  return ~crc_tables(~crc, (const uint8_t *)bytes, length);
}

int outpost_crc32c_hardware(void) { return use_hardware; }
