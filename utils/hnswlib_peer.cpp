/*
 * hnswlib_peer.cpp -- the hnswlib side of `make bench-index` (benchmark-only).
 *
 * Runs the workload of utils/bench_index.c through hnswlib (Debian's
 * header-only libhnswlib-dev, compiled here with -O3 -march=native so the
 * peer gets the same AVX2/FMA the machine offers; the Debian python bindings
 * are built for baseline x86-64 and would be an unfair, slow peer):
 *
 *   - read DIR/{base,query}.fvecs, DIR/gt.ivecs and the metric from
 *     DIR/info.txt (l2 -> L2Space; cos -> InnerProductSpace on L2-normalised
 *     copies of base and queries, so 1 - a.b is the cosine distance);
 *   - build HierarchicalNSW (M, efConstruction as given, default 16 / 200)
 *     once per entry of --build-threads, timing each build; with T > 1
 *     threads, T std::threads take row ids from one atomic counter and call
 *     addPoint, as hnswlib's own ParallelFor does. The graph of the LAST
 *     build is kept for the sweep;
 *   - for each ef of the sweep: searchKnn(k = 10) for every query, one query
 *     at a time, on 1 thread (and on each further --search-threads count,
 *     every thread taking a contiguous share of the queries); report
 *     recall@10 against the first 10 ground-truth ids and queries/second
 *     (with --reps R, the median of R passes over the queries).
 *
 * With --serve it loads the data and then takes commands on stdin ("build T",
 * "memory", "search EF T REPS", "quit"; every answer ends with "done"), so
 * bench_index can alternate its own measurements with the peer's and both
 * see the same load on a shared machine.
 *
 * Output, one record per line, "hnswlib <kind> key=value ...", which
 * bench_index.c parses (anything else on a line is ignored):
 *   hnswlib dataset name=... metric=... n=... dim=... nq=...
 *   hnswlib build threads=T seconds=S
 *   hnswlib memory bytes_per_vector=B rss_bytes_per_vector=R
 *   hnswlib search threads=T ef=E recall=R qps=Q
 * bytes_per_vector counts what hnswlib allocates per element: the level-0
 * block (vector + level-0 links + label), the upper-level link lists of that
 * element, its linkLists_ pointer and level entry. It leaves out the
 * per-element std::mutex and the label hash map (rss_bytes_per_vector, the
 * growth of the resident set across the build, includes them).
 *
 * Everything here is written for this benchmark; no code is taken from
 * hnswlib's examples or bindings.
 */
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

constexpr size_t kRecallK = 10;           // recall@10, as the issue asks
constexpr size_t kWarmupQueries = 500;    // untimed queries before the sweep (caches, clocks)

struct Matrix {
    size_t n = 0, dim = 0;
    std::vector<float> f;
    std::vector<int32_t> i;
};

double now_seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Reads .fvecs (is_int = false) or .ivecs, at most max_rows rows (0 = all).
bool read_vecs(const std::string &path, bool is_int, size_t max_rows, Matrix &m)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "hnswlib_peer: cannot open %s\n", path.c_str());
        return false;
    }
    in.seekg(0, std::ios::end);
    size_t size = (size_t)in.tellg();
    in.seekg(0);
    int32_t dim = 0;
    if (!in.read((char *)&dim, 4) || dim <= 0) return false;
    size_t rec = 4 + 4 * (size_t)dim;
    if (size % rec != 0) {
        std::fprintf(stderr, "hnswlib_peer: %s: truncated\n", path.c_str());
        return false;
    }
    size_t n = size / rec;
    if (max_rows && n > max_rows) n = max_rows;
    in.seekg(0);
    m.n = n;
    m.dim = (size_t)dim;
    std::vector<char> buf(rec);
    if (is_int) m.i.resize(n * m.dim);
    else m.f.resize(n * m.dim);
    for (size_t r = 0; r < n; r++) {
        if (!in.read(buf.data(), (std::streamsize)rec)) return false;
        int32_t d;
        std::memcpy(&d, buf.data(), 4);
        if (d != dim) return false;
        void *dst = is_int ? (void *)&m.i[r * m.dim] : (void *)&m.f[r * m.dim];
        std::memcpy(dst, buf.data() + 4, 4 * m.dim);
    }
    return true;
}

std::string read_info(const std::string &dir, const std::string &key)
{
    std::ifstream in(dir + "/info.txt");
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, key.size() + 1, key + "=") == 0) return line.substr(key.size() + 1);
    }
    return "";
}

std::vector<size_t> parse_list(const char *s)
{
    std::vector<size_t> v;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
        if (!tok.empty()) v.push_back(std::strtoul(tok.c_str(), nullptr, 10));
    }
    return v;
}

void normalise_rows(Matrix &m)
{
    for (size_t r = 0; r < m.n; r++) {
        float *v = &m.f[r * m.dim];
        double s = 0;
        for (size_t d = 0; d < m.dim; d++) s += (double)v[d] * v[d];
        if (s == 0) continue;
        float inv = (float)(1.0 / std::sqrt(s));
        for (size_t d = 0; d < m.dim; d++) v[d] *= inv;
    }
}

