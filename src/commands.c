/*
 * commands.c -- the command table and the dispatcher (see commands.h).
 *
 * The table is static data; start-up links subcommands to their parents,
 * fills `fullname` and builds a name -> command dict. command_process()
 * performs every check that is the same for all commands, in Redis's
 * order (unknown command, unknown subcommand, arity, authentication,
 * memory), then calls the handler and accounts the call: commandstats,
 * failed calls (detected by the error counter moving during the call),
 * slowlog and MONITOR.
 *
 * Error replies all pass through reply_error(), which strips CR/LF (via
 * resp_add_error) and counts the error code for INFO errorstats.
 */
#include "commands.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "dict.h"
#include "log.h"
#include "networking.h"
#include "persist.h"
#include "server.h"
#include "util.h"
#include "workers.h"

/* Handlers (cmd_*.c, info.c, slowlog.c). */
cmd_proc cmd_ping, cmd_echo, cmd_hello, cmd_auth, cmd_select, cmd_quit, cmd_reset,
    cmd_readonly, cmd_readwrite, cmd_time, cmd_dbsize, cmd_shutdown, cmd_debug, cmd_monitor,
    cmd_save, cmd_bgsave, cmd_lastsave,
    cmd_info;
cmd_proc cmd_client_id, cmd_client_setname, cmd_client_getname, cmd_client_setinfo,
    cmd_client_list, cmd_client_info, cmd_client_kill, cmd_client_no_evict, cmd_client_no_touch,
    cmd_client_help;
cmd_proc cmd_config_get, cmd_config_set, cmd_config_rewrite, cmd_config_resetstat,
    cmd_config_help;
cmd_proc cmd_command, cmd_command_count, cmd_command_docs, cmd_command_info, cmd_command_list,
    cmd_command_help;
cmd_proc cmd_slowlog_get, cmd_slowlog_len, cmd_slowlog_reset, cmd_slowlog_help;
cmd_proc cmd_object_encoding, cmd_object_refcount, cmd_object_idletime, cmd_object_freq,
    cmd_object_help;
cmd_proc cmd_del, cmd_exists, cmd_type, cmd_keys, cmd_scan, cmd_rename, cmd_renamenx,
    cmd_randomkey, cmd_flushall;
cmd_proc cmd_vadd, cmd_vsim, cmd_vrem, cmd_vcard, cmd_vdim, cmd_vemb, cmd_vinfo, cmd_vsetattr,
    cmd_vgetattr, cmd_vismember, cmd_vrandmember, cmd_vrange, cmd_vlinks, cmd_vcreate, cmd_vdescribe,
    cmd_vlist;

#define NOKEYS 0, 0, 0
/* Run-time fields of an entry (parent, fullname, statistics), filled later. */
#define CMD_RT NULL, "", 0, 0, 0, 0

/* clang-format off */
static command client_subcommands[] = {
    {"id", cmd_client_id, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS, "connection", "5.0.0",
     "The numeric id of this connection, never reused while the server runs.", "O(1)", "", NULL,
     CMD_RT},
    {"setname", cmd_client_setname, 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS, "connection",
     "2.6.9", "Names this connection for CLIENT LIST; an empty name clears it.", "O(1)",
     "connection-name", NULL, CMD_RT},
    {"getname", cmd_client_getname, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS, "connection",
     "2.6.9", "This connection's name, or nil when it has none.", "O(1)", "", NULL, CMD_RT},
    {"setinfo", cmd_client_setinfo, 4, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS, "connection",
     "7.2.0", "Records the client library's name or version, shown by CLIENT LIST.", "O(1)",
     "(LIB-NAME libname|LIB-VER libver)", NULL, CMD_RT},
    {"list", cmd_client_list, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "connection", "2.4.0",
     "One line per open connection, oldest first; TYPE or ID narrow the list.",
     "O(N), N = connected clients",
     "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id=integer...]", NULL, CMD_RT},
    {"info", cmd_client_info, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS, "connection",
     "6.2.0",
     "This connection's own line, in the CLIENT LIST format.", "O(1)", "", NULL, CMD_RT},
    {"kill", cmd_client_kill, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "connection", "2.4.0",
     "Closes the connections at an address, or those matching every filter given.",
     "O(N), N = connected clients",
     "(ip:port|[ID client-id=integer] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [USER username] "
     "[ADDR ip:port] [LADDR ip:port] [SKIPME YES|NO])", NULL, CMD_RT},
    {"no-evict", cmd_client_no_evict, 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "connection", "7.0.0", "Sets or clears the no-evict flag (vectis never evicts clients).",
     "O(1)", "ON|OFF", NULL, CMD_RT},
    {"no-touch", cmd_client_no_touch, 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "connection", "7.2.0", "Sets or clears the no-touch flag (vectis keeps no key access times).",
     "O(1)", "ON|OFF", NULL, CMD_RT},
    {"help", cmd_client_help, 2, CMD_LOADING | CMD_STALE, NOKEYS, "connection", "5.0.0",
     "Lists the CLIENT subcommands, their arguments and what they do.", "O(1)", "", NULL, CMD_RT},
    {NULL, NULL, 0, 0, NOKEYS, NULL, NULL, NULL, NULL, NULL, NULL, CMD_RT},
};

