/*
 * cmd_vset.c -- the Redis 8 vector-set commands (VADD, VSIM, VREM, VCARD,
 * VDIM, VEMB, VINFO, VSETATTR, VGETATTR, VISMEMBER, VRANDMEMBER, VRANGE)
 * and the engine-level VCREATE, VDESCRIBE, VLIST.
 *
 * Syntax, replies (RESP2 and RESP3) and error strings follow
 * ../shared/VECTORSETS.md exactly. What vectis does better, without changing
 * the wire format: an update is a real MVCC upsert, Q8 results are
 * re-ranked with the float vectors (so scores of a pair do not drift; a BIN
 * set stores only signs, so its scores are 1 - hamming / dim as Redis's), a
 * FILTER returns a full top-k whenever enough elements match (FILTER-EF is
 * accepted and ignored), and VSIM runs on the worker pool (one connection's
 * pipelined VSIMs keep their order) unless the planner finds it cheaper to
 * run inline or NOTHREAD is given.
 *
 * A vector set is a collection created by VADD: VARCHAR key, one FLOAT32
 * vector field stored as unit vectors (cosine as inner product) with the
 * norm kept for VEMB, dynamic attributes, an HNSW index with the set's
 * quantisation. Scores are Redis's: 1 - d/2 with d = 1 - cos, i.e.
 * (1 + dot) / 2. Collections made by VCREATE with L2 or IP report their
 * metric's own figure (L2 squared distance, inner product).
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "commands.h"
#include "engine/engine.h"
#include "engine/expr.h"
#include "server.h"
#include "util.h"
#include "workers.h"

#define VSET_MAX_DIM 65536
/* Multiply-adds (a few microseconds) below which a search runs on the main
 * thread: a hand-off costs about that much CPU. It used to be 5e5 (~50 us,
 * the wake-up latency of a lone hand-off), which put an EF 10 search of a
 * 60k x 784 set on the main thread: under load the server then searched
 * on one core while the workers idled (bench-vset: EF 10 gave fewer QPS
 * than EF 20). */
#define VSIM_INLINE_COST 5e4

/* ------------------------------------------------------------- helpers */

static void reply_bool(client *c, int v)
{
    resp_add_bool(&c->out, v);
}

/* Parses "FP32 blob" or "VALUES n v..." at argv[*i]. On success fills a
 * freshly allocated vector (*vec, *dim) and advances *i. Returns -1 on a
 * bad specification (the caller replies). */
static int parse_vector(int argc, char **argv, size_t *lens, int *i, float **vec, uint32_t *dim)
{
    int j = *i;
    if (j >= argc) return -1;
    if (util_eqcase(argv[j], lens[j], "fp32")) {
        if (j + 1 >= argc) return -1;
        size_t bl = lens[j + 1];
        if (bl == 0 || bl % 4 != 0 || bl / 4 > VSET_MAX_DIM) return -1;
        *dim = (uint32_t)(bl / 4);
        *vec = xmalloc(bl);
        memcpy(*vec, argv[j + 1], bl); /* little-endian hosts only (x86-64, aarch64) */
        for (uint32_t k = 0; k < *dim; k++)
            if (!isfinite((*vec)[k])) {
                xfree(*vec);
                return -1;
            }
        *i = j + 2;
        return 0;
    }
    if (util_eqcase(argv[j], lens[j], "values")) {
        long long n;
        if (j + 1 >= argc || !util_str2ll(argv[j + 1], lens[j + 1], &n) || n < 1 ||
            n > VSET_MAX_DIM || j + 2 + n > argc)
            return -1;
        *vec = xmalloc(sizeof(float) * (size_t)n);
        for (long long k = 0; k < n; k++) {
            double d;
            if (!util_str2d(argv[j + 2 + k], lens[j + 2 + k], &d) || !isfinite(d)) {
                xfree(*vec);
                return -1;
            }
            (*vec)[k] = (float)d;
        }
        *dim = (uint32_t)n;
        *i = j + 2 + (int)n;
        return 0;
    }
    return -1;
}

static int parse_ll_range(const char *s, size_t len, long long lo, long long hi, long long *out)
{
    return util_str2ll(s, len, out) && *out >= lo && *out <= hi;
}

static const char *quant_name(vset_quant q)
{
    return q == VSET_NOQUANT ? "f32" : q == VSET_BIN ? "bin" : "int8";
}

/* The score a hit is reported with (see the file comment). */
static double hit_score(const collection_spec *sp, float dist)
{
    if (sp->normalize) return 1.0 - (1.0 + (double)dist) / 2.0;
    if (sp->metric == INDEX_METRIC_IP) return -(double)dist;
    return (double)dist;
}

/* ---------------------------------------------------------------- VADD */

