/*
 * cmd_command.c -- COMMAND, COMMAND COUNT / INFO / DOCS / LIST / HELP.
 *
 * COMMAND DOCS turns each command's one-line synopsis (commands.c) into the
 * argument tree Redis 7 publishes, which redis-cli uses for its hints and
 * `help`. The synopsis language:
 *
 *   TOKEN            a pure token (upper case)           -> type pure-token
 *   name             an argument (lower case)            -> type string ("key": key)
 *   name=type        typed argument (integer, double, pattern, key, unix-time)
 *   x...             x may repeat                        -> flag multiple
 *   [ ... ]          optional                            -> flag optional
 *   ( ... )          grouping                            -> type block
 *   a b|c d          alternatives (lowest precedence)    -> type oneof
 *
 * and `TOKEN x` inside a group collapses into one argument with token TOKEN,
 * as Redis describes "[COUNT count]". Parsing happens per request into a
 * small tree that is freed after the reply; the synopses are tiny.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "commands.h"
#include "server.h"
#include "util.h"

typedef struct arg_node {
    char name[80];
    char type[80];
    char token[80];
    int optional, multiple;
    struct arg_node **kids;
    int nkids;
} arg_node;

static void node_free(arg_node *n)
{
    if (!n) return;
    for (int i = 0; i < n->nkids; i++) node_free(n->kids[i]);
    xfree(n->kids);
    xfree(n);
}

static void node_add(arg_node *parent, arg_node *kid)
{
    parent->kids = xrealloc(parent->kids, sizeof(arg_node *) * (size_t)(parent->nkids + 1));
    parent->kids[parent->nkids++] = kid;
}

static arg_node *node_new(const char *type)
{
    arg_node *n = xcalloc(1, sizeof(*n));
    snprintf(n->type, sizeof(n->type), "%s", type);
    return n;
}

static arg_node *parse_alternatives(const char **p, char close);

static void skip_ws(const char **p)
{
    while (**p == ' ') (*p)++;
}

static arg_node *parse_word(const char **p)
{
    char word[64];
    size_t n = 0;
    while (**p && !strchr(" []()|", **p) && n < sizeof(word) - 1) {
        if ((*p)[0] == '.' && (*p)[1] == '.' && (*p)[2] == '.') break;
        word[n++] = *(*p)++;
    }
    word[n] = '\0';
    if (n == 0) return NULL;
    int upper = 1, has_alpha = 0;
    for (size_t i = 0; i < n; i++) {
        if (islower((unsigned char)word[i])) upper = 0;
        if (isalpha((unsigned char)word[i])) has_alpha = 1;
    }
    arg_node *a;
    if (upper && has_alpha) {
        a = node_new("pure-token");
        snprintf(a->token, sizeof(a->token), "%s", word);
        for (size_t i = 0; i <= n && i < sizeof(a->name) - 1; i++)
            a->name[i] = (char)tolower((unsigned char)word[i]);
    } else {
        char *eq = strchr(word, '=');
        if (eq) {
            *eq = '\0';
            a = node_new(eq + 1);
        } else {
            a = node_new(strcmp(word, "key") == 0 ? "key" : "string");
        }
        snprintf(a->name, sizeof(a->name), "%s", word);
    }
    return a;
}

/* Collapses a block: one child -> the child; TOKEN x -> x with token. */
static arg_node *collapse(arg_node *blk)
{
    if (blk->nkids == 1) {
        arg_node *k = blk->kids[0];
        blk->nkids = 0;
        node_free(blk);
        return k;
    }
    if (blk->nkids == 2 && !strcmp(blk->kids[0]->type, "pure-token") &&
        strcmp(blk->kids[1]->type, "pure-token") != 0 && !blk->kids[1]->token[0]) {
        arg_node *tok = blk->kids[0], *k = blk->kids[1];
        snprintf(k->token, sizeof(k->token), "%s", tok->token);
        if (!strcmp(k->type, "oneof")) snprintf(k->name, sizeof(k->name), "%s", tok->name);
        blk->nkids = 0;
        node_free(tok);
        node_free(blk);
        return k;
    }
    return blk;
}