static command config_subcommands[] = {
    {"get", cmd_config_get, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "server",
     "2.0.0", "Name/value pairs of the directives matching any of the glob patterns.",
     "O(N), N = directives", "parameter=pattern...", NULL, CMD_RT},
    {"set", cmd_config_set, -4, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "server",
     "2.0.0", "Changes directives at run time; every pair applies or none does.",
     "O(N), N = directives", "(parameter value)...", NULL, CMD_RT},
    {"rewrite", cmd_config_rewrite, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "server", "2.8.0", "Writes the live settings into the config file, keeping its comments.",
     "O(1)", "", NULL, CMD_RT},
    {"resetstat", cmd_config_resetstat, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
     NOKEYS,
     "server", "2.0.0", "Zeroes the INFO counters, commandstats and errorstats.", "O(1)", "", NULL,
     CMD_RT},
    {"help", cmd_config_help, 2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "5.0.0",
     "Lists the CONFIG subcommands, their arguments and what they do.", "O(1)", "", NULL, CMD_RT},
    {NULL, NULL, 0, 0, NOKEYS, NULL, NULL, NULL, NULL, NULL, NULL, CMD_RT},
};

static command command_subcommands[] = {
    {"count", cmd_command_count, 2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "2.8.13",
     "How many top-level commands the server has.", "O(1)", "", NULL, CMD_RT},
    {"docs", cmd_command_docs, -2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "7.0.0",
     "Summary, group, version and argument tree of the named commands, or of all.",
     "O(N), N = commands named", "[command-name...]", NULL, CMD_RT},
    {"info", cmd_command_info, -2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "2.8.13",
     "Arity, flags and key positions of the named commands, or of all.",
     "O(N), N = commands named", "[command-name...]", NULL, CMD_RT},
    {"list", cmd_command_list, -2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "7.0.0",
     "Command names, all of them or those passing a FILTERBY test.", "O(N), N = commands",
     "[FILTERBY (MODULE module-name|ACLCAT category|PATTERN pattern=pattern)]", NULL, CMD_RT},
    {"help", cmd_command_help, 2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "5.0.0",
     "Lists the COMMAND subcommands, their arguments and what they do.", "O(1)", "", NULL, CMD_RT},
    {NULL, NULL, 0, 0, NOKEYS, NULL, NULL, NULL, NULL, NULL, NULL, CMD_RT},
};

static command slowlog_subcommands[] = {
    {"get", cmd_slowlog_get, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE, NOKEYS, "server", "2.2.12",
     "The newest slow-log entries: 10 by default, all with -1.", "O(N), N = entries replied",
     "[count=integer]", NULL, CMD_RT},
    {"len", cmd_slowlog_len, 2, CMD_ADMIN | CMD_LOADING | CMD_STALE, NOKEYS, "server", "2.2.12",
     "How many entries the slow log holds.", "O(1)", "", NULL, CMD_RT},
    {"reset", cmd_slowlog_reset, 2, CMD_ADMIN | CMD_LOADING | CMD_STALE, NOKEYS, "server", "2.2.12",
     "Empties the slow log.", "O(N), N = entries",
     "", NULL, CMD_RT},
    {"help", cmd_slowlog_help, 2, CMD_LOADING | CMD_STALE, NOKEYS, "server", "6.2.0",
     "Lists the SLOWLOG subcommands, their arguments and what they do.", "O(1)", "", NULL, CMD_RT},
    {NULL, NULL, 0, 0, NOKEYS, NULL, NULL, NULL, NULL, NULL, NULL, CMD_RT},
};