void cmd_vadd(client *c, int argc, char **argv, size_t *lens)
{
    int i = 2;
    long long reduce = 0;
    float *vec = NULL;
    uint32_t dim;

    if (util_eqcase(argv[i], lens[i], "reduce")) {
        if (i + 1 >= argc || !parse_ll_range(argv[i + 1], lens[i + 1], 1, VSET_MAX_DIM, &reduce)) {
            reply_error(c, "ERR invalid vector specification");
            return;
        }
        i += 2;
    }
    if (parse_vector(argc, argv, lens, &i, &vec, &dim) != 0) {
        reply_error(c, "ERR invalid vector specification");
        return;
    }
    if (i >= argc) {
        xfree(vec);
        reply_wrong_arity(c, "VADD");
        return;
    }
    if (reduce && reduce > dim) {
        xfree(vec);
        reply_error(c, "ERR invalid vector specification");
        return;
    }
    const char *ele = argv[i];
    size_t elen = lens[i];
    i++;
    vset_quant quant = VSET_Q8;
    int quant_given = 0, m_given = 0;
    long long ef = 200, M = 16;
    const char *attr = NULL;
    size_t attrlen = 0;
    int attr_given = 0;
    for (; i < argc; i++) {
        if (util_eqcase(argv[i], lens[i], "cas")) {
            /* Accepted: inserts never block searches here, so CAS has
             * nothing to add. On an existing element it is the plain
             * update (reply 0), as Redis drops CAS there too. */
        } else if (util_eqcase(argv[i], lens[i], "noquant")) {
            quant = VSET_NOQUANT;
            quant_given = 1;
        } else if (util_eqcase(argv[i], lens[i], "q8")) {
            quant = VSET_Q8;
            quant_given = 1;
        } else if (util_eqcase(argv[i], lens[i], "bin")) {
            quant = VSET_BIN;
            quant_given = 1;
        } else if (util_eqcase(argv[i], lens[i], "ef") && i + 1 < argc) {
            if (!parse_ll_range(argv[i + 1], lens[i + 1], 1, 1000000, &ef)) {
                xfree(vec);
                reply_error(c, "ERR invalid EF");
                return;
            }
            i++;
        } else if (util_eqcase(argv[i], lens[i], "m") && i + 1 < argc) {
            if (!parse_ll_range(argv[i + 1], lens[i + 1], 4, 4096, &M)) {
                xfree(vec);
                reply_error(c, "ERR invalid M");
                return;
            }
            m_given = 1;
            i++;
        } else if (util_eqcase(argv[i], lens[i], "setattr") && i + 1 < argc) {
            attr = argv[i + 1];
            attrlen = lens[i + 1];
            attr_given = 1;
            i++;
        } else {
            xfree(vec);
            reply_error(c, "ERR invalid option after element");
            return;
        }
    }

    collection *coll = db_lookup(argv[1], lens[1]);
    const collection_spec *sp = coll ? collection_get_spec(coll) : NULL;
    if (sp) {
        /* Creation parameters are fixed; later VADDs must agree as written
         * (for VCREATE'd collections, only what is written is checked). */
        if ((sp->from_vadd || quant_given) && quant != sp->quant) {
            xfree(vec);
            reply_error(c, "ERR asked quantization mismatch with existing vector set");
            return;
        }
        if ((sp->from_vadd || m_given) && (uint32_t)M != sp->M) {
            xfree(vec);
            reply_error(c, "ERR asked M value mismatch with existing vector set");
            return;
        }
        if (reduce && !sp->proj_in_dim) {
            xfree(vec);
            reply_error(c, "ERR cannot add projection to existing set without projection");
            return;
        }
        if (reduce && (uint32_t)reduce != sp->dim) {
            xfree(vec);
            reply_error(c, "ERR projection dimension mismatch with existing set");
            return;
        }
        if (sp->proj_in_dim && dim != sp->proj_in_dim) {
            xfree(vec);
            reply_errorf(c, "ERR Input dimension mismatch for projection - got %u but projection expects %u",
                         dim, sp->proj_in_dim);
            return;
        }
        if (!sp->proj_in_dim && dim != sp->dim) {
            xfree(vec);
            reply_errorf(c, "ERR Vector dimension mismatch - got %u but set has %u", dim, sp->dim);
            return;
        }
    } else {
        collection_spec spec;
        memset(&spec, 0, sizeof(spec));
        spec.dim = reduce ? (uint32_t)reduce : dim;
        spec.proj_in_dim = reduce ? dim : 0;
        spec.elem = INDEX_ELEM_F32;
        spec.metric = INDEX_METRIC_IP;
        spec.index_type = "HNSW";
        spec.M = (uint32_t)M;
        spec.efc = (uint32_t)ef;
        spec.quant = quant;
        spec.normalize = 1;
        spec.from_vadd = 1;
        char err[256];
        coll = collection_new(&spec, err, sizeof(err));
        if (!coll) {
            xfree(vec);
            reply_error(c, err);
            return;
        }
        db_add(argv[1], lens[1], coll);
        sp = collection_get_spec(coll);
    }
    float *stored = vec;
    if (sp->proj_in_dim) {
        stored = xmalloc(sizeof(float) * sp->dim);
        collection_project(coll, vec, stored);
    }
    int added = collection_upsert(coll, ele, elen, stored, attr, attrlen, attr_given);
    if (stored != vec) xfree(stored);
    xfree(vec);
    reply_bool(c, added);
}

/* ---------------------------------------------------------------- VSIM */

#define VSIM_WITHSCORES 1
#define VSIM_WITHATTRIBS 2

static void vsim_reply(resp_buf *o, engine_search *es, const collection_spec *sp, int flags)
{
    const engine_hit *h;
    size_t n = engine_search_hits(es, &h);
    int both = (flags & VSIM_WITHSCORES) && (flags & VSIM_WITHATTRIBS);
    if (!flags) {
        resp_add_array(o, (long)n);
    } else if (o->proto == 3) {
        resp_add_map(o, (long)n);
    } else {
        resp_add_array(o, (long)n * (both ? 3 : 2));
    }
    for (size_t i = 0; i < n; i++) {
        resp_add_bulk(o, h[i].key, h[i].klen);
        if (both && o->proto == 3) resp_add_array(o, 2);
        if (flags & VSIM_WITHSCORES) resp_add_double(o, hit_score(sp, h[i].dist));
        if (flags & VSIM_WITHATTRIBS) {
            if (h[i].attr)
                resp_add_bulk(o, h[i].attr, h[i].attrlen);
            else
                resp_add_null(o);
        }
    }
}

