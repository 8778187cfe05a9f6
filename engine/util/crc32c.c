/* crc32c.c: CRC-32C, reflected polynomial 0x82F63B78. The SSE4.2 crc32 instruction when
 * the CPU has it (__builtin_cpu_supports: a test of a word the runtime fills once),
 * slicing-by-8 tables otherwise. The tables are filled once under pthread_once and are
 * read-only after: constant data computed lazily, not mutable state. */
#include <pthread.h>
#include <string.h>
#include "crc32c.h"

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t n)
{
    pthread_once(&table_once, table_init);
    while (n && ((uintptr_t)p & 7)) { crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff]; n--; }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
              table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
/* The crc32 instruction has a latency of 3 cycles and a throughput of 1, so one chain of
 * them runs at a third of the speed the CPU can give. Long inputs are cut into rounds of
 * three lanes of LANE bytes computed side by side, then joined: CRC is linear, so the
 * register after lane a then lane b is shift(a) ^ crc_b, where shift() is the register
 * pushed through LANE zero bytes, itself linear and so a lookup per byte of the register
 * (lane_shift, filled once). The result is bit-for-bit the one-chain CRC (tests compare it
 * with the table path at every length and alignment). */
#define LANE 256
static uint32_t lane_shift[4][256];
static pthread_once_t lane_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2")))
static uint64_t chain(uint64_t c, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    while (n--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return c;
}

__attribute__((target("sse4.2")))
static void lane_init(void)
{
    static const unsigned char zeros[LANE];
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++)
            lane_shift[k][b] = (uint32_t)chain((uint64_t)b << (8 * k), zeros, LANE);
}

static inline uint32_t shift(uint32_t c)
{
    return lane_shift[0][c & 0xff] ^ lane_shift[1][(c >> 8) & 0xff] ^
           lane_shift[2][(c >> 16) & 0xff] ^ lane_shift[3][c >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n)
{
    uint64_t c = crc;
    if (n >= 3 * LANE) {
        pthread_once(&lane_once, lane_init);
        while (n >= 3 * LANE) {
            uint64_t c1 = 0, c2 = 0;
            for (size_t i = 0; i < LANE; i += 8) {
                uint64_t w0, w1, w2;
                memcpy(&w0, p + i, 8);
                memcpy(&w1, p + LANE + i, 8);
                memcpy(&w2, p + 2 * LANE + i, 8);
                c = __builtin_ia32_crc32di(c, w0);
                c1 = __builtin_ia32_crc32di(c1, w1);
                c2 = __builtin_ia32_crc32di(c2, w2);
            }
            c = shift(shift((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
            p += 3 * LANE;
            n -= 3 * LANE;
        }
    }
    return (uint32_t)chain(c, p, n);
}
#endif

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc_hw(crc, p, n);
#endif
    return ~crc_sw(crc, p, n);
}

/* For tests: the portable path, whatever the CPU. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n)
{
    return ~crc_sw(~crc, data, n);
}
