/*
 * datasets.c -- builds and caches the benchmark data sets (utils tool).
 *
 *   datasets prepare DATADIR          both standard sets below, skipping what exists
 *   datasets fashion-mnist DIR        /usr/share/datasets/fashion-mnist -> DIR
 *   datasets synth DIR [--n N] [--nq Q] [--dim D] [--clusters C] [--seed S]
 *   datasets gt DIR [--k K] [--threads T]
 *
 * Every data set is a directory holding base.fvecs, query.fvecs, gt.ivecs
 * (exact top-K ids per query, K = 100), gt_dist.fvecs (their distances) and
 * info.txt (key=value lines: name, metric, n, nq, dim, seed, source). The
 * files use the .fvecs/.ivecs convention (see ds_io.h). A file that exists is
 * complete (written under a temporary name, then renamed), so `prepare` is
 * cheap the second time and the cache under build/data/ is reused.
 *
 * fashion-mnist: the IDX files of the Debian package dataset-fashion-mnist
 * (gzip, big-endian header: magic 0x00000803, count, rows, cols, then the
 * uint8 pixels), pixels converted to float32 unchanged (0..255) as
 * ann-benchmarks' fashion-mnist-784-euclidean does: train = base (60,000),
 * t10k = queries (10,000), metric L2.
 *
 * synth: a seeded Gaussian mixture of anisotropic clusters, L2-normalised,
 * metric cosine. Cluster c has a centre mu_c ~ N(0, I), a spread rho_c
 * (log-uniform in [SYN_RHO_MIN, SYN_RHO_MAX]) and SYN_AXES random unit
 * directions u_cj with standard deviations rho_c * 4 * 0.75^j, so the
 * clusters are elongated along directions that are not the coordinate axes;
 * a point is mu_c + sum_j s_cj z_j u_cj + rho_c eps (z, eps standard normal),
 * then normalised. Cluster weights are log-normal. The cluster parameters,
 * the base rows and the queries use three independent generator streams
 * derived from the seed, so the base bytes do not depend on the number of
 * queries, and the same seed gives the same bytes on every run (the
 * arithmetic is sequential; only libm's log/sqrt/cos/sin are involved).
 *
 * Ground truth: exact brute force with the simd kernels, multi-threaded over
 * blocks of queries; each block streams the base in cache-sized chunks so
 * the base is read from memory once per block, not once per query. Ties are
 * broken by the lower row id. Distances: L2 squared, cosine distance
 * 1 - a.b/(|a||b|), or negative inner product (metric ip).
 *
 * Rejected: using the index library's FLAT for the ground truth. It would
 * tie the oracle to the code under test, and the data sets are needed before
 * the index exists; the simd kernels are tested on their own against scalar
 * references.
 *
 * Threading: only `gt` starts threads; they share read-only inputs and each
 * writes its own rows of the output.
 */
#include "ds_io.h"
#include "simd/simd.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FMNIST_DIR       "/usr/share/datasets/fashion-mnist"
#define IDX_MAGIC_U8_3D  0x00000803u  /* IDX: unsigned byte, 3 dimensions */
#define GT_K_DEFAULT     100          /* top-100, as ann-benchmarks stores */
#define GT_QUERY_BLOCK   32           /* queries sharing one pass over the base */
#define GT_CHUNK_BYTES   (192u << 10) /* base chunk that stays in a 512 KiB L2 */
#define SYN_SEED_DEFAULT 20250101ull
#define SYN_N_DEFAULT    200000
#define SYN_NQ_DEFAULT   10000
#define SYN_DIM_DEFAULT  128
#define SYN_CLUSTERS_DEF 1000
#define SYN_AXES         8    /* elongated directions per cluster */
#define SYN_RHO_MIN      0.80 /* per-dimension noise std, relative to |mu| ~ sqrt(dim) */
#define SYN_RHO_MAX      1.60
#define SYN_VERSION      2   /* bump when the generator's output changes (cache key) */
#define SYN_WEIGHT_SIGMA 0.7 /* log-normal cluster weights: a few clusters 3-4x larger */

/* ------------------------------------------------------------ small utils */