/* A VSIM over several big segments fans out: one job per segment on the
 * pool, a merge when the last one completes (main thread). The client
 * waits on the parent, which is never queued itself. The parent lives
 * until every part was freed (parts dropped at shutdown included). */
typedef struct vsim_parent {
    job base;
    engine_search *es;
    int flags;
    collection_spec spec;
    int pending; /* parts not completed */
    int refs;    /* parts not freed */
} vsim_parent;

typedef struct vsim_part {
    job base;
    vsim_parent *parent;
    int seg;
} vsim_part;

static void vsim_part_run(job *j)
{
    vsim_part *p = (vsim_part *)j;
    engine_search_run_part(p->parent->es, p->seg);
}

static void vsim_part_complete(job *j)
{
    vsim_part *p = (vsim_part *)j;
    vsim_parent *v = p->parent;
    if (!v->base.started_us || j->started_us < v->base.started_us) v->base.started_us = j->started_us;
    if (j->finished_us > v->base.finished_us) v->base.finished_us = j->finished_us;
    if (--v->pending > 0) return;
    engine_search_merge(v->es);
    vsim_reply(&v->base.reply, v->es, &v->spec, v->flags);
    client_job_done(&v->base);
}

static void vsim_part_free(job *j)
{
    vsim_part *p = (vsim_part *)j;
    vsim_parent *v = p->parent;
    resp_buf_free(&j->reply);
    xfree(p);
    if (--v->refs > 0) return;
    engine_search_free(v->es);
    resp_buf_free(&v->base.reply);
    xfree(v);
}

static const job_type vsim_part_type = {"vsim-part", vsim_part_run, vsim_part_complete,
                                        vsim_part_free, 0, 0, NULL};

/* VSIM on a worker: a batch of a client's pipelined VSIMs (client.h), one
 * job and one hand-off for up to CLIENT_BATCH_MAX searches (a lone VSIM is
 * a batch of one). The worker runs them one after the other and writes
 * the final reply: the side buffer (what the batch's commands replied on
 * the spot, job-owned since the submit) with each search's reply woven in
 * at its mark. Measured reason: with 8 clients x 16 pipelined VSIMs the
 * pool used to get one job and one loop wake-up per query (~50 us each on
 * this machine, as much as a search at ef 20). */
typedef struct vsim_batch_item {
    engine_search *es;
    int flags;
    collection_spec spec; /* copy: the collection may be renamed meanwhile */
    size_t mark;          /* where its reply goes in the side buffer */
} vsim_batch_item;

typedef struct vsim_batch {
    job base;
    vsim_batch_item *items;
    size_t n, cap;
} vsim_batch;

static void vsim_batch_run(job *j)
{
    vsim_batch *b = (vsim_batch *)j;
    resp_buf out;
    resp_buf_init(&out, j->reply.proto);
    size_t from = 0;
    for (size_t i = 0; i < b->n; i++) {
        vsim_batch_item *it = &b->items[i];
        resp_buf_append_raw(&out, j->reply.buf + from, it->mark - from);
        from = it->mark;
        engine_search_run(it->es);
        vsim_reply(&out, it->es, &it->spec, it->flags);
    }
    resp_buf_append_raw(&out, j->reply.buf + from, j->reply.len - from);
    resp_buf_free(&j->reply);
    j->reply = out;
}

static void vsim_batch_free(job *j)
{
    vsim_batch *b = (vsim_batch *)j;
    for (size_t i = 0; i < b->n; i++) engine_search_free(b->items[i].es);
    xfree(b->items);
    resp_buf_free(&j->reply);
    xfree(b);
}

static const job_type vsim_batch_type = {"vsim", vsim_batch_run, client_job_done, vsim_batch_free,
                                         0, 0, "vsim"};

static void vsim_batch_add(client *c, engine_search *es, const collection_spec *sp, int flags)
{
    if (!c->batch) {
        vsim_batch *nb = xcalloc(1, sizeof(*nb));
        job_init(&nb->base, &vsim_batch_type, c, c->proto);
        client_batch_begin(c, &nb->base);
    }
    vsim_batch *b = (vsim_batch *)c->batch;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
    }
    b->items[b->n++] = (vsim_batch_item){es, flags, *sp, client_batch_mark(c)};
}

/* Segments whose part is worth a job of its own. */
#define VSIM_PART_COST 2e5

static int vsim_fan_out(client *c, engine_search *es, const collection_spec *sp, int flags)
{
    int nseg = engine_search_segments(es), big = 0;
    for (int i = 0; i < nseg; i++)
        if (engine_search_part_cost(es, i) >= VSIM_PART_COST) big++;
    if (big < 2 || workers_count(srv.workers) < 2) return 0;
    vsim_parent *v = xcalloc(1, sizeof(*v));
    job_init(&v->base, &vsim_batch_type, c, c->proto); /* type unused: never queued */
    v->es = es;
    v->flags = flags;
    v->spec = *sp;
    v->pending = v->refs = nseg;
    client_block(c, &v->base);
    for (int i = 0; i < nseg; i++) {
        vsim_part *p = xcalloc(1, sizeof(*p));
        job_init(&p->base, &vsim_part_type, NULL, 2);
        p->parent = v;
        p->seg = i;
        workers_submit(srv.workers, &p->base);
    }
    return 1;
}