size_t rss_bytes()
{
    std::ifstream in("/proc/self/statm");
    size_t pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

using Graph = hnswlib::HierarchicalNSW<float>;

std::unique_ptr<Graph> build_graph(hnswlib::SpaceInterface<float> *space, const Matrix &base,
                                   size_t M, size_t efc, unsigned threads, double &seconds)
{
    auto g = std::make_unique<Graph>(space, base.n, M, efc);
    double t0 = now_seconds();
    if (threads <= 1) {
        for (size_t r = 0; r < base.n; r++) g->addPoint(&base.f[r * base.dim], r);
    } else {
        std::atomic<size_t> next{0};
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; t++) {
            pool.emplace_back([&]() {
                for (;;) {
                    size_t r = next.fetch_add(1);
                    if (r >= base.n) break;
                    g->addPoint(&base.f[r * base.dim], r);
                }
            });
        }
        for (auto &th : pool) th.join();
    }
    seconds = now_seconds() - t0;
    return g;
}

// hnswlib's own allocations per element (see the file comment).
double graph_bytes_per_vector(const Graph &g)
{
    size_t n = g.cur_element_count;
    double bytes = (double)n * (double)g.size_data_per_element_;
    bytes += (double)n * (sizeof(void *) + sizeof(int));
    for (size_t i = 0; i < n; i++) {
        if (g.element_levels_[i] > 0)
            bytes += (double)g.size_links_per_element_ * g.element_levels_[i];
    }
    return n ? bytes / (double)n : 0;
}

// Runs queries [q0, q1) at the graph's current ef; writes kRecallK labels each.
void run_queries(const Graph &g, const Matrix &query, size_t q0, size_t q1,
                 std::vector<int32_t> &labels)
{
    for (size_t q = q0; q < q1; q++) {
        auto res = g.searchKnn(&query.f[q * query.dim], kRecallK);
        int32_t *out = &labels[q * kRecallK];
        for (size_t j = 0; j < kRecallK; j++) out[j] = -1;
        // searchKnn returns a max-heap: farthest first.
        size_t j = res.size();
        while (!res.empty()) {
            out[--j] = (int32_t)res.top().second;
            res.pop();
        }
    }
}

double recall_at_10(const std::vector<int32_t> &labels, const Matrix &gt, size_t nq)
{
    size_t hit = 0;
    for (size_t q = 0; q < nq; q++) {
        const int32_t *g = &gt.i[q * gt.dim];
        const int32_t *r = &labels[q * kRecallK];
        for (size_t a = 0; a < kRecallK; a++) {
            for (size_t b = 0; b < kRecallK; b++) {
                if (r[a] >= 0 && r[a] == g[b]) {
                    hit++;
                    break;
                }
            }
        }
    }
    return (double)hit / (double)(nq * kRecallK);
}

// The graph under test and the commands run on it, in batch mode (main) or
// driven line by line by bench_index (serve), which interleaves its own runs
// with the peer's so both see the same machine load.
struct Peer {
    hnswlib::SpaceInterface<float> *space;
    const Matrix &base, &query, &gt;
    size_t M, efc;
    std::unique_ptr<Graph> g;
    double rss_per_vec = 0;
    bool warmed = false;
    std::vector<int32_t> labels;

    void build(unsigned threads)
    {
        g.reset();
        warmed = false;
        size_t rss0 = rss_bytes();
        double sec = 0;
        g = build_graph(space, base, M, efc, threads, sec);
        size_t rss1 = rss_bytes();
        rss_per_vec = rss1 > rss0 ? (double)(rss1 - rss0) / (double)base.n : 0;
        std::printf("hnswlib build threads=%u seconds=%.3f\n", threads, sec);
        std::fflush(stdout);
    }

    void memory()
    {
        if (!g) return;
        std::printf("hnswlib memory bytes_per_vector=%.1f rss_bytes_per_vector=%.1f\n",
                    graph_bytes_per_vector(*g), rss_per_vec);
        std::fflush(stdout);
    }

    void search(size_t ef, size_t threads, size_t reps)
    {
        if (!g || threads == 0) return;
        labels.resize(query.n * kRecallK);
        g->setEf(ef);
        if (!warmed) {
            run_queries(*g, query, 0, std::min(query.n, kWarmupQueries), labels);
            warmed = true;
        }
        std::vector<double> qps;
        for (size_t r = 0; r < std::max<size_t>(reps, 1); r++) {
            double t0 = now_seconds();
            if (threads == 1) {
                run_queries(*g, query, 0, query.n, labels);
            } else {
                std::vector<std::thread> pool;
                for (size_t i = 0; i < threads; i++) {
                    size_t q0 = query.n * i / threads, q1 = query.n * (i + 1) / threads;
                    pool.emplace_back([&, q0, q1]() { run_queries(*g, query, q0, q1, labels); });
                }
                for (auto &th : pool) th.join();
            }
            qps.push_back((double)query.n / (now_seconds() - t0));
        }
        std::sort(qps.begin(), qps.end());
        std::printf("hnswlib search threads=%zu ef=%zu recall=%.4f qps=%.1f\n", threads, ef,
                    recall_at_10(labels, gt, query.n), qps[qps.size() / 2]);
        std::fflush(stdout);
    }