static int ds_mkdir_p(const char *dir)
{
    char buf[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof(buf)) return -1;
    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "datasets: mkdir %s: %s\n", buf, strerror(errno));
                return -1;
            }
            buf[i] = c;
        }
    }
    return 0;
}

static void ds_path(char *out, size_t cap, const char *dir, const char *file)
{
    snprintf(out, cap, "%s/%s", dir, file);
}

/* Writes info.txt atomically. `extra` is appended verbatim (key=value lines). */
static int ds_write_info(const char *dir, const char *name, const char *metric, size_t n, size_t nq,
                         size_t dim, const char *extra)
{
    char path[4096], tmp[4200];
    ds_path(path, sizeof(path), dir, "info.txt");
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) return -1;
    fprintf(f, "name=%s\nmetric=%s\nn=%zu\nnq=%zu\ndim=%zu\n%s", name, metric, n, nq, dim,
            extra ? extra : "");
    if (fclose(f) != 0 || rename(tmp, path) != 0) return -1;
    return 0;
}

/* Reads `key` from DIR/info.txt into `out`. Returns 0, or -1 when absent. */
static int ds_read_info(const char *dir, const char *key, char *out, size_t cap)
{
    char path[4096], line[512];
    ds_path(path, sizeof(path), dir, "info.txt");
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t klen = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            char *v = line + klen + 1;
            v[strcspn(v, "\r\n")] = '\0';
            snprintf(out, cap, "%s", v);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* -------------------------------------------------------- fashion-mnist */

static uint32_t ds_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads one gzip IDX image file into a float matrix. */
static int ds_read_idx_images(const char *path, ds_matrix *out)
{
    memset(out, 0, sizeof(*out));
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) {
        fprintf(stderr, "datasets: cannot open %s (install dataset-fashion-mnist)\n", path);
        return -1;
    }
    unsigned char hdr[16];
    if (gzread(gz, hdr, sizeof(hdr)) != (int)sizeof(hdr) || ds_be32(hdr) != IDX_MAGIC_U8_3D) {
        fprintf(stderr, "datasets: %s: not an IDX uint8 3-d file\n", path);
        gzclose(gz);
        return -1;
    }
    size_t n = ds_be32(hdr + 4), rows = ds_be32(hdr + 8), cols = ds_be32(hdr + 12);
    size_t dim = rows * cols;
    if (n == 0 || dim == 0 || n > (1u << 26) || dim > (1u << 20)) {
        fprintf(stderr, "datasets: %s: implausible shape %zu x %zu x %zu\n", path, n, rows, cols);
        gzclose(gz);
        return -1;
    }
    unsigned char *pix = malloc(n * dim);
    void *data = NULL;
    if (pix == NULL || posix_memalign(&data, 64, n * dim * sizeof(float)) != 0) {
        free(pix);
        gzclose(gz);
        return -1;
    }
    size_t got = 0;
    while (got < n * dim) {
        size_t want = n * dim - got;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(gz, pix + got, (unsigned)want);
        if (r <= 0) break;
        got += (size_t)r;
    }
    gzclose(gz);
    if (got != n * dim) {
        fprintf(stderr, "datasets: %s: truncated (%zu of %zu bytes)\n", path, got, n * dim);
        free(pix);
        free(data);
        return -1;
    }
    float *fd = data;
    for (size_t i = 0; i < n * dim; i++)
        fd[i] = (float)pix[i];
    free(pix);
    out->n = n;
    out->dim = dim;
    out->data = data;
    return 0;
}

static int ds_make_fmnist(const char *dir)
{
    char bpath[4096], qpath[4096];
    ds_path(bpath, sizeof(bpath), dir, "base.fvecs");
    ds_path(qpath, sizeof(qpath), dir, "query.fvecs");
    if (ds_file_exists(bpath) && ds_file_exists(qpath)) {
        printf("datasets: %s: fashion-mnist already converted\n", dir);
        return 0;
    }
    if (ds_mkdir_p(dir) != 0) return -1;
    ds_matrix base, query;
    if (ds_read_idx_images(FMNIST_DIR "/train-images-idx3-ubyte.gz", &base) != 0) return -1;
    if (ds_read_idx_images(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &query) != 0) {
        ds_matrix_free(&base);
        return -1;
    }
    int rc = -1;
    if (base.dim != query.dim) {
        fprintf(stderr, "datasets: fashion-mnist train/test dimensions differ\n");
    } else if (ds_write_vecs(qpath, query.data, query.n, query.dim) == 0 &&
               ds_write_vecs(bpath, base.data, base.n, base.dim) == 0 &&
               ds_write_info(dir, "fashion-mnist", "l2", base.n, query.n, base.dim,
                             "source=" FMNIST_DIR "\n") == 0) {
        printf("datasets: %s: fashion-mnist %zu base + %zu queries x %zu, L2\n", dir, base.n,
               query.n, base.dim);
        rc = 0;
    }
    ds_matrix_free(&base);
    ds_matrix_free(&query);
    return rc;
}