static arg_node *parse_item(const char **p)
{
    arg_node *a = NULL;
    skip_ws(p);
    if (**p == '[') {
        (*p)++;
        a = parse_alternatives(p, ']');
        if (**p == ']') (*p)++;
        a->optional = 1;
    } else if (**p == '(') {
        (*p)++;
        a = parse_alternatives(p, ')');
        if (**p == ')') (*p)++;
    } else {
        a = parse_word(p);
    }
    if (a && strncmp(*p, "...", 3) == 0) {
        a->multiple = 1;
        *p += 3;
    }
    return a;
}

static arg_node *parse_sequence(const char **p, char close)
{
    arg_node *blk = node_new("block");
    for (;;) {
        skip_ws(p);
        if (!**p || **p == close || **p == '|') break;
        arg_node *a = parse_item(p);
        if (!a) break;
        node_add(blk, a);
    }
    snprintf(blk->name, sizeof(blk->name), "%s", blk->nkids ? blk->kids[0]->name : "block");
    return blk;
}

static arg_node *parse_alternatives(const char **p, char close)
{
    arg_node *first = parse_sequence(p, close);
    skip_ws(p);
    if (**p != '|') return collapse(first);
    arg_node *one = node_new("oneof");
    node_add(one, collapse(first));
    while (**p == '|') {
        (*p)++;
        node_add(one, collapse(parse_sequence(p, close)));
        skip_ws(p);
    }
    size_t off = 0;
    for (int i = 0; i < one->nkids && off < sizeof(one->name) - 1; i++)
        off += (size_t)snprintf(one->name + off, sizeof(one->name) - off, "%s%s", i ? "|" : "",
                                one->kids[i]->name);
    return one;
}

/* Top-level arguments: a list (the sequence's children, or one oneof). */
static arg_node *parse_synopsis(const char *s)
{
    const char *p = s ? s : "";
    arg_node *top = parse_sequence(&p, '\0');
    skip_ws(&p);
    if (*p == '|') { /* top-level alternatives: one oneof argument */
        p = s;
        arg_node *one = parse_alternatives(&p, '\0');
        arg_node *wrap = node_new("block");
        node_add(wrap, one);
        node_free(top);
        return wrap;
    }
    return top;
}

static void emit_arg(resp_buf *o, const arg_node *a)
{
    long fields = 2 + (a->token[0] ? 1 : 0) + ((a->optional || a->multiple) ? 1 : 0) +
                  (a->nkids ? 1 : 0);
    resp_add_map(o, fields);
    resp_add_bulk_cstr(o, "name");
    resp_add_bulk_cstr(o, a->name);
    resp_add_bulk_cstr(o, "type");
    resp_add_bulk_cstr(o, a->type);
    if (a->token[0]) {
        resp_add_bulk_cstr(o, "token");
        resp_add_bulk_cstr(o, a->token);
    }
    if (a->optional || a->multiple) {
        resp_add_bulk_cstr(o, "flags");
        resp_add_set(o, (a->optional ? 1 : 0) + (a->multiple ? 1 : 0));
        if (a->optional) resp_add_simple(o, "optional");
        if (a->multiple) resp_add_simple(o, "multiple");
    }
    if (a->nkids) {
        resp_add_bulk_cstr(o, "arguments");
        resp_add_array(o, a->nkids);
        for (int i = 0; i < a->nkids; i++) emit_arg(o, a->kids[i]);
    }
}

static void emit_docs(resp_buf *o, const command *cmd)
{
    arg_node *args = cmd->args ? parse_synopsis(cmd->args) : NULL;
    long nsub = 0;
    for (command *s = cmd->subcommands; s && s->name; s++) nsub++;
    long fields = 4 + ((args && args->nkids) ? 1 : 0) + (nsub ? 1 : 0);
    resp_add_map(o, fields);
    resp_add_bulk_cstr(o, "summary");
    resp_add_bulk_cstr(o, cmd->summary);
    resp_add_bulk_cstr(o, "since");
    resp_add_bulk_cstr(o, cmd->since);
    resp_add_bulk_cstr(o, "group");
    resp_add_bulk_cstr(o, cmd->group);
    resp_add_bulk_cstr(o, "complexity");
    resp_add_bulk_cstr(o, cmd->complexity);
    if (args && args->nkids) {
        resp_add_bulk_cstr(o, "arguments");
        resp_add_array(o, args->nkids);
        for (int i = 0; i < args->nkids; i++) emit_arg(o, args->kids[i]);
    }
    if (nsub) {
        resp_add_bulk_cstr(o, "subcommands");
        resp_add_map(o, nsub);
        for (command *s = cmd->subcommands; s && s->name; s++) {
            resp_add_bulk_cstr(o, s->fullname);
            emit_docs(o, s);
        }
    }
    node_free(args);
}