static command object_subcommands[] = {
    {"encoding", cmd_object_encoding, 3, CMD_READONLY, 2, 2, 1, "generic", "2.2.3",
     "Always raw: a collection is reported like a module value.", "O(1)", "key", NULL, CMD_RT},
    {"freq", cmd_object_freq, 3, CMD_READONLY, 2, 2, 1, "generic", "4.0.0",
     "Refused: with no LFU policy, vectis does not count key accesses.", "O(1)", "key", NULL,
     CMD_RT},
    {"idletime", cmd_object_idletime, 3, CMD_READONLY, 2, 2, 1, "generic", "2.2.3",
     "Always 0 for an existing key: access times are not tracked.", "O(1)", "key", NULL, CMD_RT},
    {"refcount", cmd_object_refcount, 3, CMD_READONLY, 2, 2, 1, "generic", "2.2.3",
     "Always 1 for an existing key: values are never shared.", "O(1)", "key", NULL, CMD_RT},
    {"help", cmd_object_help, 2, CMD_LOADING | CMD_STALE, NOKEYS, "generic", "6.2.0",
     "Lists the OBJECT subcommands, their arguments and what they do.", "O(1)", "", NULL, CMD_RT},
    {NULL, NULL, 0, 0, NOKEYS, NULL, NULL, NULL, NULL, NULL, NULL, CMD_RT},
};