/* ---------------------------------------------------------- synthetic set */

/* xoshiro256** seeded through splitmix64: small, fast, and the same sequence
 * on every platform, which is what "same seed => same bytes" needs. */
typedef struct syn_rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} syn_rng;

static uint64_t syn_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void syn_rng_seed(syn_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = syn_splitmix64(&x);
    r->has_spare = 0;
}

static uint64_t syn_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t syn_next(syn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = syn_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = syn_rotl(s[3], 45);
    return result;
}

/* Uniform in (0, 1): 53 random bits, never exactly 0 (log() below). */
static double syn_uniform(syn_rng *r)
{
    return ((double)(syn_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller, both outputs used. */
static double syn_gauss(syn_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u = syn_uniform(r), v = syn_uniform(r);
    double rad = sqrt(-2.0 * log(u));
    double ang = 6.283185307179586 * v;
    r->spare = rad * sin(ang);
    r->has_spare = 1;
    return rad * cos(ang);
}

typedef struct syn_mixture {
    size_t dim, k;
    double *mu;   /* k * dim centres */
    double *axes; /* k * SYN_AXES * dim unit directions */
    double *sd;   /* k * SYN_AXES standard deviations along the axes */
    double *rho;  /* k isotropic per-dimension standard deviations */
    double *cumw; /* k cumulative weights, last = 1 */
} syn_mixture;

static void syn_mixture_free(syn_mixture *m)
{
    free(m->mu);
    free(m->axes);
    free(m->sd);
    free(m->rho);
    free(m->cumw);
}

static int syn_mixture_init(syn_mixture *m, size_t dim, size_t k, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->dim = dim;
    m->k = k;
    m->mu = malloc(k * dim * sizeof(double));
    m->axes = malloc(k * SYN_AXES * dim * sizeof(double));
    m->sd = malloc(k * SYN_AXES * sizeof(double));
    m->rho = malloc(k * sizeof(double));
    m->cumw = malloc(k * sizeof(double));
    if (!m->mu || !m->axes || !m->sd || !m->rho || !m->cumw) {
        syn_mixture_free(m);
        return -1;
    }
    syn_rng r;
    syn_rng_seed(&r, seed, 0);
    double total = 0;
    for (size_t c = 0; c < k; c++) {
        for (size_t d = 0; d < dim; d++)
            m->mu[c * dim + d] = syn_gauss(&r);
        double lr = log(SYN_RHO_MIN) + (log(SYN_RHO_MAX) - log(SYN_RHO_MIN)) * syn_uniform(&r);
        m->rho[c] = exp(lr);
        double scale = 4.0;
        for (size_t j = 0; j < SYN_AXES; j++) {
            double *u = m->axes + (c * SYN_AXES + j) * dim;
            double norm = 0;
            for (size_t d = 0; d < dim; d++) {
                u[d] = syn_gauss(&r);
                norm += u[d] * u[d];
            }
            norm = sqrt(norm);
            for (size_t d = 0; d < dim; d++)
                u[d] /= norm;
            m->sd[c * SYN_AXES + j] = m->rho[c] * scale;
            scale *= 0.75;
        }
        double w = exp(SYN_WEIGHT_SIGMA * syn_gauss(&r));
        total += w;
        m->cumw[c] = total;
    }
    for (size_t c = 0; c < k; c++)
        m->cumw[c] /= total;
    m->cumw[k - 1] = 1.0;
    return 0;
}

/* Draws one normalised point of the mixture into out[0..dim). `tmp` holds dim doubles. */
static void syn_draw(const syn_mixture *m, syn_rng *r, double *tmp, float *out)
{
    double u = syn_uniform(r);
    size_t lo = 0, hi = m->k - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->cumw[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t c = lo, dim = m->dim;
    const double *mu = m->mu + c * dim;
    for (size_t d = 0; d < dim; d++)
        tmp[d] = mu[d] + m->rho[c] * syn_gauss(r);
    for (size_t j = 0; j < SYN_AXES; j++) {
        double z = m->sd[c * SYN_AXES + j] * syn_gauss(r);
        const double *ax = m->axes + (c * SYN_AXES + j) * dim;
        for (size_t d = 0; d < dim; d++)
            tmp[d] += z * ax[d];
    }
    double norm = 0;
    for (size_t d = 0; d < dim; d++)
        norm += tmp[d] * tmp[d];
    norm = sqrt(norm);
    if (norm == 0) norm = 1;
    for (size_t d = 0; d < dim; d++)
        out[d] = (float)(tmp[d] / norm);
}

static int ds_make_synth(const char *dir, size_t n, size_t nq, size_t dim, size_t k, uint64_t seed)
{
    char bpath[4096], qpath[4096], seedstr[64];
    ds_path(bpath, sizeof(bpath), dir, "base.fvecs");
    ds_path(qpath, sizeof(qpath), dir, "query.fvecs");
    if (ds_file_exists(bpath) && ds_file_exists(qpath)) {
        char verstr[64], nstr[64], nqstr[64];
        if (ds_read_info(dir, "seed", seedstr, sizeof(seedstr)) == 0 &&
            ds_read_info(dir, "generator", verstr, sizeof(verstr)) == 0 &&
            ds_read_info(dir, "n", nstr, sizeof(nstr)) == 0 &&
            ds_read_info(dir, "nq", nqstr, sizeof(nqstr)) == 0 &&
            strtoull(seedstr, NULL, 10) == seed && atoi(verstr) == SYN_VERSION &&
            strtoull(nstr, NULL, 10) == n && strtoull(nqstr, NULL, 10) == nq) {
            printf("datasets: %s: synthetic set already generated (seed %llu)\n", dir,
                   (unsigned long long)seed);
            return 0;
        }
        /* Another seed, size or generator version: the cache is stale. */
        printf("datasets: %s: cached set differs (seed, size or generator), regenerating\n", dir);
        char gpath[4096];
        ds_path(gpath, sizeof(gpath), dir, "gt.ivecs");
        remove(gpath);
        ds_path(gpath, sizeof(gpath), dir, "gt_dist.fvecs");
        remove(gpath);
    }
    if (ds_mkdir_p(dir) != 0) return -1;
    printf("datasets: %s: generating %zu + %zu x %zu, %zu clusters, seed %llu\n", dir, n, nq, dim,
           k, (unsigned long long)seed);
    fflush(stdout);
    syn_mixture m;
    if (syn_mixture_init(&m, dim, k, seed) != 0) return -1;
    float *base = malloc(n * dim * sizeof(float));
    float *query = malloc(nq * dim * sizeof(float));
    double *tmp = malloc(dim * sizeof(double));
    int rc = -1;
    if (base && query && tmp) {
        syn_rng rb, rq;
        syn_rng_seed(&rb, seed, 1);
        syn_rng_seed(&rq, seed, 2);
        for (size_t i = 0; i < n; i++)
            syn_draw(&m, &rb, tmp, base + i * dim);
        for (size_t i = 0; i < nq; i++)
            syn_draw(&m, &rq, tmp, query + i * dim);
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "seed=%llu\nclusters=%zu\ngenerator=%d\nsource=utils/datasets.c gaussian "
                 "mixture\n",
                 (unsigned long long)seed, k, SYN_VERSION);
        if (ds_write_vecs(qpath, query, nq, dim) == 0 && ds_write_vecs(bpath, base, n, dim) == 0 &&
            ds_write_info(dir, "synth", "cos", n, nq, dim, extra) == 0)
            rc = 0;
    }
    free(base);
    free(query);
    free(tmp);
    syn_mixture_free(&m);
    return rc;
}

/* ------------------------------------------------------------ ground truth */

typedef enum gt_metric { GT_L2, GT_COS, GT_IP } gt_metric;

typedef struct gt_job {
    const ds_matrix *base, *query;
    const float *base_norm; /* cosine only: |b| per row */
    gt_metric metric;
    size_t k;
    int32_t *ids; /* nq * k */
    float *dists; /* nq * k */
    atomic_size_t next_block;
    atomic_size_t done_queries;
} gt_job;

/* Max-heap of (dist, id) of capacity k: the root is the worst kept result. */
typedef struct gt_heap {
    float *d;
    int32_t *id;
    size_t len, cap;
} gt_heap;

static int gt_worse(float da, int32_t ia, float db, int32_t ib)
{
    return da > db || (da == db && ia > ib);
}

static void gt_heap_push(gt_heap *h, float d, int32_t id)
{
    size_t i;
    if (h->len < h->cap) {
        i = h->len++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!gt_worse(d, id, h->d[p], h->id[p])) break;
            h->d[i] = h->d[p];
            h->id[i] = h->id[p];
            i = p;
        }
    } else {
        if (!gt_worse(h->d[0], h->id[0], d, id)) return;
        i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, w = i;
            float wd = d;
            int32_t wid = id;
            if (l < h->len && gt_worse(h->d[l], h->id[l], wd, wid)) {
                w = l;
                wd = h->d[l];
                wid = h->id[l];
            }
            if (r < h->len && gt_worse(h->d[r], h->id[r], wd, wid)) w = r;
            if (w == i) break;
            h->d[i] = h->d[w];
            h->id[i] = h->id[w];
            i = w;
        }
    }
    h->d[i] = d;
    h->id[i] = id;
}