static void emit_flags(resp_buf *o, unsigned f)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {{CMD_WRITE, "write"},       {CMD_READONLY, "readonly"},
                 {CMD_DENYOOM, "denyoom"},   {CMD_ADMIN, "admin"},
                 {CMD_PUBSUB, "pubsub"},     {CMD_NOSCRIPT, "noscript"},
                 {CMD_BLOCKING, "blocking"}, {CMD_LOADING, "loading"},
                 {CMD_STALE, "stale"},       {CMD_SKIP_MONITOR, "skip_monitor"},
                 {CMD_SKIP_SLOWLOG, "skip_slowlog"}, {CMD_FAST, "fast"},
                 {CMD_NO_AUTH, "no_auth"}, {CMD_MODULE, "module"}};
    long n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (f & names[i].flag) n++;
    resp_add_set(o, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (f & names[i].flag) resp_add_simple(o, names[i].name);
}

static void emit_acl(resp_buf *o, const command *cmd)
{
    const char *cats[8];
    long n = 0;
    cats[n++] = (cmd->flags & CMD_FAST) ? "@fast" : "@slow";
    if (cmd->flags & CMD_ADMIN) {
        cats[n++] = "@admin";
        cats[n++] = "@dangerous";
    }
    if (cmd->flags & CMD_WRITE) cats[n++] = "@write";
    if (cmd->flags & CMD_READONLY) cats[n++] = "@read";
    if (cmd->group && !strcmp(cmd->group, "connection")) cats[n++] = "@connection";
    resp_add_set(o, n);
    for (long i = 0; i < n; i++) resp_add_simple(o, cats[i]);
}

static void emit_info(resp_buf *o, const command *cmd)
{
    long nsub = 0;
    for (command *s = cmd->subcommands; s && s->name; s++) nsub++;
    resp_add_array(o, 10);
    resp_add_bulk_cstr(o, cmd->fullname);
    resp_add_integer(o, cmd->arity);
    emit_flags(o, cmd->flags);
    resp_add_integer(o, cmd->first_key);
    resp_add_integer(o, cmd->last_key);
    resp_add_integer(o, cmd->key_step);
    emit_acl(o, cmd);
    resp_add_set(o, 0);   /* tips */
    resp_add_array(o, 0); /* key specs */
    resp_add_array(o, nsub);
    for (command *s = cmd->subcommands; s && s->name; s++) emit_info(o, s);
}

/* Finds "name" or "parent|sub". */
static command *lookup_any(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (!bar) return command_lookup(name, len);
    command *parent = command_lookup(name, (size_t)(bar - name));
    if (!parent) return NULL;
    for (command *s = parent->subcommands; s && s->name; s++)
        if (util_eqcase(bar + 1, len - (size_t)(bar - name) - 1, s->name)) return s;
    return NULL;
}

void cmd_command(client *c, int argc, char **argv, size_t *lens)
{
    size_t n;
    command *t = command_table(&n);
    (void)argc;
    (void)argv;
    (void)lens;
    resp_add_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) emit_info(&c->out, &t[i]);
}

void cmd_command_count(client *c, int argc, char **argv, size_t *lens)
{
    size_t n;
    (void)argc;
    (void)argv;
    (void)lens;
    command_table(&n);
    resp_add_integer(&c->out, (long long)n);
}

void cmd_command_info(client *c, int argc, char **argv, size_t *lens)
{
    if (argc == 2) {
        cmd_command(c, argc, argv, lens);
        return;
    }
    resp_add_array(&c->out, argc - 2);
    for (int i = 2; i < argc; i++) {
        command *cmd = lookup_any(argv[i], lens[i]);
        if (cmd)
            emit_info(&c->out, cmd);
        else
            resp_add_null_array(&c->out);
    }
}