static command command_table_def[] = {
    {"ping", cmd_ping, -1, CMD_FAST | CMD_STALE, NOKEYS, "connection", "1.0.0",
     "Replies PONG, or the message when one is given.", "O(1)", "[message]", NULL, CMD_RT},
    {"echo", cmd_echo, 2, CMD_FAST | CMD_STALE, NOKEYS, "connection", "1.0.0",
     "Replies with its argument unchanged.", "O(1)", "message", NULL, CMD_RT},
    {"hello", cmd_hello, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_AUTH | CMD_FAST,
     NOKEYS,
     "connection", "6.0.0",
     "Chooses RESP2 or RESP3, may log in and name the connection, describes the server.", "O(1)",
     "[protover=integer [AUTH username password] [SETNAME clientname]]", NULL, CMD_RT},
    {"auth", cmd_auth, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH, NOKEYS,
     "connection", "1.0.0", "Logs the connection in as user default with the requirepass password.",
     "O(1)", "[username] password", NULL, CMD_RT},
    {"select", cmd_select, 2, CMD_LOADING | CMD_STALE | CMD_FAST, NOKEYS, "connection", "1.0.0",
     "Accepts only index 0, the one database vectis has.", "O(1)", "index=integer", NULL, CMD_RT},
    {"quit", cmd_quit, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH, NOKEYS,
     "connection", "1.0.0", "Replies OK, then the server closes the connection.", "O(1)", "", NULL,
     CMD_RT},
    {"reset", cmd_reset, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH, NOKEYS,
     "connection", "6.2.0",
     "Back to RESP2, no name, no MONITOR; logged out when a password is set.", "O(1)", "", NULL,
     CMD_RT},
    {"readonly", cmd_readonly, 1, CMD_FAST | CMD_LOADING | CMD_STALE, NOKEYS, "cluster", "3.0.0",
     "Replies OK and does nothing; cluster-aware clients send it.", "O(1)", "", NULL, CMD_RT},
    {"readwrite", cmd_readwrite, 1, CMD_FAST | CMD_LOADING | CMD_STALE, NOKEYS, "cluster", "3.0.0",
     "Replies OK and does nothing; the pair of READONLY.", "O(1)", "", NULL, CMD_RT},
    {"time", cmd_time, 1, CMD_LOADING | CMD_STALE | CMD_FAST, NOKEYS, "server", "2.6.0",
     "The server clock: Unix seconds and the microseconds within them.", "O(1)", "", NULL, CMD_RT},
    {"info", cmd_info, -1, CMD_LOADING | CMD_STALE, NOKEYS, "server", "1.0.0",
     "Server state and counters as text sections, a vectors section included.", "O(1)",
     "[section...]", NULL, CMD_RT},
    {"monitor", cmd_monitor, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS,
     "server",
     "1.0.0", "Streams every command the server runs to this connection, admin ones excepted.",
     "O(1)", "", NULL, CMD_RT},
    {"shutdown", cmd_shutdown, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
     NOKEYS, "server", "1.0.0",
     "Stops the server, writing a checkpoint first when save points or SAVE ask for it.",
     "O(1); a checkpoint costs O(rows not yet checkpointed)",
     "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]", NULL, CMD_RT},
    {"save", cmd_save, 1, CMD_ADMIN | CMD_NOSCRIPT, NOKEYS, "server", "1.0.0",
     "Writes a checkpoint; replies once it is on disk while others are served.",
     "O(rows not yet checkpointed)", "", NULL, CMD_RT},
    {"bgsave", cmd_bgsave, -1, CMD_ADMIN | CMD_NOSCRIPT, NOKEYS, "server", "1.0.0",
     "Starts a checkpoint in the background and replies at once.", "O(1)", "[SCHEDULE]", NULL,
     CMD_RT},
    {"lastsave", cmd_lastsave, 1, CMD_LOADING | CMD_STALE | CMD_FAST, NOKEYS, "server", "1.0.0",
     "Unix time of the last checkpoint that completed.", "O(1)", "", NULL, CMD_RT},
    {"debug", cmd_debug, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, NOKEYS, "server",
     "1.0.0", "Test hooks: SLEEP stalls the server, WORKER-SLEEP only this connection.",
     "See the subcommands.",
     "subcommand [argument...]", NULL, CMD_RT},
    {"client", NULL, -2, 0, NOKEYS, "connection", "2.4.0",
     "Inspects and manages client connections; see CLIENT HELP.", "See the subcommands.", NULL,
     client_subcommands, CMD_RT},
    {"config", NULL, -2, 0, NOKEYS, "server", "2.0.0",
     "Reads, changes and saves the configuration; see CONFIG HELP.", "See the subcommands.", NULL,
     config_subcommands, CMD_RT},
    {"command", cmd_command, -1, CMD_LOADING | CMD_STALE, NOKEYS, "server", "2.8.13",
     "The COMMAND INFO entry of every command; see COMMAND HELP.", "O(N), N = commands",
     "", command_subcommands, CMD_RT},
    {"slowlog", NULL, -2, 0, NOKEYS, "server", "2.2.12",
     "Reads and empties the log of slow commands; see SLOWLOG HELP.", "See the subcommands.", NULL,
     slowlog_subcommands, CMD_RT},

    /* keyspace */
    {"del", cmd_del, -2, CMD_WRITE, 1, -1, 1, "generic", "1.0.0",
     "Removes the given keys and replies with how many existed.",
     "O(N), N = keys named", "key...", NULL, CMD_RT},
    {"unlink", cmd_del, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "generic", "4.0.0",
     "The same as DEL in vectis: removes keys, counts those that existed.", "O(N), N = keys named",
     "key...", NULL, CMD_RT},
    {"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "generic", "1.0.0",
     "Counts the given keys that exist; a key named twice counts twice.", "O(N), N = keys named",
     "key...", NULL, CMD_RT},
    {"type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", "1.0.0",
     "vectorset for a collection, none for a missing key.", "O(1)", "key", NULL, CMD_RT},
    {"keys", cmd_keys, 2, CMD_READONLY, NOKEYS, "generic", "1.0.0",
     "Every key name that matches a glob pattern.", "O(N), N = keys",
     "pattern=pattern", NULL, CMD_RT},
    {"scan", cmd_scan, -2, CMD_READONLY, NOKEYS, "generic", "2.8.0",
     "Key names a batch at a time through a cursor; MATCH, COUNT, TYPE narrow it.",
     "O(COUNT) per call, O(N) for a full pass",
     "cursor=integer [MATCH pattern=pattern] [COUNT count=integer] [TYPE type]", NULL, CMD_RT},
    {"rename", cmd_rename, 3, CMD_WRITE, 1, 2, 1, "generic", "1.0.0",
     "Moves a key to a new name, replacing any key already there.",
     "O(1)", "key newkey=key", NULL, CMD_RT},
    {"renamenx", cmd_renamenx, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, "generic", "1.0.0",
     "Moves a key to a new name only when that name is free.", "O(1)", "key newkey=key", NULL,
     CMD_RT},
    {"object", NULL, -2, 0, NOKEYS, "generic", "2.2.3",
     "How a key is held, for tools that ask; see OBJECT HELP.",
     "See the subcommands.", NULL, object_subcommands, CMD_RT},
    {"randomkey", cmd_randomkey, 1, CMD_READONLY, NOKEYS, "generic", "1.0.0",
     "A key name picked at random, or nil when there are no keys.", "O(1)", "", NULL, CMD_RT},
    {"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST, NOKEYS, "server", "1.0.0",
     "How many keys (collections) the server holds.", "O(1)", "", NULL, CMD_RT},
    {"flushall", cmd_flushall, -1, CMD_WRITE, NOKEYS, "server", "1.0.0", "Deletes every key.",
     "O(N), N = keys", "[ASYNC|SYNC]", NULL, CMD_RT},
    {"flushdb", cmd_flushall, -1, CMD_WRITE, NOKEYS, "server", "1.0.0",
     "Deletes every key (database 0 is the only one).",
     "O(N), N = keys", "[ASYNC|SYNC]", NULL, CMD_RT},

    /* Redis 8 vector sets (registered upper case, like module commands) */
    {"vadd", cmd_vadd, -5, CMD_WRITE | CMD_DENYOOM | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "Stores an element and its vector, creating the set if needed; an existing "
     "element gets the new vector.",
     "O(log N) per insert, N = elements",
     "key [REDUCE dim=integer] (FP32 vector|VALUES num=integer vector...) element [CAS] "
     "[NOQUANT|Q8|BIN] [EF build-exploration-factor=integer] [SETATTR attributes] [M numlinks=integer]",
     NULL, CMD_RT},
    {"vsim", cmd_vsim, -4, CMD_READONLY | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "Elements most similar to a vector or to an element, best first; large searches "
     "run on a worker thread.",
     "O(log N), N = elements",
     "key (ELE element|FP32 vector|VALUES num=integer vector...) [WITHSCORES] [WITHATTRIBS] "
     "[COUNT num=integer] [EPSILON delta=double] [EF search-exploration-factor=integer] "
     "[FILTER expression] [FILTER-EF max-filtering-effort=integer] [TRUTH] [NOTHREAD]",
     NULL, CMD_RT},
    {"vrem", cmd_vrem, 3, CMD_WRITE | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "Deletes an element; the set goes away with its last element.", "O(log N), N = elements",
     "key element", NULL, CMD_RT},
    {"vcard", cmd_vcard, 2, CMD_READONLY | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "How many elements a vector set holds.", "O(1)", "key", NULL, CMD_RT},
    {"vdim", cmd_vdim, 2, CMD_READONLY | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "The vector length of a set (the reduced one after REDUCE).", "O(1)", "key", NULL, CMD_RT},
    {"vemb", cmd_vemb, -3, CMD_READONLY | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "The vector of an element as floats; RAW gives the stored encoding.", "O(1)",
     "key element [RAW]", NULL, CMD_RT},
    {"vlinks", cmd_vlinks, -3, CMD_READONLY | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "An element's links in the HNSW graph, top layer first.", "O(1)",
     "key element [WITHSCORES]", NULL, CMD_RT},
    {"vinfo", cmd_vinfo, 2, CMD_READONLY | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "Size, dimension, quantization and graph settings of a vector set.", "O(1)", "key", NULL,
     CMD_RT},
    {"vsetattr", cmd_vsetattr, 4, CMD_WRITE | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "Replaces an element's JSON attributes; an empty string removes them.", "O(1)",
     "key element json", NULL, CMD_RT},
    {"vgetattr", cmd_vgetattr, 3, CMD_READONLY | CMD_FAST | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "An element's JSON attributes, or nil when it has none.", "O(1)", "key element", NULL, CMD_RT},
    {"vismember", cmd_vismember, 3, CMD_READONLY | CMD_MODULE, 1, 1, 1, "module",
     "8.2.0",
     "Tells whether a vector set holds an element.", "O(1)", "key element", NULL, CMD_RT},
    {"vrandmember", cmd_vrandmember, -2, CMD_READONLY | CMD_MODULE, 1, 1, 1, "module", "8.0.0",
     "Random elements of a set; a negative count allows repeats.", "O(N)", "key [count=integer]",
     NULL, CMD_RT},
    {"vrange", cmd_vrange, -4, CMD_READONLY | CMD_MODULE, 1, 1, 1, "module", "8.4.0",
     "Element names between two bounds, in byte order.", "O(log N + M), M = names replied",
     "key start end [count=integer]", NULL, CMD_RT},

    /* engine-level collection commands */
    {"vcreate", cmd_vcreate, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "vector", "0.1.0",
     "Creates an empty collection with a chosen metric, element type and index.", "O(1)",
     "key DIM dim=integer [METRIC L2|IP|COSINE|HAMMING|JACCARD] "
     "[TYPE FLOAT32|FLOAT16|BFLOAT16|INT8|BINARY] [INDEX FLAT|HNSW] [M m=integer] "
     "[EFC efc=integer] [QUANT NONE|SQ8|BIN]", NULL, CMD_RT},
    {"vdescribe", cmd_vdescribe, 2, CMD_READONLY, 1, 1, 1, "vector", "0.1.0",
     "Describes a collection: schema, index, rows, segments, memory.", "O(segments)", "key", NULL,
     CMD_RT},
    {"vlist", cmd_vlist, 1, CMD_READONLY, NOKEYS, "vector", "0.1.0",
     "Names of the collections.", "O(N), N = collections", "", NULL, CMD_RT},
};
/* clang-format on */