typedef struct gt_pair {
    float d;
    int32_t id;
} gt_pair;

static int gt_pair_cmp(const void *a, const void *b)
{
    const gt_pair *x = a, *y = b;
    if (gt_worse(x->d, x->id, y->d, y->id)) return 1;
    if (gt_worse(y->d, y->id, x->d, x->id)) return -1;
    return 0;
}

/* Empties the heap into ascending order (best first); pads with -1 / INF.
 * `scratch` holds h->cap pairs. */
static void gt_heap_drain(gt_heap *h, gt_pair *scratch, int32_t *ids, float *dists)
{
    for (size_t i = 0; i < h->len; i++)
        scratch[i] = (gt_pair){h->d[i], h->id[i]};
    qsort(scratch, h->len, sizeof(gt_pair), gt_pair_cmp);
    for (size_t i = 0; i < h->cap; i++) {
        ids[i] = i < h->len ? scratch[i].id : -1;
        dists[i] = i < h->len ? scratch[i].d : INFINITY;
    }
    h->len = 0;
}

static void gt_distances4(const gt_job *job, const float *q, float qnorm, size_t row, float out[4])
{
    const ds_matrix *b = job->base;
    size_t dim = b->dim;
    const float *r0 = ds_row_f32(b, row), *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
    if (job->metric == GT_L2) {
        simd->l2sq_f32_x4(q, r0, r1, r2, r3, dim, out);
        return;
    }
    simd->dot_f32_x4(q, r0, r1, r2, r3, dim, out);
    for (int j = 0; j < 4; j++) {
        if (job->metric == GT_IP) {
            out[j] = -out[j];
        } else {
            float nb = job->base_norm[row + (size_t)j];
            out[j] = (qnorm == 0 || nb == 0) ? 1.0f : 1.0f - out[j] / (qnorm * nb);
        }
    }
}