void cmd_vsim(client *c, int argc, char **argv, size_t *lens)
{
    collection *coll = db_lookup(argv[1], lens[1]);
    if (!coll) { /* before validating anything else, as Redis */
        resp_add_array(&c->out, 0);
        return;
    }
    const collection_spec *sp = collection_get_spec(coll);
    int i = 2, flags = 0, exact = 0, nothread = 0;
    float *q = NULL;
    uint32_t qdim = 0;
    long long count = 10, ef = 0, filter_ef;
    double epsilon = 0;
    int has_eps = 0;
    expr *filter = NULL;

    if (util_eqcase(argv[i], lens[i], "ele")) {
        if (i + 1 >= argc) {
            reply_error(c, "ERR invalid vector specification");
            return;
        }
        q = xmalloc(sizeof(float) * sp->dim);
        if (!collection_get_vector(coll, argv[i + 1], lens[i + 1], q, NULL)) {
            xfree(q);
            reply_error(c, "ERR element not found in set");
            return;
        }
        qdim = sp->dim;
        i += 2;
    } else if (parse_vector(argc, argv, lens, &i, &q, &qdim) != 0) {
        reply_error(c, "ERR invalid vector specification");
        return;
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        size_t al = lens[i];
        int has_val = i + 1 < argc;
        if (util_eqcase(a, al, "withscores")) {
            flags |= VSIM_WITHSCORES;
        } else if (util_eqcase(a, al, "withattribs")) {
            flags |= VSIM_WITHATTRIBS;
        } else if (util_eqcase(a, al, "truth")) {
            exact = 1;
        } else if (util_eqcase(a, al, "nothread")) {
            nothread = 1;
        } else if (util_eqcase(a, al, "count") && has_val) {
            if (!parse_ll_range(argv[i + 1], lens[i + 1], 1, INDEX_MAX_K, &count)) {
                reply_error(c, "ERR invalid COUNT");
                goto fail;
            }
            i++;
        } else if (util_eqcase(a, al, "ef") && has_val) {
            if (!parse_ll_range(argv[i + 1], lens[i + 1], 1, 1000000, &ef)) {
                reply_error(c, "ERR invalid EF");
                goto fail;
            }
            i++;
        } else if (util_eqcase(a, al, "epsilon") && has_val) {
            if (!util_str2d(argv[i + 1], lens[i + 1], &epsilon) || epsilon <= 0) {
                reply_error(c, "ERR invalid EPSILON");
                goto fail;
            }
            has_eps = 1;
            i++;
        } else if (util_eqcase(a, al, "filter") && has_val) {
            expr_free(filter); /* a second FILTER replaces the first */
            char *ferr = xmalloc(lens[i + 1] + 1); /* the whole tail, as Redis prints it */
            filter = expr_compile(argv[i + 1], lens[i + 1], ferr, lens[i + 1] + 1);
            if (!filter) {
                size_t n = strlen(ferr) + 64;
                char *msg = xmalloc(n);
                snprintf(msg, n, "ERR syntax error in FILTER expression near: %s", ferr);
                reply_error(c, msg);
                xfree(msg);
                xfree(ferr);
                goto fail;
            }
            xfree(ferr);
            i++;
        } else if (util_eqcase(a, al, "filter-ef") && has_val) {
            /* Accepted for compatibility: vectis returns a full filtered
             * top-k, so there is no cut-off to tune. */
            if (!parse_ll_range(argv[i + 1], lens[i + 1], 1, LLONG_MAX, &filter_ef)) {
                reply_error(c, "ERR invalid FILTER-EF");
                goto fail;
            }
            i++;
        } else {
            reply_error(c, "ERR syntax error in VSIM command");
            goto fail;
        }
    }
    if (sp->proj_in_dim && qdim == sp->proj_in_dim && qdim != sp->dim) {
        float *p = xmalloc(sizeof(float) * sp->dim);
        collection_project(coll, q, p);
        xfree(q);
        q = p;
        qdim = sp->dim;
    }
    if (qdim != sp->dim) {
        reply_errorf(c, "ERR Vector dimension mismatch - got %u but set has %u", qdim, sp->dim);
        goto fail;
    }
    if (sp->normalize) collection_unit_vector(coll, q, q);

    search_request req;
    memset(&req, 0, sizeof(req));
    req.query = q;
    req.k = (size_t)count;
    req.ef = (uint32_t)(ef ? ef : 100);
    if (req.ef < count && count <= 1000000) req.ef = (uint32_t)count;
    req.exact = exact;
    req.filter = filter; /* the search owns it from here */
    filter = NULL;
    req.want_attrs = (flags & VSIM_WITHATTRIBS) != 0;
    if (has_eps) {
        /* score >= 1 - epsilon, with score = (1 - dist) / 2 for sets */
        req.has_max_dist = 1;
        req.max_dist = sp->normalize ? (float)(2 * epsilon - 1) : (float)epsilon;
    }
    engine_search *es = engine_search_new(coll, &req);
    xfree(q);
    if (nothread || engine_search_cost(es) < VSIM_INLINE_COST) {
        engine_search_run(es);
        vsim_reply(&c->out, es, sp, flags);
        engine_search_free(es);
        return;
    }
    /* A fan-out only for a VSIM alone: in a batch, the searches of the
     * other VSIMs keep the workers busy. */
    if (!c->batch && !client_next_is(c, "vsim") && vsim_fan_out(c, es, sp, flags)) return;
    vsim_batch_add(c, es, sp, flags); /* submitted by client_process_input */
    return;
fail:
    xfree(q);
    expr_free(filter);
}