#define NCOMMANDS (sizeof(command_table_def) / sizeof(command_table_def[0]))

static dict *commands_by_name;
static dict *error_codes; /* code -> long long* */

void commands_init(void)
{
    commands_by_name = dict_new();
    error_codes = dict_new();
    for (size_t i = 0; i < NCOMMANDS; i++) {
        command *cmd = &command_table_def[i];
        snprintf(cmd->fullname, sizeof(cmd->fullname), "%s", cmd->name);
        if (cmd->flags & CMD_MODULE) /* module-style commands print upper case */
            for (char *p = cmd->fullname; *p; p++) *p = (char)toupper((unsigned char)*p);
        dict_set(commands_by_name, cmd->name, strlen(cmd->name), cmd);
        for (command *sub = cmd->subcommands; sub && sub->name; sub++) {
            sub->parent = cmd;
            snprintf(sub->fullname, sizeof(sub->fullname), "%s|%s", cmd->name, sub->name);
        }
    }
}

void commands_free(void)
{
    dict_iter it;
    void *v;
    if (error_codes) {
        dict_iter_init(&it, error_codes);
        while (dict_iter_next(&it, NULL, NULL, &v)) xfree(v);
        dict_free(error_codes);
    }
    dict_free(commands_by_name);
    commands_by_name = error_codes = NULL;
}

