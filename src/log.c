/*
 * log.c -- see log.h. The log file is opened per line in append mode (as
 * Redis does), so an external rotation that moves the file just works, and
 * logging stays rare enough that the open costs nothing that matters. The
 * configuration is a small global guarded by a mutex because workers log.
 */
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_file[4096];
static int log_min_level = LOG_NOTICE;
static char log_role = 'M';

static const char *level_names[] = {"debug", "verbose", "notice", "warning"};

void log_configure(const char *file, int level)
{
    pthread_mutex_lock(&log_lock);
    snprintf(log_file, sizeof(log_file), "%s", file ? file : "");
    log_min_level = level;
    pthread_mutex_unlock(&log_lock);
}

void log_set_role(char role)
{
    log_role = role;
}

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    return -1;
}

const char *log_level_name(int level)
{
    return (level >= 0 && level < 4) ? level_names[level] : "notice";
}

void log_write(int level, const char *fmt, ...)
{
    static const char marks[] = ".-*#";
    char line[8192], ts[64];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (level < log_min_level) return;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    n = (int)strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03d", (int)(tv.tv_usec / 1000));
    n = snprintf(line, sizeof(line), "%d:%c %s %c ", (int)getpid(), log_role, ts,
                 marks[level & 3]);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
    line[n++] = '\n';

    pthread_mutex_lock(&log_lock);
    int fd = STDOUT_FILENO;
    if (log_file[0]) fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        if (fd != STDOUT_FILENO) close(fd);
    }
    pthread_mutex_unlock(&log_lock);
}