/* ------------------------------------------------------- small commands */

static collection *lookup_or_reply(client *c, const char *key, size_t klen, int kind)
{
    collection *coll = db_lookup(key, klen);
    if (coll) return coll;
    switch (kind) {
    case 0: resp_add_null(&c->out); break;
    case 1: resp_add_integer(&c->out, 0); break;
    case 2: reply_bool(c, 0); break;
    case 3: resp_add_array(&c->out, 0); break;
    case 4: resp_add_null_array(&c->out); break;
    }
    return NULL;
}

void cmd_vrem(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 2);
    if (!coll) return;
    int removed = collection_delete(coll, argv[2], lens[2]);
    if (removed && collection_rows(coll) == 0) db_delete(argv[1], lens[1]);
    reply_bool(c, removed);
}

void cmd_vcard(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 1);
    if (coll) resp_add_integer(&c->out, (long long)collection_rows(coll));
}

void cmd_vdim(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = db_lookup(argv[1], lens[1]);
    if (!coll) {
        reply_error(c, "ERR key does not exist");
        return;
    }
    resp_add_integer(&c->out, collection_get_spec(coll)->dim);
}

void cmd_vemb(client *c, int argc, char **argv, size_t *lens)
{
    int raw = 0;
    if (argc == 4) {
        if (!util_eqcase(argv[3], lens[3], "raw")) {
            reply_error(c, "ERR invalid option");
            return;
        }
        raw = 1;
    } else if (argc > 4) {
        reply_error(c, "ERR invalid option");
        return;
    }
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 0);
    if (!coll) return;
    const collection_spec *sp = collection_get_spec(coll);
    float *v = xmalloc(sizeof(float) * sp->dim);
    float norm = 1;
    if (!collection_get_vector(coll, argv[2], lens[2], v, &norm)) {
        xfree(v);
        resp_add_null(&c->out);
        return;
    }
    if (!raw) {
        resp_add_array(&c->out, sp->dim);
        for (uint32_t k = 0; k < sp->dim; k++) {
            double x = v[k];
            if (sp->normalize && sp->quant == VSET_BIN)
                x = v[k] > 0 ? 1.0 : -1.0; /* BIN keeps signs only */
            else if (sp->normalize)
                x = (double)v[k] * norm;
            resp_add_double(&c->out, x);
        }
        xfree(v);
        return;
    }
    /* RAW: the stored (unit, quantised) form, as Redis keeps it. */
    if (sp->quant == VSET_NOQUANT || !sp->normalize) {
        resp_add_array(&c->out, 3);
        resp_add_simple(&c->out, "f32");
        resp_add_bulk(&c->out, v, sizeof(float) * sp->dim);
        resp_add_double(&c->out, norm);
    } else if (sp->quant == VSET_Q8) {
        float maxabs = 0;
        for (uint32_t k = 0; k < sp->dim; k++)
            if (fabsf(v[k]) > maxabs) maxabs = fabsf(v[k]);
        int8_t *q = xmalloc(sp->dim);
        for (uint32_t k = 0; k < sp->dim; k++)
            q[k] = maxabs > 0 ? (int8_t)lrintf(v[k] / maxabs * 127.0f) : 0;
        resp_add_array(&c->out, 4);
        resp_add_simple(&c->out, "int8");
        resp_add_bulk(&c->out, q, sp->dim);
        resp_add_double(&c->out, norm);
        resp_add_double(&c->out, maxabs);
        xfree(q);
    } else {
        size_t nb = (sp->dim + 7) / 8;
        uint8_t *b = xcalloc(1, nb);
        for (uint32_t k = 0; k < sp->dim; k++)
            if (v[k] > 0) b[k >> 3] |= (uint8_t)(1u << (k & 7));
        resp_add_array(&c->out, 3);
        resp_add_simple(&c->out, "bin");
        resp_add_bulk(&c->out, b, nb);
        resp_add_double(&c->out, norm);
        xfree(b);
    }
    xfree(v);
}

void cmd_vlinks(client *c, int argc, char **argv, size_t *lens)
{
    int withscores = 0;
    if (argc == 4) {
        if (!util_eqcase(argv[3], lens[3], "withscores")) {
            reply_wrong_arity(c, "VLINKS");
            return;
        }
        withscores = 1;
    } else if (argc > 4) {
        reply_wrong_arity(c, "VLINKS");
        return;
    }
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 0);
    if (!coll) return;
    engine_links l;
    if (!collection_links(coll, argv[2], lens[2], &l)) {
        resp_add_null(&c->out);
        return;
    }
    const collection_spec *sp = collection_get_spec(coll);
    resp_add_array(&c->out, l.nlevels);
    for (int lv = l.nlevels - 1; lv >= 0; lv--) { /* top level first */
        if (withscores && c->proto == 3)
            resp_add_map(&c->out, (long)l.n[lv]);
        else
            resp_add_array(&c->out, (long)l.n[lv] * (withscores ? 2 : 1));
        for (size_t i = 0; i < l.n[lv]; i++) {
            resp_add_bulk(&c->out, l.at[lv][i].key, l.at[lv][i].klen);
            if (withscores) resp_add_double(&c->out, hit_score(sp, l.at[lv][i].dist));
        }
    }
    engine_links_free(&l);
}