command *command_lookup(const char *name, size_t len)
{
    char lower[64];
    if (len >= sizeof(lower)) return NULL;
    for (size_t i = 0; i < len; i++) lower[i] = (char)tolower((unsigned char)name[i]);
    return dict_get(commands_by_name, lower, len);
}

command *command_table(size_t *count)
{
    *count = NCOMMANDS;
    return command_table_def;
}

static command *subcommand_lookup(command *parent, const char *name, size_t len)
{
    for (command *sub = parent->subcommands; sub && sub->name; sub++)
        if (util_eqcase(name, len, sub->name)) return sub;
    return NULL;
}

/* ------------------------------------------------------------- replies */

void commands_count_error(const char *msg)
{
    size_t n = strcspn(msg, " ");
    long long *cnt;
    if (n > 64) n = 64;
    srv.stats.error_replies++;
    cnt = dict_get(error_codes, msg, n);
    if (!cnt) {
        if (dict_size(error_codes) >= 128) return; /* as Redis: cap distinct codes */
        cnt = xcalloc(1, sizeof(*cnt));
        dict_set(error_codes, msg, n, cnt);
    }
    (*cnt)++;
}

void commands_errorstats(void (*cb)(void *ctx, const char *code, long long n), void *ctx)
{
    dict_iter it;
    const void *k;
    size_t kl;
    void *v;
    char code[80];
    dict_iter_init(&it, error_codes);
    while (dict_iter_next(&it, &k, &kl, &v)) {
        snprintf(code, sizeof(code), "%.*s", (int)kl, (const char *)k);
        cb(ctx, code, *(long long *)v);
    }
}

void reply_error(client *c, const char *msg)
{
    commands_count_error(msg);
    resp_add_error(&c->out, msg);
}

void reply_errorf(client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(c, buf);
}

void reply_ok(client *c)
{
    resp_add_simple(&c->out, "OK");
}

