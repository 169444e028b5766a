/*
 * ds_io.c -- .fvecs / .ivecs reading and writing for the benchmark tools.
 *
 * Format (ann-benchmarks / Faiss convention): per vector an int32 dimension,
 * then `dim` 4-byte values, little-endian (the only byte order this project
 * builds for; a big-endian host is rejected at compile time rather than
 * silently writing files no other tool reads).
 *
 * Ownership: ds_read_vecs allocates `out->data` (64-byte aligned, so the
 * distance kernels stream whole cache lines); ds_matrix_free releases it.
 * Writes go to a temporary name and are renamed into place, so a file that
 * exists is complete. Any thread may call these functions; they keep no
 * state.
 *
 * Rejected: mmap of the raw file. The per-row int32 header breaks the
 * stride, so rows could not be handed to kernels in place; one copy at load
 * time is cheap next to any benchmark.
 */
#include "ds_io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ds_io assumes a little-endian host (the .fvecs convention)"
#endif

/* Rows are read in batches of this many bytes to keep stdio calls few. */
#define DS_IO_BUF_BYTES (4u << 20)

/* A dimension above this is certainly a corrupt header, not a vector. */
#define DS_IO_MAX_DIM (1u << 20)

int ds_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

double ds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ds_normalise_rows(ds_matrix *m)
{
    for (size_t i = 0; i < m->n; i++) {
        float *r = (float *)m->data + i * m->dim;
        double ss = 0;
        for (size_t j = 0; j < m->dim; j++) ss += (double)r[j] * r[j];
        float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
        for (size_t j = 0; j < m->dim; j++) r[j] *= inv;
    }
}

void ds_matrix_free(ds_matrix *m)
{
    if (m == NULL) return;
    free(m->data);
    m->data = NULL;
    m->n = 0;
    m->dim = 0;
}

int ds_read_vecs(const char *path, size_t max_rows, ds_matrix *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "ds_io: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int32_t dim32 = 0;
    if (fread(&dim32, 4, 1, f) != 1 || dim32 <= 0 || (uint32_t)dim32 > DS_IO_MAX_DIM) {
        fprintf(stderr, "ds_io: %s: bad or missing dimension header\n", path);
        fclose(f);
        return -1;
    }
    size_t dim = (size_t)dim32;
    size_t rec = 4 + 4 * dim;
    if (fseeko(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -1;
    }
    off_t size = ftello(f);
    rewind(f);
    if (size <= 0 || (size_t)size % rec != 0) {
        fprintf(stderr, "ds_io: %s: size %lld is not a multiple of the record size %zu\n", path,
                (long long)size, rec);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)size / rec;
    if (max_rows != 0 && n > max_rows) n = max_rows;

    size_t bytes = n * dim * 4;
    void *data = NULL;
    if (posix_memalign(&data, 64, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "ds_io: %s: out of memory (%zu bytes)\n", path, bytes);
        fclose(f);
        return -1;
    }
    size_t rows_per_buf = DS_IO_BUF_BYTES / rec;
    if (rows_per_buf == 0) rows_per_buf = 1;
    unsigned char *buf = malloc(rows_per_buf * rec);
    if (buf == NULL) {
        free(data);
        fclose(f);
        return -1;
    }
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < rows_per_buf ? n - done : rows_per_buf;
        if (fread(buf, rec, want, f) != want) {
            fprintf(stderr, "ds_io: %s: truncated at row %zu\n", path, done);
            goto fail;
        }
        for (size_t i = 0; i < want; i++) {
            int32_t d;
            memcpy(&d, buf + i * rec, 4);
            if ((size_t)d != dim) {
                fprintf(stderr, "ds_io: %s: row %zu has dimension %d, expected %zu\n", path,
                        done + i, d, dim);
                goto fail;
            }
            memcpy((char *)data + (done + i) * dim * 4, buf + i * rec + 4, dim * 4);
        }
        done += want;
    }
    free(buf);
    fclose(f);
    out->n = n;
    out->dim = dim;
    out->data = data;
    return 0;
fail:
    free(buf);
    free(data);
    fclose(f);
    return -1;
}

int ds_write_vecs(const char *path, const void *data, size_t n, size_t dim)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    if (tmp == NULL) return -1;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);

    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "ds_io: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int32_t d = (int32_t)dim;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        ok = fwrite(&d, 4, 1, f) == 1 && fwrite((const char *)data + i * dim * 4, 4, dim, f) == dim;
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "ds_io: writing %s failed: %s\n", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

double ds_recall_at(const int32_t *got, const int32_t *gt, size_t k)
{
    size_t hit = 0;
    for (size_t i = 0; i < k; i++) {
        if (got[i] < 0) continue;
        for (size_t j = 0; j < k; j++) {
            if (got[i] == gt[j]) {
                hit++;
                break;
            }
        }
    }
    return (double)hit / (double)k;
}

size_t ds_parse_uints(const char *s, unsigned *out, size_t cap)
{
    size_t n = 0;
    while (*s && n < cap) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s) break;
        out[n++] = (unsigned)v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}