void cmd_vinfo(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 4);
    if (!coll) return;
    const collection_spec *sp = collection_get_spec(coll);
    int lvl = collection_max_level(coll);
    resp_add_map(&c->out, 9);
    resp_add_simple(&c->out, "quant-type");
    resp_add_simple(&c->out, quant_name(sp->quant));
    resp_add_simple(&c->out, "hnsw-m");
    resp_add_integer(&c->out, sp->M);
    resp_add_simple(&c->out, "vector-dim");
    resp_add_integer(&c->out, sp->dim);
    resp_add_simple(&c->out, "projection-input-dim");
    resp_add_integer(&c->out, sp->proj_in_dim);
    resp_add_simple(&c->out, "size");
    resp_add_integer(&c->out, (long long)collection_rows(coll));
    resp_add_simple(&c->out, "max-level");
    resp_add_integer(&c->out, lvl < 0 ? 0 : lvl);
    resp_add_simple(&c->out, "attributes-count");
    resp_add_integer(&c->out, (long long)collection_attr_count(coll));
    resp_add_simple(&c->out, "vset-uid");
    resp_add_integer(&c->out, (long long)collection_uid(coll));
    resp_add_simple(&c->out, "hnsw-max-node-uid");
    resp_add_integer(&c->out, (long long)collection_max_row_uid(coll));
}

void cmd_vsetattr(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 2);
    if (!coll) return;
    reply_bool(c, collection_set_attr(coll, argv[2], lens[2], argv[3], lens[3]));
}

void cmd_vgetattr(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 0);
    if (!coll) return;
    const char *a;
    size_t al;
    if (!collection_get_attr(coll, argv[2], lens[2], &a, &al) || !a)
        resp_add_null(&c->out);
    else
        resp_add_bulk(&c->out, a, al);
}

void cmd_vismember(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = lookup_or_reply(c, argv[1], lens[1], 2);
    if (!coll) return;
    reply_bool(c, collection_has(coll, argv[2], lens[2]));
}

typedef struct count_ctx {
    resp_buf *o;
    long n;
} count_ctx;

static void add_key_count_cb(void *ctx, const char *key, size_t klen)
{
    count_ctx *cc = ctx;
    resp_add_bulk(cc->o, key, klen);
    cc->n++;
}

void cmd_vrandmember(client *c, int argc, char **argv, size_t *lens)
{
    long long count = 0;
    int has_count = argc >= 3;
    if (argc > 3) { /* as Redis: the table's arity -2 lets it through */
        reply_wrong_arity(c, "VRANDMEMBER");
        return;
    }
    if (has_count) {
        if (!util_str2ll(argv[2], lens[2], &count)) {
            reply_error(c, "ERR COUNT value is not an integer");
            return;
        }
        if (count == LLONG_MIN) { /* |count| has no long long */
            reply_error(c, "ERR COUNT value is out of range");
            return;
        }
        if (count == 0) { /* checked before the key is looked up, as Redis */
            resp_add_array(&c->out, 0);
            return;
        }
    }
    collection *coll = db_lookup(argv[1], lens[1]);
    if (!coll) {
        if (has_count)
            resp_add_array(&c->out, 0);
        else
            resp_add_null(&c->out);
        return;
    }
    if (!has_count) {
        count_ctx cc = {&c->out, 0};
        collection_random(coll, 1, 1, add_key_count_cb, &cc);
        if (cc.n == 0) resp_add_null(&c->out);
        return;
    }
    long long n = count < 0 ? -count : count;
    if (count > 0 && (uint64_t)n > collection_rows(coll)) n = (long long)collection_rows(coll);
    if (n > 10000000) n = 10000000; /* a sane cap on one reply */
    size_t h = resp_add_deferred(&c->out);
    count_ctx cc = {&c->out, 0};
    collection_random(coll, n, count > 0, add_key_count_cb, &cc);
    resp_set_deferred(&c->out, h, RESP_AGG_ARRAY, cc.n);
}

/* VRANGE bounds: "-" / "+" or "[ele" / "(ele". */
static int parse_bound(const char *s, size_t len, int is_start, const char **p, size_t *plen,
                       int *incl, int *open)
{
    if (len == 1 && (s[0] == '-' || s[0] == '+')) {
        if ((s[0] == '-') != is_start) return -2;
        *open = 1;
        return 0;
    }
    if (len >= 1 && (s[0] == '[' || s[0] == '(')) {
        *incl = s[0] == '[';
        *p = s + 1;
        *plen = len - 1;
        *open = 0;
        return 0;
    }
    return -1;
}

void cmd_vrange(client *c, int argc, char **argv, size_t *lens)
{
    const char *lo = NULL, *hi = NULL;
    size_t lolen = 0, hilen = 0;
    int loincl = 1, hiincl = 1, loopen = 0, hiopen = 0;
    long long count = -1;
    if (argc > 5) {
        reply_syntax_error(c);
        return;
    }
    int r = parse_bound(argv[2], lens[2], 1, &lo, &lolen, &loincl, &loopen);
    if (r == -2) {
        reply_error(c, "ERR '-' can only be used as first argument, '+' only as second");
        return;
    }
    if (r != 0) {
        reply_error(c, "ERR invalid start range format");
        return;
    }
    r = parse_bound(argv[3], lens[3], 0, &hi, &hilen, &hiincl, &hiopen);
    if (r == -2) {
        reply_error(c, "ERR '-' can only be used as first argument, '+' only as second");
        return;
    }
    if (r != 0) {
        reply_error(c, "ERR invalid end range format");
        return;
    }
    if (argc == 5 && !util_str2ll(argv[4], lens[4], &count)) {
        reply_error(c, "ERR invalid COUNT value");
        return;
    }
    collection *coll = db_lookup(argv[1], lens[1]);
    if (!coll) {
        resp_add_array(&c->out, 0);
        return;
    }
    size_t h = resp_add_deferred(&c->out);
    count_ctx cc = {&c->out, 0};
    collection_range(coll, loopen ? NULL : lo, lolen, loincl, hiopen ? NULL : hi, hilen, hiincl,
                     count < 0 ? -1 : (long)count, add_key_count_cb, &cc);
    resp_set_deferred(&c->out, h, RESP_AGG_ARRAY, cc.n);
}