static float gt_distance1(const gt_job *job, const float *q, float qnorm, size_t row)
{
    const float *r = ds_row_f32(job->base, row);
    size_t dim = job->base->dim;
    if (job->metric == GT_L2) return simd->l2sq_f32(q, r, dim);
    float dot = simd->dot_f32(q, r, dim);
    if (job->metric == GT_IP) return -dot;
    float nb = job->base_norm[row];
    return (qnorm == 0 || nb == 0) ? 1.0f : 1.0f - dot / (qnorm * nb);
}

static void *gt_worker(void *arg)
{
    gt_job *job = arg;
    size_t nq = job->query->n, nb = job->base->n, dim = job->base->dim, k = job->k;
    size_t chunk = GT_CHUNK_BYTES / (dim * sizeof(float));
    chunk = chunk < 4 ? 4 : chunk & ~(size_t)3;
    gt_heap heaps[GT_QUERY_BLOCK];
    float qnorm[GT_QUERY_BLOCK];
    float *hd = malloc(GT_QUERY_BLOCK * k * sizeof(float));
    int32_t *hid = malloc(GT_QUERY_BLOCK * k * sizeof(int32_t));
    gt_pair *scratch = malloc(k * sizeof(gt_pair));
    if (hd == NULL || hid == NULL || scratch == NULL) {
        fprintf(stderr, "datasets: out of memory in ground truth\n");
        exit(1);
    }
    for (;;) {
        size_t blk = atomic_fetch_add(&job->next_block, 1);
        size_t q0 = blk * GT_QUERY_BLOCK;
        if (q0 >= nq) break;
        size_t qn = nq - q0 < GT_QUERY_BLOCK ? nq - q0 : GT_QUERY_BLOCK;
        for (size_t j = 0; j < qn; j++) {
            heaps[j] = (gt_heap){hd + j * k, hid + j * k, 0, k};
            const float *q = ds_row_f32(job->query, q0 + j);
            qnorm[j] = job->metric == GT_COS ? sqrtf(simd->dot_f32(q, q, dim)) : 0;
        }
        for (size_t c0 = 0; c0 < nb; c0 += chunk) {
            size_t c1 = c0 + chunk < nb ? c0 + chunk : nb;
            for (size_t j = 0; j < qn; j++) {
                const float *q = ds_row_f32(job->query, q0 + j);
                size_t r = c0;
                float d4[4];
                for (; r + 4 <= c1; r += 4) {
                    gt_distances4(job, q, qnorm[j], r, d4);
                    for (int t = 0; t < 4; t++)
                        gt_heap_push(&heaps[j], d4[t], (int32_t)(r + t));
                }
                for (; r < c1; r++)
                    gt_heap_push(&heaps[j], gt_distance1(job, q, qnorm[j], r), (int32_t)r);
            }
        }
        for (size_t j = 0; j < qn; j++)
            gt_heap_drain(&heaps[j], scratch, job->ids + (q0 + j) * k, job->dists + (q0 + j) * k);
        atomic_fetch_add(&job->done_queries, qn);
    }
    free(hd);
    free(hid);
    free(scratch);
    return NULL;
}

