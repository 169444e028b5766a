/*
 * config.h -- the configuration directives of vectis: one table (name,
 * type, default, bounds, mutability, one line of documentation), parsed
 * from a config file and then from command-line overrides, read and changed
 * at run time with CONFIG GET / SET / REWRITE. Main thread only.
 */
#ifndef VECTIS_CONFIG_H
#define VECTIS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

/* Sets every directive to its default. */
void config_init(void);
/* Frees the string values (process exit, or before re-initialising). */
void config_free_values(void);

/* Loads `file` (may be NULL) and then the text of command-line overrides
 * (lines "name arg arg"), as Redis does. On error prints Redis's FATAL
 * CONFIG FILE ERROR block to stderr and returns -1. */
int config_load(const char *file, const char *overrides);

/* Parses one directive line split into argv. Returns 0 or -1 with *err set
 * to a static or buffer message. */
int config_apply_line(int argc, char **argv, char *err, size_t errlen);

/* CONFIG SET semantics over name/value pairs: all or nothing. Returns 0, or
 * -1 with a full Redis error message in err ("ERR ..."). */
int config_set_pairs(int npairs, char **names, char **values, char *err, size_t errlen);

/* Iterates the directives matching a glob; cb gets name and formatted
 * value. Each directive is reported once even when several patterns match. */
typedef void config_get_cb(void *ctx, const char *name, const char *value);
int config_get_matching(int npatterns, char **patterns, config_get_cb *cb, void *ctx);

/* Formats one directive's current value into buf; -1 when unknown. */
int config_format(const char *name, char *buf, size_t size);

/* Runs every apply hook once the start-up configuration is loaded (log
 * level, working directory, file-descriptor limit). 0 or -1 with err. */
int config_apply_startup(char *err, size_t errlen);

/* CONFIG REWRITE: 0 or -1 with err. */
int config_rewrite(const char *path, char *err, size_t errlen);

/* Writes redis.conf.example-style text for every directive to fp. */
void config_write_example(FILE *fp);

/* Splits a config/inline line into words, honouring "double" (with \n \r
 * \t \b \a \\ \" \xHH escapes) and 'single' quotes. Returns an array of
 * xmalloc'd strings (free with config_free_args) or NULL on unbalanced
 * quotes; *argc set. */
char **config_split_args(const char *line, int *argc);
void config_free_args(char **argv, int argc);

#endif