void reply_syntax_error(client *c)
{
    reply_error(c, "ERR syntax error");
}

void reply_not_integer(client *c)
{
    reply_error(c, "ERR value is not an integer or out of range");
}

void reply_unknown_subcommand(client *c, const char *sub, const char *cmd)
{
    char up[64];
    size_t i;
    for (i = 0; cmd[i] && i < sizeof(up) - 1; i++) up[i] = (char)toupper((unsigned char)cmd[i]);
    up[i] = '\0';
    reply_errorf(c, "ERR unknown subcommand '%.128s'. Try %s HELP.", sub, up);
}

void reply_wrong_arity(client *c, const char *cmd)
{
    reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd);
}

/* The reply shape redis-cli users know: a header naming the command, then
 * each subcommand's synopsis followed by its indented description, HELP last.
 * Every line is a status string. */
void reply_help(client *c, const char *cmd, const char *const *lines)
{
    long n = 0;
    while (lines[n]) n++;
    resp_add_array(&c->out, n + 3);
    char head[128];
    snprintf(head, sizeof(head), "%s <subcommand> [<argument> ...], where <subcommand> is one of:",
             cmd);
    resp_add_simple(&c->out, head);
    for (long i = 0; i < n; i++) resp_add_simple(&c->out, lines[i]);
    resp_add_simple(&c->out, "HELP");
    resp_add_simple(&c->out, "    Reply with this list.");
}

/* ------------------------------------------------------------ dispatch */

static int arity_ok(const command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

static void reject(client *c, command *cmd, const char *msg)
{
    if (cmd) cmd->rejected_calls++;
    reply_error(c, msg);
}

void command_account_job(client *c, long long usec)
{
    command *cmd = (command *)c->last_cmd;
    if (cmd) cmd->usec += usec;
}

int command_process(client *c, int argc, char **argv, size_t *lens)
{
    char msg[512];
    command *cmd, *parent;

    if (argc == 0) return 0;
    /* Pipelines repeat a command: try the client's previous one first. */
    if (c->last_top && util_eqcase(argv[0], lens[0], c->last_top->name))
        parent = cmd = (command *)c->last_top;
    else
        parent = cmd = command_lookup(argv[0], lens[0]);
    if (!cmd) {
        size_t off = 0;
        msg[0] = '\0';
        for (int i = 1; i < argc && off < 128; i++) {
            int room = 128 - (int)off;
            off += (size_t)snprintf(msg + off, sizeof(msg) - off, "'%.*s' ",
                                    (int)(lens[i] < (size_t)room ? lens[i] : (size_t)room), argv[i]);
        }
        char full[800];
        snprintf(full, sizeof(full), "ERR unknown command '%.*s', with args beginning with: %s",
                 (int)(lens[0] > 128 ? 128 : lens[0]), argv[0], msg);
        reject(c, NULL, full);
        return 0;
    }
    if (cmd->subcommands && argc >= 2) {
        command *sub = subcommand_lookup(cmd, argv[1], lens[1]);
        if (!sub) {
            if (!cmd->proc || cmd->arity != -1 || argc > 1) {
                char up[64];
                size_t i;
                for (i = 0; cmd->name[i] && i < sizeof(up) - 1; i++)
                    up[i] = (char)toupper((unsigned char)cmd->name[i]);
                up[i] = '\0';
                snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.128s'. Try %s HELP.",
                         argv[1], up);
                reject(c, cmd, msg);
                return 0;
            }
        } else {
            cmd = sub;
        }
    }
    if (!arity_ok(cmd, argc) || !cmd->proc) {
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", cmd->fullname);
        reject(c, cmd, msg);
        return 0;
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH) &&
        !(parent->flags & CMD_NO_AUTH)) {
        reject(c, cmd, "NOAUTH Authentication required.");
        return 0;
    }
    if (srv.loading && !(cmd->flags & CMD_LOADING) && !(parent->flags & CMD_LOADING)) {
        reject(c, cmd, "LOADING Redis is loading the dataset in memory");
        return 0;
    }
    if (cmd->flags & CMD_WRITE) {
        const char *why = persist_write_refused();
        if (why) {
            reject(c, cmd, why);
            return 0;
        }
    }
    if ((cmd->flags & CMD_DENYOOM) && srv.maxmemory > 0 &&
        alloc_used_memory() > (size_t)srv.maxmemory) {
        reject(c, cmd, "OOM command not allowed when used memory > 'maxmemory'.");
        return 0;
    }

    /* MONITOR sees commands before they run, as in Redis; admin commands and
     * the monitor's own MONITOR are not shown. */
    if (srv.monitors_head && !(cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)) &&
        !(parent->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)))
        monitor_feed(c, argc, argv, lens);

    long long errors_before = srv.stats.error_replies;
    /* One clock read per command: a command starts when the previous one of
     * the same batch ended (client_process_input reads the clock before the
     * batch). The parsing in between is counted with the command. */
    int in_batch = srv.cmd_clock_us != 0;
    long long start = in_batch ? srv.cmd_clock_us : util_monotonic_us();
    c->last_cmd = cmd;
    c->last_top = parent;
    c->argc_now = argc;
    c->cmd_start_us = start;
    c->flags |= CLIENT_IN_CALL;
    srv.current_client = c;
    cmd->proc(c, argc, argv, lens);
    srv.current_client = NULL;
    c->flags &= ~CLIENT_IN_CALL;
    long long end = util_monotonic_us();
    long long dur = end - start;
    if (in_batch) srv.cmd_clock_us = end;

    cmd->calls++;
    cmd->usec += dur;
    if (srv.stats.error_replies != errors_before) cmd->failed_calls++;
    srv.stats.commands_processed++;
    if (!(cmd->flags & CMD_SKIP_SLOWLOG)) slowlog_push(c, argc, argv, lens, dur);
    return (c->flags & (CLIENT_BLOCKED | CLIENT_CLOSE_ASAP)) ? -1 : 0;
}

