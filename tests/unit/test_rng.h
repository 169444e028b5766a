/*
 * test_rng.h -- the seeded random numbers of the unit tests: splitmix64
 * (small, fast, good enough for choosing inputs and split points) and a
 * seed taken from the clock or from an environment variable, printed so a
 * failing run can be replayed. Header-only; each test binary has its own
 * state.
 */
#ifndef VECTIS_TEST_RNG_H
#define VECTIS_TEST_RNG_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long rng_state;

static inline unsigned long long rng_next(void)
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Seeds rng_state from $env, or from the clock, prints the seed as
 * "<name>: seed N (set <env> to replay)" and returns it. */
static inline unsigned long long rng_seed(const char *name, const char *env)
{
    const char *v = getenv(env);
    unsigned long long seed = v ? strtoull(v, NULL, 10) : (unsigned long long)time(NULL);
    printf("%s: seed %llu (set %s to replay)\n", name, seed, env);
    rng_state = seed;
    return seed;
}

#endif