static int ds_make_gt(const char *dir, size_t k, int threads)
{
    char bpath[4096], qpath[4096], gpath[4096], dpath[4096], metric[32];
    ds_path(bpath, sizeof(bpath), dir, "base.fvecs");
    ds_path(qpath, sizeof(qpath), dir, "query.fvecs");
    ds_path(gpath, sizeof(gpath), dir, "gt.ivecs");
    ds_path(dpath, sizeof(dpath), dir, "gt_dist.fvecs");
    if (ds_file_exists(gpath) && ds_file_exists(dpath)) {
        printf("datasets: %s: ground truth already computed\n", dir);
        return 0;
    }
    if (ds_read_info(dir, "metric", metric, sizeof(metric)) != 0) {
        fprintf(stderr, "datasets: %s/info.txt missing or without metric=\n", dir);
        return -1;
    }
    gt_metric m;
    if (strcmp(metric, "l2") == 0)
        m = GT_L2;
    else if (strcmp(metric, "cos") == 0)
        m = GT_COS;
    else if (strcmp(metric, "ip") == 0)
        m = GT_IP;
    else {
        fprintf(stderr, "datasets: unknown metric '%s'\n", metric);
        return -1;
    }
    ds_matrix base, query;
    if (ds_read_vecs(bpath, 0, &base) != 0) return -1;
    if (ds_read_vecs(qpath, 0, &query) != 0) {
        ds_matrix_free(&base);
        return -1;
    }
    int rc = -1;
    float *norms = NULL;
    gt_job job = {.base = &base, .query = &query, .metric = m, .k = k};
    job.ids = malloc(query.n * k * sizeof(int32_t));
    job.dists = malloc(query.n * k * sizeof(float));
    if (base.dim != query.dim || base.n < k || !job.ids || !job.dists) {
        fprintf(stderr, "datasets: %s: base/query mismatch or fewer rows than k\n", dir);
        goto out;
    }
    if (m == GT_COS) {
        norms = malloc(base.n * sizeof(float));
        if (norms == NULL) goto out;
        for (size_t i = 0; i < base.n; i++) {
            const float *r = ds_row_f32(&base, i);
            norms[i] = sqrtf(simd->dot_f32(r, r, base.dim));
        }
        job.base_norm = norms;
    }
    atomic_init(&job.next_block, 0);
    atomic_init(&job.done_queries, 0);
    printf("datasets: %s: exact top-%zu by %s, %zu queries x %zu rows, %d threads (%s)\n", dir, k,
           metric, query.n, base.n, threads, simd_level_name(simd->level));
    fflush(stdout);
    double t0 = ds_now();
    pthread_t tids[64];
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, gt_worker, &job);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    printf("datasets: ground truth in %.1f s\n", ds_now() - t0);
    if (ds_write_vecs(dpath, job.dists, query.n, k) == 0 &&
        ds_write_vecs(gpath, job.ids, query.n, k) == 0)
        rc = 0;