void commands_reset_stats(void)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        command *cmd = &command_table_def[i];
        cmd->calls = cmd->usec = cmd->rejected_calls = cmd->failed_calls = 0;
        for (command *sub = cmd->subcommands; sub && sub->name; sub++)
            sub->calls = sub->usec = sub->rejected_calls = sub->failed_calls = 0;
    }
    dict_iter it;
    void *v;
    dict_iter_init(&it, error_codes);
    while (dict_iter_next(&it, NULL, NULL, &v)) xfree(v);
    dict_free(error_codes);
    error_codes = dict_new();
}

/* ------------------------------------------------------ blocking on jobs */

void client_block(client *c, job *j)
{
    c->job = j;
    c->flags |= CLIENT_BLOCKED;
}

void client_block_on_job(client *c, job *j)
{
    client_block(c, j);
    workers_submit(srv.workers, j);
}

/* "*<n>\r\n$<len>\r\n<name>" at the head of the unparsed input. */
int client_next_is(const client *c, const char *name)
{
    size_t n, i = 1, nl = strlen(name);
    const char *p = resp_parser_peek(c->parser, &n);
    if (n < 4 || p[0] != '*') return 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    if (i == 1 || i + 2 > n || p[i] != '\r' || p[i + 1] != '\n') return 0;
    i += 2;
    if (i >= n || p[i] != '$') return 0;
    size_t len = 0, d = ++i;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i - d < 6) len = len * 10 + (size_t)(p[i++] - '0');
    if (i == d || len != nl || i + 2 + nl > n || p[i] != '\r' || p[i + 1] != '\n') return 0;
    return util_eqcase(p + i + 2, nl, name);
}

void client_batch_begin(client *c, job *j)
{
    c->batch = j;
    c->batch_n = 0;
    c->batch_out = c->out;
    resp_buf_init(&c->out, c->proto);
}

size_t client_batch_mark(client *c)
{
    c->batch_n++;
    return c->out.len;
}

void client_batch_submit(client *c)
{
    job *j = c->batch;
    c->batch = NULL;
    c->batch_n = 0;
    resp_buf_free(&j->reply);
    j->reply = c->out;
    c->out = c->batch_out;
    memset(&c->batch_out, 0, sizeof(c->batch_out));
    client_block_on_job(c, j);
}

void client_job_done(job *j)
{
    client *c = j->owner;
    if (!c) return; /* the client left while the job ran */
    c->job = NULL;
    c->flags &= ~CLIENT_BLOCKED;
    resp_buf_append_raw(&c->out, j->reply.buf, j->reply.len);
    command_account_job(c, j->finished_us - j->started_us);
    c->last_interaction_ms = util_mstime();
    client_process_input(c); /* the pipelined commands that waited */
    client_add_pending_write(c);
}