    // Commands on stdin, one per line: "build T", "memory", "search EF T REPS",
    // "quit". Each answer ends with a line "done" (also after a bad command).
    int serve()
    {
        char line[256];
        while (std::fgets(line, sizeof(line), stdin)) {
            char cmd[32] = "";
            unsigned long a = 0, b = 0, c = 1;
            int n = std::sscanf(line, "%31s %lu %lu %lu", cmd, &a, &b, &c);
            if (n >= 1 && std::strcmp(cmd, "quit") == 0) break;
            if (n >= 2 && std::strcmp(cmd, "build") == 0) build((unsigned)a);
            else if (n >= 1 && std::strcmp(cmd, "memory") == 0) memory();
            else if (n >= 3 && std::strcmp(cmd, "search") == 0) search(a, b, c);
            else std::printf("hnswlib error unknown command\n");
            std::printf("done\n");
            std::fflush(stdout);
        }
        return 0;
    }
};

void usage()
{
    std::fprintf(stderr,
                 "usage: hnswlib_peer --data DIR [--queries N] [--M 16] [--efc 200]\n"
                 "         [--efs 10,16,...] [--build-threads 2,1] [--search-threads 1,2]\n"
                 "         [--reps R] [--serve]\n");
}

} // namespace

int main(int argc, char **argv)
{
    std::string dir;
    size_t nq_max = 0, M = 16, efc = 200;
    std::vector<size_t> efs = {10, 16, 20, 32, 48, 64, 96, 128, 192, 256, 384, 512};
    std::vector<size_t> build_threads = {2, 1};
    std::vector<size_t> search_threads = {1, 2};
    size_t reps = 1;
    bool serve = false;
    for (int a = 1; a < argc; a++) {
        std::string o = argv[a];
        if (o == "--serve") {
            serve = true;
            continue;
        }
        if (a + 1 >= argc) {
            usage();
            return 2;
        }
        const char *v = argv[++a];
        if (o == "--data") dir = v;
        else if (o == "--queries") nq_max = std::strtoul(v, nullptr, 10);
        else if (o == "--M") M = std::strtoul(v, nullptr, 10);
        else if (o == "--efc") efc = std::strtoul(v, nullptr, 10);
        else if (o == "--efs") efs = parse_list(v);
        else if (o == "--build-threads") build_threads = parse_list(v);
        else if (o == "--search-threads") search_threads = parse_list(v);
        else if (o == "--reps") reps = std::max<size_t>(1, std::strtoul(v, nullptr, 10));
        else {
            usage();
            return 2;
        }
    }
    if (dir.empty() || efs.empty() || build_threads.empty() || search_threads.empty()) {
        usage();
        return 2;
    }
    std::string metric = read_info(dir, "metric"), name = read_info(dir, "name");
    Matrix base, query, gt;
    if (metric.empty() || !read_vecs(dir + "/base.fvecs", false, 0, base) ||
        !read_vecs(dir + "/query.fvecs", false, nq_max, query) ||
        !read_vecs(dir + "/gt.ivecs", true, nq_max, gt)) {
        std::fprintf(stderr, "hnswlib_peer: cannot load the data set in %s (run datasets)\n",
                     dir.c_str());
        return 1;
    }
    if (base.dim != query.dim || gt.n != query.n || gt.dim < kRecallK) {
        std::fprintf(stderr, "hnswlib_peer: %s: inconsistent files\n", dir.c_str());
        return 1;
    }
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    if (metric == "l2") {
        space = std::make_unique<hnswlib::L2Space>(base.dim);
    } else if (metric == "cos") {
        normalise_rows(base);
        normalise_rows(query);
        space = std::make_unique<hnswlib::InnerProductSpace>(base.dim);
    } else {
        std::fprintf(stderr, "hnswlib_peer: metric '%s' not supported\n", metric.c_str());
        return 1;
    }
    std::printf("hnswlib dataset name=%s metric=%s n=%zu dim=%zu nq=%zu M=%zu efc=%zu\n",
                name.c_str(), metric.c_str(), base.n, base.dim, query.n, M, efc);
    std::fflush(stdout);

    Peer peer{space.get(), base, query, gt, M, efc};
    if (serve) return peer.serve();
    for (size_t t : build_threads) peer.build((unsigned)t);
    peer.memory();
    for (size_t ef : efs) {
        for (size_t t : search_threads) peer.search(ef, t, reps);
    }
    return 0;
}