/* ------------------------------------------------------- engine-level */

/* VCREATE key DIM d [METRIC L2|IP|COSINE] [TYPE t] [INDEX FLAT|HNSW [M n] [EFC n]]
 *        [QUANT NONE|SQ8|BIN] */
void cmd_vcreate(client *c, int argc, char **argv, size_t *lens)
{
    collection_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.elem = INDEX_ELEM_F32;
    spec.metric = INDEX_METRIC_COSINE;
    spec.index_type = "HNSW";
    spec.M = 16;
    spec.efc = 200;
    spec.quant = VSET_NOQUANT;
    long long v;
    int have_dim = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t al = lens[i];
        if (i + 1 >= argc) {
            reply_errorf(c, "ERR missing value for '%.64s'", a);
            return;
        }
        const char *val = argv[i + 1];
        size_t vl = lens[i + 1];
        if (util_eqcase(a, al, "dim")) {
            if (!parse_ll_range(val, vl, 1, VSET_MAX_DIM, &v)) {
                reply_error(c, "ERR DIM must be an integer between 1 and 65536");
                return;
            }
            spec.dim = (uint32_t)v;
            have_dim = 1;
        } else if (util_eqcase(a, al, "metric")) {
            int m = index_metric_parse(val);
            if (m < 0) {
                reply_error(c, "ERR METRIC must be one of L2, IP, COSINE, HAMMING, JACCARD");
                return;
            }
            spec.metric = (index_metric)m;
        } else if (util_eqcase(a, al, "type")) {
            int e = -1;
            if (util_eqcase(val, vl, "float32")) e = INDEX_ELEM_F32;
            else if (util_eqcase(val, vl, "float16")) e = INDEX_ELEM_F16;
            else if (util_eqcase(val, vl, "bfloat16")) e = INDEX_ELEM_BF16;
            else if (util_eqcase(val, vl, "int8")) e = INDEX_ELEM_I8;
            else if (util_eqcase(val, vl, "binary")) e = INDEX_ELEM_BINARY;
            if (e < 0) {
                reply_error(c, "ERR TYPE must be one of FLOAT32, FLOAT16, BFLOAT16, INT8, BINARY");
                return;
            }
            spec.elem = (index_elem)e;
        } else if (util_eqcase(a, al, "index")) {
            if (util_eqcase(val, vl, "flat")) spec.index_type = "FLAT";
            else if (util_eqcase(val, vl, "hnsw")) spec.index_type = "HNSW";
            else {
                reply_error(c, "ERR INDEX must be FLAT or HNSW");
                return;
            }
        } else if (util_eqcase(a, al, "m")) {
            if (!parse_ll_range(val, vl, 2, 4096, &v)) {
                reply_error(c, "ERR M must be an integer between 2 and 4096");
                return;
            }
            spec.M = (uint32_t)v;
        } else if (util_eqcase(a, al, "efc")) {
            if (!parse_ll_range(val, vl, 1, 65535, &v)) {
                reply_error(c, "ERR EFC must be an integer between 1 and 65535");
                return;
            }
            spec.efc = (uint32_t)v;
        } else if (util_eqcase(a, al, "quant")) {
            if (util_eqcase(val, vl, "none")) spec.quant = VSET_NOQUANT;
            else if (util_eqcase(val, vl, "sq8") || util_eqcase(val, vl, "q8")) spec.quant = VSET_Q8;
            else if (util_eqcase(val, vl, "bin")) spec.quant = VSET_BIN;
            else {
                reply_error(c, "ERR QUANT must be NONE, SQ8 or BIN");
                return;
            }
        } else {
            reply_errorf(c, "ERR unknown VCREATE option '%.64s'", a);
            return;
        }
        i++;
    }
    if (!have_dim) {
        reply_error(c, "ERR DIM is required");
        return;
    }
    if (spec.elem == INDEX_ELEM_BINARY && spec.dim % 8) {
        reply_error(c, "ERR DIM of a BINARY vector must be a multiple of 8");
        return;
    }
    if (db_lookup(argv[1], lens[1])) {
        reply_error(c, "ERR collection already exists");
        return;
    }
    /* Cosine over FLOAT32 is stored as unit vectors searched by inner
     * product, like a vector set (same scores, faster kernel). */
    if (spec.metric == INDEX_METRIC_COSINE && spec.elem == INDEX_ELEM_F32) {
        spec.metric = INDEX_METRIC_IP;
        spec.normalize = 1;
    }
    if (!strcmp(spec.index_type, "FLAT")) spec.quant = VSET_NOQUANT;
    char err[256];
    collection *coll = collection_new(&spec, err, sizeof(err));
    if (!coll) {
        reply_error(c, err);
        return;
    }
    db_add(argv[1], lens[1], coll);
    reply_ok(c);
}

