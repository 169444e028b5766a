/*
 * networking.h -- listeners, connections, reading requests and writing
 * replies (networking.c). Main thread only.
 */
#ifndef VECTIS_NETWORKING_H
#define VECTIS_NETWORKING_H

#include "client.h"

/* Opens every configured listener; 0 or -1 (logged). */
int net_listen(void);
void net_close_listeners(void);
/* Flushes pending replies and closes clients marked for closing; called
 * once per event-loop turn, after all callbacks ran. */
void net_before_sleep(void);
/* Once a second: idle timeouts, output-buffer soft limits. */
void net_cron(void);
/* Applies changed proto-max-bulk-len / client-query-buffer-limit. */
void net_limits_changed(void);
/* Frees a client now (not while it executes a command). */
void client_free(client *c);
/* Frees every client (shutdown). */
void net_free_all_clients(void);
/* Feeds the query buffer of c to the dispatcher (after unblocking). */
void client_process_input(client *c);
/* Marks c as having output to flush at the end of this turn. */
void client_add_pending_write(client *c);
/* Bytes of replies not yet written. */
size_t client_output_pending(const client *c);
/* Turns c into a MONITOR client. */
void client_set_monitor(client *c);
void client_unset_monitor(client *c);

#endif