out:
    free(norms);
    free(job.ids);
    free(job.dists);
    ds_matrix_free(&base);
    ds_matrix_free(&query);
    return rc;
}

/* ------------------------------------------------------------------ main */

static void ds_usage(void)
{
    fprintf(stderr,
            "usage: datasets prepare DATADIR\n"
            "       datasets fashion-mnist DIR\n"
            "       datasets synth DIR [--n N] [--nq Q] [--dim D] [--clusters C] [--seed S]\n"
            "       datasets gt DIR [--k K] [--threads T]\n");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        ds_usage();
        return 2;
    }
    simd_init();
    const char *cmd = argv[1], *dir = argv[2];
    size_t n = SYN_N_DEFAULT, nq = SYN_NQ_DEFAULT, dim = SYN_DIM_DEFAULT, k = GT_K_DEFAULT;
    size_t clusters = SYN_CLUSTERS_DEF;
    uint64_t seed = SYN_SEED_DEFAULT;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = ncpu > 0 ? (int)ncpu : 1;
    for (int i = 3; i < argc; i++) {
        if (i + 1 >= argc) {
            ds_usage();
            return 2;
        }
        const char *o = argv[i], *v = argv[++i];
        unsigned long long x = strtoull(v, NULL, 10);
        if (strcmp(o, "--n") == 0)
            n = x;
        else if (strcmp(o, "--nq") == 0)
            nq = x;
        else if (strcmp(o, "--dim") == 0)
            dim = x;
        else if (strcmp(o, "--clusters") == 0)
            clusters = x;
        else if (strcmp(o, "--seed") == 0)
            seed = x;
        else if (strcmp(o, "--k") == 0)
            k = x;
        else if (strcmp(o, "--threads") == 0)
            threads = (int)x;
        else {
            ds_usage();
            return 2;
        }
    }
    if (n == 0 || nq == 0 || dim == 0 || clusters == 0 || k == 0) {
        fprintf(stderr, "datasets: sizes must be positive\n");
        return 2;
    }
    if (strcmp(cmd, "fashion-mnist") == 0) return ds_make_fmnist(dir) == 0 ? 0 : 1;
    if (strcmp(cmd, "synth") == 0)
        return ds_make_synth(dir, n, nq, dim, clusters, seed) == 0 ? 0 : 1;
    if (strcmp(cmd, "gt") == 0) return ds_make_gt(dir, k, threads) == 0 ? 0 : 1;
    if (strcmp(cmd, "prepare") == 0) {
        char fm[4096], sy[4096];
        ds_path(fm, sizeof(fm), dir, "fashion-mnist");
        ds_path(sy, sizeof(sy), dir, "synth-200k");
        if (ds_make_fmnist(fm) != 0 || ds_make_gt(fm, k, threads) != 0) return 1;
        if (ds_make_synth(sy, n, nq, dim, clusters, seed) != 0 || ds_make_gt(sy, k, threads) != 0)
            return 1;
        return 0;
    }
    ds_usage();
    return 2;
}