void cmd_vdescribe(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    collection *coll = db_lookup(argv[1], lens[1]);
    if (!coll) {
        reply_error(c, "ERR no such collection");
        return;
    }
    const collection_spec *sp = collection_get_spec(coll);
    int nseg = collection_segment_count(coll);
    const collection_schema *sc = collection_get_schema(coll);
    const schema_field *vf = &sc->fields[collection_field_index(coll, "vector", 6)];
    resp_add_map(&c->out, 14);
    resp_add_bulk_cstr(&c->out, "name");
    resp_add_bulk(&c->out, argv[1], lens[1]);
    resp_add_bulk_cstr(&c->out, "primary-key");
    resp_add_bulk_cstr(&c->out, sc->fields[sc->pk].type);
    resp_add_bulk_cstr(&c->out, "fields");
    resp_add_array(&c->out, sc->nfields);
    for (int i = 0; i < sc->nfields; i++) {
        const schema_field *f = &sc->fields[i];
        int vec = f->kind == FIELD_VECTOR;
        resp_add_map(&c->out, vec ? 5 : 3);
        resp_add_bulk_cstr(&c->out, "name");
        resp_add_bulk_cstr(&c->out, f->name);
        resp_add_bulk_cstr(&c->out, "kind");
        resp_add_bulk_cstr(&c->out, f->kind == FIELD_PRIMARY_KEY ? "primary-key"
                                    : vec                        ? "vector"
                                                                 : "scalar");
        resp_add_bulk_cstr(&c->out, "type");
        resp_add_bulk_cstr(&c->out, f->type);
        if (vec) {
            resp_add_bulk_cstr(&c->out, "dim");
            resp_add_integer(&c->out, f->dim);
            resp_add_bulk_cstr(&c->out, "metric");
            resp_add_bulk_cstr(&c->out, index_metric_name(f->metric));
        }
    }
    resp_add_bulk_cstr(&c->out, "dim");
    resp_add_integer(&c->out, vf->dim);
    resp_add_bulk_cstr(&c->out, "metric");
    resp_add_bulk_cstr(&c->out, index_metric_name(vf->metric));
    resp_add_bulk_cstr(&c->out, "type");
    resp_add_bulk_cstr(&c->out, vf->type);
    resp_add_bulk_cstr(&c->out, "index");
    resp_add_bulk_cstr(&c->out, sp->index_type);
    resp_add_bulk_cstr(&c->out, "index-params");
    char params[128];
    if (!strcmp(sp->index_type, "HNSW"))
        snprintf(params, sizeof(params), "M=%u EFC=%u QUANT=%s", sp->M, sp->efc,
                 sp->quant == VSET_Q8 ? "SQ8" : sp->quant == VSET_BIN ? "BIN" : "NONE");
    else
        params[0] = '\0';
    resp_add_bulk_cstr(&c->out, params);
    resp_add_bulk_cstr(&c->out, "dynamic-attributes");
    resp_add_bool(&c->out, sc->dynamic);
    resp_add_bulk_cstr(&c->out, "partitions");
    int nparts = collection_partition_count(coll);
    resp_add_array(&c->out, nparts);
    for (int i = 0; i < nparts; i++) {
        partition_info pi;
        collection_partition_info(coll, i, &pi);
        resp_add_map(&c->out, 3);
        resp_add_bulk_cstr(&c->out, "name");
        resp_add_bulk_cstr(&c->out, pi.name);
        resp_add_bulk_cstr(&c->out, "rows");
        resp_add_integer(&c->out, (long long)pi.rows);
        resp_add_bulk_cstr(&c->out, "segments");
        resp_add_integer(&c->out, pi.segments);
    }
    resp_add_bulk_cstr(&c->out, "rows");
    resp_add_integer(&c->out, (long long)collection_rows(coll));
    resp_add_bulk_cstr(&c->out, "attributes-count");
    resp_add_integer(&c->out, (long long)collection_attr_count(coll));
    resp_add_bulk_cstr(&c->out, "memory");
    resp_add_integer(&c->out, (long long)collection_memory(coll));
    resp_add_bulk_cstr(&c->out, "segments");
    resp_add_array(&c->out, nseg);
    for (int i = 0; i < nseg; i++) {
        segment_info si;
        collection_segment_info(coll, i, &si);
        resp_add_map(&c->out, 7);
        resp_add_bulk_cstr(&c->out, "id");
        resp_add_integer(&c->out, (long long)si.id);
        resp_add_bulk_cstr(&c->out, "partition");
        resp_add_bulk_cstr(&c->out, si.partition);
        resp_add_bulk_cstr(&c->out, "state");
        resp_add_bulk_cstr(&c->out, si.state);
        resp_add_bulk_cstr(&c->out, "rows");
        resp_add_integer(&c->out, si.rows);
        resp_add_bulk_cstr(&c->out, "deleted");
        resp_add_integer(&c->out, si.deleted);
        resp_add_bulk_cstr(&c->out, "indexed");
        resp_add_integer(&c->out, si.indexed);
        resp_add_bulk_cstr(&c->out, "memory");
        resp_add_integer(&c->out, (long long)si.memory);
    }
}

static void list_cb(void *ctx, const char *key, size_t klen, collection *coll)
{
    (void)coll;
    count_ctx *cc = ctx;
    resp_add_bulk(cc->o, key, klen);
    cc->n++;
}

void cmd_vlist(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    size_t h = resp_add_deferred(&c->out);
    count_ctx cc = {&c->out, 0};
    db_foreach(list_cb, &cc);
    resp_set_deferred(&c->out, h, RESP_AGG_ARRAY, cc.n);
}