void cmd_command_docs(client *c, int argc, char **argv, size_t *lens)
{
    size_t n;
    command *t = command_table(&n);
    if (argc == 2) {
        resp_add_map(&c->out, (long)n);
        for (size_t i = 0; i < n; i++) {
            resp_add_bulk_cstr(&c->out, t[i].fullname);
            emit_docs(&c->out, &t[i]);
        }
        return;
    }
    size_t h = resp_add_deferred(&c->out);
    long found = 0;
    for (int i = 2; i < argc; i++) {
        command *cmd = lookup_any(argv[i], lens[i]);
        if (!cmd) continue;
        resp_add_bulk_cstr(&c->out, cmd->fullname);
        emit_docs(&c->out, cmd);
        found++;
    }
    resp_set_deferred(&c->out, h, RESP_AGG_MAP, found);
}

void cmd_command_list(client *c, int argc, char **argv, size_t *lens)
{
    size_t n;
    command *t = command_table(&n);
    const char *pattern = NULL, *module = NULL, *cat = NULL;
    size_t plen = 0, catlen = 0;
    if (argc == 5 && util_eqcase(argv[2], lens[2], "filterby")) {
        if (util_eqcase(argv[3], lens[3], "pattern")) {
            pattern = argv[4];
            plen = lens[4];
        } else if (util_eqcase(argv[3], lens[3], "module")) {
            module = argv[4]; /* vectis has no modules: nothing matches */
        } else if (util_eqcase(argv[3], lens[3], "aclcat")) {
            cat = argv[4];
            catlen = lens[4];
        } else {
            reply_syntax_error(c);
            return;
        }
    } else if (argc != 2) {
        reply_syntax_error(c);
        return;
    }
    size_t h = resp_add_deferred(&c->out);
    long count = 0;
    for (size_t i = 0; i < n && !module; i++) {
        for (command *cmd = &t[i]; cmd;) {
            int ok = 1;
            if (pattern && !util_glob_match(pattern, plen, cmd->fullname, strlen(cmd->fullname), 1))
                ok = 0;
            if (cat) {
                int has = 0;
                if (util_eqcase(cat, catlen, "admin") || util_eqcase(cat, catlen, "dangerous"))
                    has = (cmd->flags & CMD_ADMIN) != 0;
                else if (util_eqcase(cat, catlen, "fast"))
                    has = (cmd->flags & CMD_FAST) != 0;
                else if (util_eqcase(cat, catlen, "slow"))
                    has = !(cmd->flags & CMD_FAST);
                else if (util_eqcase(cat, catlen, "write"))
                    has = (cmd->flags & CMD_WRITE) != 0;
                else if (util_eqcase(cat, catlen, "read"))
                    has = (cmd->flags & CMD_READONLY) != 0;
                else if (util_eqcase(cat, catlen, "connection"))
                    has = cmd->group && !strcmp(cmd->group, "connection");
                ok = ok && has;
            }
            if (ok) {
                resp_add_bulk_cstr(&c->out, cmd->fullname);
                count++;
            }
            /* walk: the command, then its subcommands */
            if (cmd == &t[i])
                cmd = (t[i].subcommands && t[i].subcommands->name) ? t[i].subcommands : NULL;
            else
                cmd = (cmd + 1)->name ? cmd + 1 : NULL;
        }
    }
    resp_set_deferred(&c->out, h, RESP_AGG_ARRAY, count);
}

void cmd_command_help(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    static const char *const lines[] = {
        "(no subcommand)",
        "    The same as COMMAND INFO with no names: one entry per command.",
        "COUNT",
        "    How many top-level commands vectis has.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Command names, subcommands as \"parent|sub\"; FILTERBY keeps the names that",
        "    match a glob pattern or an ACL category (no module matches: vectis has none).",
        "INFO [<command-name> ...]",
        "    Name, arity, flags, key positions and ACL categories of each named command,",
        "    or of every command when none is named.",
        "DOCS [<command-name> ...]",
        "    Summary, version, group, complexity and argument tree of each named command,",
        "    or of every command when none is named; redis-cli builds its hints from it.",
        NULL,
    };
    reply_help(c, "COMMAND", lines);
}
