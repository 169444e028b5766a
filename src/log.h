/*
 * log.h -- Redis-style log lines:
 *   <pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <level> <message>
 * with role M (primary) / S (replica) and level . debug, - verbose,
 * * notice, # warning. Any thread may log; a line is written with one
 * write(2) so lines from threads never interleave.
 */
#ifndef VECTIS_LOG_H
#define VECTIS_LOG_H

enum { LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3 };

/* Where and what to log. file NULL or "" = stdout. */
void log_configure(const char *file, int level);
void log_set_role(char role);
int log_level_from_name(const char *name); /* -1 when unknown */
const char *log_level_name(int level);

void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)   log_write(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_write(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...)  log_write(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_write(LOG_WARNING, __VA_ARGS__)

#endif
