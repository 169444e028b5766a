/*
 * ds_io.h -- reading and writing benchmark data sets (.fvecs / .ivecs).
 *
 * The files follow the ann-benchmarks / Faiss convention so other tools read
 * ours: every vector is stored as a little-endian int32 dimension followed
 * by `dim` float32 values (.fvecs) or int32 values (.ivecs). All vectors of
 * one file have the same dimension; the readers check that and reject a
 * truncated file.
 *
 * These helpers belong to the benchmark tools under utils/ (datasets,
 * bench_index); the server never links them.
 */
#ifndef VECTIS_DS_IO_H
#define VECTIS_DS_IO_H

#include <stddef.h>
#include <stdint.h>

/* A matrix of `n` rows of `dim` values, row-major, owned by the struct.
 * `data` is 64-byte aligned so kernels can stream it. */
typedef struct ds_matrix {
    size_t n;
    size_t dim;
    void *data; /* float or int32_t, n * dim elements */
} ds_matrix;

/* Reads a whole .fvecs (elem 4, float) or .ivecs file into `out`. When
 * `max_rows` is non-zero, at most that many rows are read. Returns 0, or -1
 * with a message on stderr (missing file, bad dimension, truncated). */
int ds_read_vecs(const char *path, size_t max_rows, ds_matrix *out);

/* Writes `n` rows of `dim` 4-byte values (float or int32) to `path`
 * atomically: to `path`.tmp first, then rename, so an interrupted run never
 * leaves a half file that looks complete. Returns 0 or -1 (message on
 * stderr). */
int ds_write_vecs(const char *path, const void *data, size_t n, size_t dim);

/* Frees the rows of `m` (no-op on a zeroed struct). */
void ds_matrix_free(ds_matrix *m);
/* L2-normalises every float row of m in place; a zero row stays zero (as
 * the server keeps it). */
void ds_normalise_rows(ds_matrix *m);

static inline const float *ds_row_f32(const ds_matrix *m, size_t i)
{
    return (const float *)m->data + i * m->dim;
}

static inline const int32_t *ds_row_i32(const ds_matrix *m, size_t i)
{
    return (const int32_t *)m->data + i * m->dim;
}

/* 1 when `path` exists as a regular file. */
int ds_file_exists(const char *path);

/* Monotonic clock in seconds. */
double ds_now(void);

/* Recall@k of `got` (k ids, -1 for a missing result) against the first k
 * ids of the ground-truth row `gt`: |got ∩ gt[0..k)| / k. */
/* Parses "10,20,40" into out (at most cap values); returns how many. */
size_t ds_parse_uints(const char *s, unsigned *out, size_t cap);

double ds_recall_at(const int32_t *got, const int32_t *gt, size_t k);

#endif
