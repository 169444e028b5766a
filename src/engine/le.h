/*
 * le.h -- little-endian integers in byte buffers, for the on-disk formats
 * of record.c and wal.c (which promise little-endian values whatever the
 * host). n is the width in bytes, 1..8.
 */
#ifndef VECTIS_LE_H
#define VECTIS_LE_H

#include <stdint.h>

static inline void le_store(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t le_load(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
